"""The ResNet family of He et al. 2015, measured from the modules: stages, parameters, multiply-adds.

ImageNet ResNets come from torchvision (weights=None: nothing is downloaded) and are built on
the meta device, so a forward pass only propagates shapes: counting the multiply-adds of
ResNet-152 at 224×224 then takes seconds instead of minutes. torch.utils.flop_counter counts
FLOPs of convolutions and matrix products as 2 × multiply-adds; the paper's 'FLOPs' are
multiply-adds, so we halve. torchvision's bottleneck puts the stride on the 3×3 convolution
('ResNet v1.5'), so its first 1×1 convolution of each downsampling block runs at the larger
resolution; `as_v1` moves the stride back to reproduce the paper's count.

The CIFAR family (depth 6n + 2, filters 16/32/64, parameter-free zero-padding shortcuts,
'option A') is built here, since torchvision has none.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from resviz import store

TORCHVISION: tuple[str, ...] = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
PAPER_GMACS = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3}
PAPER_BLOCKS = {"resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3], "resnet50": [3, 4, 6, 3],
                "resnet101": [3, 4, 23, 3], "resnet152": [3, 8, 36, 3]}
TORCHVISION_PARAMS = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
                      "resnet101": 44_549_160, "resnet152": 60_192_808}
# He et al. 2015, Table 6 (CIFAR-10): depth -> (test error %, parameters in millions).
CIFAR_PAPER = {20: (8.75, 0.27), 32: (7.51, 0.46), 44: (7.17, 0.66), 56: (6.97, 0.85),
               110: (6.43, 1.7), 1202: (7.93, 19.4)}
STAGE_NAMES = {"conv1": "conv1", "layer1": "conv2_x", "layer2": "conv3_x", "layer3": "conv4_x",
               "layer4": "conv5_x"}


def torchvision_model(name: str, device: str = "meta") -> nn.Module:
    """A torchvision ResNet with random (or, on meta, no) weights; never downloads anything."""
    if name not in TORCHVISION:
        raise ValueError(f"model must be one of {', '.join(TORCHVISION)}; got {name!r}")
    with torch.device(device):
        return torchvision.models.get_model(name, weights=None)


def as_v1(model: nn.Module) -> nn.Module:
    """Move each bottleneck's stride from the 3×3 to the first 1×1 conv (the paper's 'v1')."""
    for m in model.modules():
        if isinstance(m, torchvision.models.resnet.Bottleneck) and m.conv2.stride != (1, 1):
            m.conv1.stride, m.conv2.stride = m.conv2.stride, (1, 1)
    return model


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


STAGES = ("conv1", "layer1", "layer2", "layer3", "layer4")


def measure(model: nn.Module, shape: tuple[int, ...]) -> tuple[int, dict[str, int]]:
    """Multiply-adds of one forward pass of one input of `shape` (C, H, W), and the output
    size of each stage, from the same pass (a meta forward of ResNet-1202 is not free)."""
    dev = next(model.parameters()).device
    sizes: dict[str, int] = {}
    hooks = [model.get_submodule(n).register_forward_hook(
        lambda _m, _i, out, n=n: sizes.__setitem__(n, int(out.shape[-1])))
        for n in STAGES if hasattr(model, n)]
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(torch.zeros(1, *shape, device=dev))
    finally:
        for h in hooks:
            h.remove()
    return counter.get_total_flops() // 2, sizes


def count_macs(model: nn.Module, shape: tuple[int, ...]) -> int:
    return measure(model, shape)[0]


def _stage_row(name: str, stage: nn.Module, size: int) -> dict:
    blocks = list(stage)
    first = blocks[0]
    convs = [m for m in first.children() if isinstance(m, nn.Conv2d)]
    ds = getattr(first, "downsample", None)
    return {"stage": STAGE_NAMES.get(name, name), "module": name, "output": f"{size}×{size}",
            "block": type(first).__name__, "blocks": len(blocks),
            "widths": [c.out_channels for c in convs],
            "stride": max(c.stride[0] for c in convs),
            "shortcut": getattr(ds, "label", "1×1 conv + BN (projection)") if ds is not None
            else "identity"}


def stage_table(model: nn.Module, sizes: dict[str, int]) -> list[dict]:
    """Paper Table 1, read from the modules: output size, block type, count, widths per stage."""
    stem = model.conv1
    rows = [{"stage": "conv1", "module": "conv1", "output": f"{sizes['conv1']}×{sizes['conv1']}",
             "block": f"{stem.kernel_size[0]}×{stem.kernel_size[0]} conv", "blocks": 1,
             "widths": [stem.out_channels], "stride": stem.stride[0], "shortcut": ""}]
    return rows + [_stage_row(n, model.get_submodule(n), sizes[n]) for n in STAGES[1:] if hasattr(model, n)]


def _family_row(name: str) -> dict:
    model = torchvision_model(name)
    macs, sizes = measure(model, (3, 224, 224))
    stages = stage_table(model, sizes)
    macs_v1 = count_macs(as_v1(torchvision_model(name)), (3, 224, 224))
    return {"model": name, "depth": int(name.removeprefix("resnet")),
            "blocks": [r["blocks"] for r in stages[1:]], "block": stages[1]["block"],
            "params": count_params(model), "params_torchvision": TORCHVISION_PARAMS[name],
            "gmacs": macs / 1e9, "gmacs_v1": macs_v1 / 1e9, "gmacs_paper": PAPER_GMACS[name],
            "stages": stages}


STAGE_SHAPE = {"stage": str, "module": str, "output": str, "block": str, "blocks": int,
               "widths": [int], "stride": int, "shortcut": str}
store.declare("resnet_family", {"model": str, "depth": int, "blocks": [int], "block": str, "params": int,
                                "params_torchvision": int, "gmacs": float, "gmacs_v1": float,
                                "gmacs_paper": float, "stages": [STAGE_SHAPE]})


@functools.cache
def family_row(name: str) -> dict:
    """Everything the family table shows for one model; stored, since MAC counting is slow."""
    if name not in TORCHVISION:
        raise ValueError(f"model must be one of {', '.join(TORCHVISION)}; got {name!r}")
    return store.get_or_compute("resnet_family", (name, torch.__version__), lambda: _family_row(name))


def family_table() -> list[dict]:
    return [family_row(n) for n in TORCHVISION]


# --- CIFAR ResNets (He et al. 2015, section 4.2) ------------------------------------------------


class PadShortcut(nn.Module):
    """Option A: subsample by 2 and pad the new channels with zeros; no parameters."""

    label = "zero-pad channels, subsample /2 (no parameters)"

    def __init__(self, extra: int) -> None:
        super().__init__()
        self.extra = extra

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, ::2, ::2]
        return F.pad(x, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))


class CifarBlock(nn.Module):
    """Two 3×3 convs and a shortcut: y = ReLU(BN(W2 ReLU(BN(W1 x))) + s(x))."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.downsample = PadShortcut(cout - cin) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + s)


