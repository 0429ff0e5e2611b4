"""Walk a built module into a graph of its layers, in the order its forward really runs.

A diagram must be the block, not a drawing of it: torch.fx traces the forward of the built
module with its current switches (a deleted block, a fixed gate, a skip switched off), so the
BN/ReLU/add order comes from the very code that trains. Every leaf module becomes one node with
its output shape and parameter count; the arithmetic between them (+, ×, σ, 1 − ·) becomes small
operator nodes; a block's `x * skip` becomes its shortcut edge, marked 'removed' when the skip
is off. `stage_graph` does the same at block granularity for torchvision ResNets.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from resviz.blocks import Block

EdgeKind = str  # "data" | "shortcut" | "removed" | "projection" (1×1 conv) | "pad" (zero-padding)
_ADD = {operator.add, operator.iadd, torch.add, "add", "add_"}
_MUL = {operator.mul, operator.imul, torch.mul, "mul", "mul_"}
_SUB = {operator.sub, torch.sub, "sub"}
_DIV = {operator.truediv, torch.div, "div"}


@dataclass
class Node:
    """One layer (a leaf module) or one operator of the traced forward."""

    id: str
    kind: str  # "input" | "layer" | "op" | "output" | "block"
    label: str
    name: str  # module path ("blocks.3.n1") or op name
    type: str  # module class ("BatchNorm1d") or op ("add", "mul", "sigmoid", ...)
    shape: tuple[int, ...] | None = None
    params: int = 0
    block: int | None = None
    detail: str = ""


@dataclass
class Edge:
    src: str
    dst: str
    kind: EdgeKind = "data"


@dataclass
class BlockInfo:
    index: int
    name: str
    kind: str  # "residual · original", "highway", "Bottleneck", ...
    skip_on: bool = True
    active: bool = True
    params: int = 0
    stage: str = ""


@dataclass
class LayerGraph:
    """Nodes in execution order, data-flow edges, and the blocks the nodes belong to."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    blocks: list[BlockInfo] = field(default_factory=list)

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)

    def layers(self) -> list[Node]:
        return [n for n in self.nodes if n.kind == "layer"]

    def edges_of(self, kind: EdgeKind) -> list[Edge]:
        return [e for e in self.edges if e.kind == kind]

    def block_nodes(self, index: int) -> list[Node]:
        return [n for n in self.nodes if n.block == index]

    def table(self) -> list[dict]:
        """One row per layer and operator: the side table next to a diagram."""
        return [{"layer": n.name, "type": n.type, "block": None if n.block is None else n.block + 1,
                 "output shape": "×".join(map(str, n.shape[1:])) if n.shape else "",
                 "params": n.params, "detail": n.detail}
                for n in self.nodes if n.kind in ("layer", "op", "block")]


def layer_detail(m: nn.Module) -> str:
    """A short description of a layer's configuration, read from the module."""
    if isinstance(m, nn.Conv2d):
        k = "×".join(map(str, m.kernel_size))
        s = f", stride {m.stride[0]}" if m.stride[0] != 1 else ""
        return f"{k}, {m.in_channels}→{m.out_channels}{s}"
    if isinstance(m, nn.Linear):
        return f"{m.in_features}→{m.out_features}"
    if isinstance(m, nn.Dropout):
        return f"p={m.p}"
    if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return str(m.num_features)
    if isinstance(m, nn.MaxPool2d):
        return f"{m.kernel_size}×{m.kernel_size}, stride {m.stride}"
    return ""


def _own_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _blocks_of(model: nn.Module) -> list[tuple[str, Block]]:
    """Every residual/highway/gated/variant block, outermost only, in module order."""
    found: list[tuple[str, Block]] = []
    for name, m in model.named_modules():
        if isinstance(m, Block) and not any(name.startswith(f + ".") for f, _ in found if f):
            found.append((name, m))
    return found


def _block_label(b: Block) -> str:
    return b.label


def _number(a: object) -> bool:
    return isinstance(a, (int, float)) and not isinstance(a, bool)


def _op_name(n: fx.Node) -> str:
    t = n.target
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


def _op_label(n: fx.Node) -> str | None:
    """A short label for an operator node; None when the op does nothing (×1, +0)."""
    t, args = n.target, n.args
    nums = [a for a in args if _number(a)]
    if t in _ADD:
        return None if nums and all(float(v) == 0 for v in nums) else ("+" if not nums else f"+ {nums[0]:g}")
    if t in _MUL:
        return None if nums and all(float(v) == 1 for v in nums) else ("×" if not nums else f"× {nums[0]:g}")
    if t in _SUB:
        if _number(args[0]):
            return f"{args[0]:g} − ·"
        return None if nums and float(nums[0]) == 0 else "−"
    if t in _DIV:
        return None if nums and float(nums[0]) == 1 else "÷"
    name = _op_name(n)
    return {"sigmoid": "σ", "full_like": "const", "flatten": "flatten", "relu": "ReLU",
            "tanh": "tanh", "detach": None, "contiguous": None}.get(name, name)