class CifarResNet(nn.Module):
    """Depth 6n + 2: a 3×3 conv, 3 stages of n blocks (16, 32, 64 filters at 32, 16, 8), fc."""

    def __init__(self, n: int, n_classes: int = 10) -> None:
        super().__init__()
        self.n = n
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU()
        widths = [16, 32, 64]
        for k, w in enumerate(widths):
            cin = widths[max(k - 1, 0)]
            stage = [CifarBlock(cin if j == 0 else w, w, 2 if (k and j == 0) else 1) for j in range(n)]
            setattr(self, f"layer{k + 1}", nn.Sequential(*stage))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(torch.flatten(self.avgpool(h), 1))


def cifar_model(n: int, device: str = "meta") -> CifarResNet:
    if not 1 <= n <= 200:
        raise ValueError(f"n must be between 1 and 200; got {n}")
    with torch.device(device):
        return CifarResNet(n)


def weight_layers(model: nn.Module) -> int:
    """Layers with weights counted the paper's way: convolutions and fully connected."""
    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())


def _cifar_row(n: int) -> dict:
    model = cifar_model(n)
    depth = 6 * n + 2
    err, paper_m = CIFAR_PAPER.get(depth, (None, None))
    macs, sizes = measure(model, (3, 32, 32))
    return {"n": n, "depth": depth, "weight_layers": weight_layers(model),
            "params": count_params(model), "params_paper_m": paper_m,
            "mmacs": macs / 1e6, "error_paper": err, "stages": stage_table(model, sizes)}


store.declare("cifar_family", {"n": int, "depth": int, "weight_layers": int, "params": int,
                               "params_paper_m": store.Maybe(float), "mmacs": float,
                               "error_paper": store.Maybe(float), "stages": [STAGE_SHAPE]})


@functools.lru_cache(maxsize=64)
def cifar_row(n: int) -> dict:
    """Depth, parameters, multiply-adds at 32×32 and (where the paper has it) the error."""
    return store.get_or_compute("cifar_family", (n, torch.__version__), lambda: _cifar_row(n))


def cifar_paper_rows(max_n: int = 18) -> list[dict]:
    """The paper's CIFAR rows up to 6·max_n + 2 layers (ResNet-1202 takes ~15 s to count)."""
    return [cifar_row((d - 2) // 6) for d in CIFAR_PAPER if (d - 2) // 6 <= max_n]