def _skip_buffer(n: fx.Node, skip_names: dict[str, int]) -> tuple[fx.Node, int] | None:
    """If `n` is `x * block.skip`, return (x, block index)."""
    if n.op != "call_function" or n.target not in _MUL or len(n.args) != 2:
        return None
    a, b = n.args
    for mine, other in ((a, b), (b, a)):
        if isinstance(mine, fx.Node) and mine.op == "get_attr" and mine.target in skip_names:
            return other, skip_names[str(mine.target)]  # type: ignore[return-value]
    return None


class _Builder:
    """Turns an fx graph into a LayerGraph, bypassing identities and marking shortcuts."""

    def __init__(self, model: nn.Module, blocks: list[tuple[str, Block]]) -> None:
        self.model = model
        self.blocks = blocks
        self.skip_names = {(f"{name}.skip" if name else "skip"): i for i, (name, _) in enumerate(blocks)}
        self.graph = LayerGraph(blocks=[
            BlockInfo(i, name, _block_label(b), b.skip_on, b.active, _own_params(b))
            for i, (name, b) in enumerate(blocks)])
        self.handle: dict[fx.Node, tuple[str, EdgeKind]] = {}

    def block_index(self, path: str) -> int | None:
        best, idx = -1, None
        for i, (name, _) in enumerate(self.blocks):
            if (name == "" or path == name or path.startswith(name + ".")) and len(name) > best:
                best, idx = len(name), i
        return idx

    def _path(self, n: fx.Node) -> str:
        if n.op == "call_module":
            return str(n.target)
        stack = n.meta.get("nn_module_stack") or {}
        return next(reversed(stack.values()))[0] if stack else ""

    def _inputs(self, n: fx.Node) -> list[fx.Node]:
        return [a for a in n.all_input_nodes if a in self.handle]

    def _bypass(self, n: fx.Node, source: fx.Node, kind: EdgeKind | None = None) -> None:
        if source in self.handle:
            src, k = self.handle[source]
            self.handle[n] = (src, kind or k)

    def add(self, n: fx.Node) -> None:
        shape = tuple(n.meta["tensor_meta"].shape) if "tensor_meta" in n.meta else None
        path = self._path(n)
        block = None if n.op in ("placeholder", "output") else self.block_index(path)
        if n.op == "get_attr":
            return
        if n.op == "call_module":
            m = self.model.get_submodule(str(n.target))
            if isinstance(m, nn.Identity):
                return self._bypass(n, n.args[0])  # type: ignore[arg-type]
            node = Node(n.name, "layer", type(m).__name__, path, type(m).__name__, shape,
                        _own_params(m), block, layer_detail(m))
        elif n.op == "placeholder":
            node = Node(n.name, "input", "x", n.name, "input", shape)
        elif n.op == "output":
            node = Node(n.name, "output", "output", "output", "output", None)
        else:
            skip = _skip_buffer(n, self.skip_names)
            if skip is not None:
                on = self.graph.blocks[skip[1]].skip_on
                return self._bypass(n, skip[0], "shortcut" if on else "removed")
            label = _op_label(n)
            ins = self._inputs(n)
            if label is None and ins:
                return self._bypass(n, ins[0])
            node = Node(n.name, "op", label or _op_name(n), path or _op_name(n), _op_name(n), shape,
                        0, block)
        self.graph.nodes.append(node)
        for a in self._inputs(n):
            src, kind = self.handle[a]
            self.graph.edges.append(Edge(src, node.id, kind))
        self.handle[n] = (node.id, "data")


def example_input(model: nn.Module) -> torch.Tensor:
    """A two-sample input of the model's spec shape (ResVizNet), on the model's device."""
    spec = getattr(model, "spec", None)
    if spec is None:
        raise ValueError("pass an example input for a model without a .spec")
    dev = next(model.parameters()).device
    return torch.zeros(2, *spec.input_shape, device=dev)


def trace(model: nn.Module, example: torch.Tensor | None = None) -> LayerGraph:
    """The layer graph of `model` as its forward runs now (switches included), with shapes.

    Runs one forward in eval mode without gradients (BN statistics untouched), then restores
    the training flag, so it is safe on a model that is being trained between reruns.
    """
    x = example_input(model) if example is None else example
    gm = fx.symbolic_trace(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(x)
    finally:
        model.train(was_training)
    builder = _Builder(model, _blocks_of(model))
    for n in gm.graph.nodes:
        builder.add(n)
    return builder.graph


def block_graph(block: nn.Module, width: int, conv: bool = False, size: int = 8) -> LayerGraph:
    """The graph of one block on an input of `width` features (or channels at size×size)."""
    x = torch.zeros(2, width, size, size) if conv else torch.zeros(2, width)
    return trace(block, x)


# --- torchvision ResNets, walked block by block -------------------------------------------------


def _tv_block_label(b: nn.Module) -> str:
    convs = [m for m in b.children() if isinstance(m, nn.Conv2d)]
    stride = max(c.stride[0] for c in convs)
    s = f", /{stride}" if stride > 1 else ""
    return f"{type(b).__name__} {convs[0].in_channels}→{convs[-1].out_channels}{s}"


def _shape_hooks(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Output shape of every named module in one forward (works on the meta device)."""
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str):  # noqa: ANN202
        return lambda _m, _i, out: shapes.__setitem__(name, tuple(out.shape))

    hooks = [m.register_forward_hook(hook(name)) for name, m in model.named_modules() if name]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return shapes


def _projection(ds: nn.Module) -> tuple[str, str]:
    """Label and detail of a downsampling shortcut: a 1×1 conv projection or parameter-free."""
    conv = next((m for m in ds.modules() if isinstance(m, nn.Conv2d)), None)
    if conv is None:
        return "shortcut", getattr(ds, "label", type(ds).__name__)
    return "1×1 conv + BN", f"1×1, {conv.in_channels}→{conv.out_channels}, stride {conv.stride[0]}"


def stage_graph(model: nn.Module, size: int = 224,
                stages: Sequence[str] = ("layer1", "layer2", "layer3", "layer4")) -> LayerGraph:
    """A torchvision ResNet at block granularity: stem, every block with its shortcut, head.

    Each block is a branch node and an addition; its shortcut is the identity, or a 1×1
    projection (conv + BN, `downsample`) where the shape changes, read from the module.
    """
    dev = next(model.parameters()).device
    shapes = _shape_hooks(model, torch.zeros(1, 3, size, size, device=dev))
    g = LayerGraph()
    g.nodes.append(Node("x", "input", "x", "input", "input", (1, 3, size, size)))
    prev = "x"

    def chain(node: Node, kind: EdgeKind = "data") -> None:
        nonlocal prev
        g.nodes.append(node)
        g.edges.append(Edge(prev, node.id, kind))
        prev = node.id

    for name in [n for n in ("conv1", "bn1", "relu", "maxpool") if hasattr(model, n)]:
        m = model.get_submodule(name)
        chain(Node(name, "layer", type(m).__name__, name, type(m).__name__, shapes.get(name),
                   _own_params(m), None, layer_detail(m)))
    for stage in [s for s in stages if hasattr(model, s)]:
        for j, b in enumerate(model.get_submodule(stage)):
            i, bname = len(g.blocks), f"{stage}.{j}"
            ds = getattr(b, "downsample", None)
            g.blocks.append(BlockInfo(i, bname, _tv_block_label(b), True, True, _own_params(b), stage))
            start = prev
            branch = Node(f"b{i}", "block", _tv_block_label(b), bname, type(b).__name__, shapes.get(bname),
                          _own_params(b) - (_own_params(ds) if ds is not None else 0), i)
            chain(branch)
            add = Node(f"add{i}", "op", "+", f"{bname}.add", "add", shapes.get(bname), 0, i)
            chain(add)
            if ds is not None:
                label, detail = _projection(ds)
                kind = "projection" if _own_params(ds) else "pad"  # 1×1 conv, or option A's zero-pad
                proj = Node(f"proj{i}", "layer", label, f"{bname}.downsample", "projection",
                            shapes.get(f"{bname}.downsample"), _own_params(ds), i, detail)
                g.nodes.insert(len(g.nodes) - 2, proj)
                g.edges += [Edge(start, proj.id, kind), Edge(proj.id, add.id, kind)]
            else:
                g.edges.append(Edge(start, add.id, "shortcut"))
            relu = Node(f"relu{i}", "layer", "ReLU", f"{bname}.relu", "ReLU", shapes.get(bname), 0, i)
            chain(relu)
    for name in ("avgpool", "fc"):
        m = model.get_submodule(name)
        chain(Node(name, "layer", type(m).__name__, name, type(m).__name__, shapes.get(name),
                   _own_params(m), None, layer_detail(m)))
    chain(Node("output", "output", "output", "output", "output"))
    return g
