"""The article's story in ten steps, and the small live measurements that illustrate them.

Each step is plain data (title, text, where to go next, with which settings); each probe is
cheap (one forward/backward pass at initialisation, or one short lockstep run) so the home
page can show real numbers from real models. Texts are English, marked with N_() for the
catalogue and translated when shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from resviz import store
from resviz.data import load
from resviz.experiments import identity
from resviz.models import build, recording
from resviz.presets import N_
from resviz.probes.gradients import measuring_batch
from resviz.probes.readout import readout_accuracy
from resviz.spec import NetworkSpec, TrainSpec
from resviz.train import Trainer, block_grad_norms, evaluate


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    text: str
    page: str
    params: tuple[tuple[str, str], ...]
    button: str


STEPS: tuple[Step, ...] = (
    Step("degradation", N_("1. The degradation problem"),
         N_("More layers should never hurt: a deeper net could copy the shallow one and learn the "
            "identity in the extra layers. In practice a deep plain net trains *worse* than a shallow "
            "one: its **training** error is higher, so it is not overfitting. This is the "
            "degradation problem. Below: a 6-block and a 16-block plain net and the 16-block net "
            "with skip connections, trained on the same batches."),
         "views/degradation.py", (("dg_maxdepth", "32"), ("dg_norm", "1")),
         N_("Open the degradation experiment")),
    Step("identity", N_("2. A deep plain net cannot even learn the identity"),
         N_("The extra layers of a deeper net would only have to copy their input, y = x. Try it: "
            "stacks of plain blocks and of residual blocks, trained to output exactly what they "
            "are given (points of a square). The residual block only has to push R(x) to zero; "
            "the plain stack has to build the identity out of nonlinear layers, and the deeper it "
            "is, the worse it does. Below: the error against depth, over several seeds."),
         "views/degradation.py", (("dg_maxdepth", "32"),), N_("Open the identity test")),
    Step("skip", N_("3. The skip connection"),
         N_("Let the input jump over a block and be added to its output: y = F(x) + x. With "
            "F = 0 the block is exactly the identity, so extra blocks can do no harm. Because the "
            "shortcut carries x unchanged it is called an identity shortcut connection. Below: how "
            "similar each block's output still is to the net's input, at initialisation (no "
            "batch normalisation, PyTorch's default init)."),
         "views/architecture.py", (("ar_group", "shortcuts"),),
         N_("See the blocks and their shortcuts")),
    Step("residual", N_("4. Learning the residual R(x) = H(x) − x"),
         N_("With the shortcut, the layers of a residual block no longer learn the whole output "
            "H(x), only the residual R(x) = H(x) − x, and H(x) = R(x) + x. Pushing R towards zero "
            "is easy, so blocks that are not needed stay close to the identity. Below: the size "
            "of what each block adds, ‖R(x)‖ / ‖x‖, in the trained residual net."),
         "views/playground.py", (("a_depth", "16"), ("b_depth", "16")),
         N_("Train both nets yourself")),
    Step("gradients", N_("5. Gradient flow"),
         N_("In backpropagation a plain net multiplies the gradient by one Jacobian per layer, so "
            "it can shrink (or explode) on its way to the first layers. The shortcut adds an "
            "identity term to every Jacobian, and the gradient reaches the early layers. Below: "
            "per-block gradient norms at initialisation in the textbook setting, no batch "
            "normalisation and PyTorch's small default init. With He init and batch normalisation, "
            "as in the paper, the plain net's gradients do not vanish and it still trains worse: "
            "the vanishing-gradient story is not the whole story."),
         "views/gradient_flow.py", (("gf_norm", "0"), ("gf_scheme", "pytorch")),
         N_("Explore the gradient flow")),
    Step("orderings", N_("6. Five ways to order a residual unit"),
         N_("Where batch normalisation and ReLU sit relative to the addition matters: He et al. "
            "(2016) found that full pre-activation (BN and ReLU before the weights, nothing after "
            "the addition) works best, and that anything on the shortcut path (BN after the "
            "addition) hurts. Keep the shortcut a clean identity."),
         "views/playground.py",
         (("a_ord", "full_preact"), ("b_fam", "residual"), ("b_ord", "bn_after_add")),
         N_("Compare two orderings live")),
    Step("ensemble", N_("7. The ensemble view"),
         N_("Unroll n residual blocks: every block is either passed through or skipped, so there "
            "are 2^n paths from input to output, and their lengths follow a binomial "
            "distribution. Veit et al. (2016) showed that a ResNet behaves like an ensemble of "
            "these mostly short paths. Below: the number of paths of each length."),
         "views/ensemble.py", (), N_("Measure the paths")),
    Step("lesion", N_("8. Dropping blocks"),
         N_("If a ResNet is an ensemble, removing one member should barely matter, and it "
            "doesn't: delete one block of the trained residual net and its accuracy hardly "
            "moves (only the first block, which does the heavy lifting here, matters). A plain "
            "net has only one path: removing any layer breaks it. In effect the residual net "
            "chooses its own depth during training."),
         "views/lesion.py", (("le_src", "train"), ("le_depth", "12")), N_("Run the lesion study")),
    Step("readout", N_("9. Reading the net block by block"),
         N_("Apply the trained classifier head to the output of every block, not only the last. "
            "In the residual net every block adds to one running sum, so its answer can be read "
            "early and watched improving block by block: each block refines the last one's guess. "
            "In a plain net each layer re-encodes the signal, and its intermediate readouts mean "
            "nothing. Below: test accuracy of the head read after each block."),
         "views/ensemble.py", (), N_("Read the stream block by block")),
    Step("highway", N_("10. Highway networks and the LSTM"),
         N_("Highway networks came first: y = H(x)·T(x) + x·(1 − T(x)), with a learned gate T "
            "deciding how much passes through the layers and how much is carried. The LSTM "
            "carries its cell state across time the same way. A residual block is a highway "
            "block whose gates are always fully open. Below: the mean transform gate per block "
            "of a highway net at initialisation, for three gate biases."),
         "views/highway.py", (), N_("Open the highway gates")),
    Step("family", N_("11. The ResNet family"),
         N_("Stacking residual blocks in four stages gives ResNet-18, 34, 50, 101 and 152; from 50 "
            "on, each block is a 1×1–3×3–1×1 bottleneck. Below: parameter counts of the "
            "torchvision models, counted here from the real modules."),
         "views/architecture.py", (), N_("Open the ResNet family")),
)


def _batch(n: int = 256, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n points of both classes (the stored sets are class-sorted: never take the first n)."""
    return measuring_batch(load("spirals", max(n, 4) * 2, 0.1, seed), n)


PROBE_NET = NetworkSpec(family="residual", ordering="full_preact", depth=16, width=16, norm=False)
# The textbook vanishing picture needs PyTorch's small default init: with He init (the
# default) a 16-block plain net without BN keeps its gradients within a factor of a few.
GRADIENT_NET = PROBE_NET.replace(init="pytorch")


def init_grad_norms(net: NetworkSpec = GRADIENT_NET) -> dict[str, list[float]]:
    """Per-block parameter-gradient norm after one backward pass at initialisation.

    Without batch normalisation and with PyTorch's default init, so the picture is the
    textbook one: the plain net's gradient shrinks by orders of magnitude towards the
    input, the residual net's stays level. (The Gradient-flow page shows that with He init
    and BN, the paper's setting, it does not vanish.)
    """
    x, y = _batch()
    out = {}
    for fam in ("plain", "residual"):
        model = build(net.replace(family=fam))
        torch.nn.functional.cross_entropy(model(x), y).backward()
        out[fam] = block_grad_norms([list(b.parameters()) for b in model.blocks])
    return out


@torch.no_grad()
def signal_similarity(net: NetworkSpec = GRADIENT_NET) -> dict[str, list[float]]:
    """Cosine similarity of each block's output with the stem output (block 0), at init.

    Per example, then averaged: the residual net still 'sees' its input deep down,
    the plain net has scrambled it. With PyTorch's small init, as the text says: with He
    init and no normalisation each branch adds as much as it receives, the residual
    stream doubles its variance per block and the input's share falls (measured: the
    16-block similarity is about 0 with He init, 0.5 with PyTorch's default).
    """
    x, _y = _batch()
    out = {}
    for fam in ("plain", "residual"):
        model = build(net.replace(family=fam)).eval()
        hs = model.features(x)
        out[fam] = [float(torch.cosine_similarity(h, hs[0], dim=1).mean()) for h in hs]
    return out


def path_counts(n: int) -> list[int]:
    """Number of paths of length k through n residual blocks: C(n, k)."""
    return [math.comb(n, k) for k in range(n + 1)]


@torch.no_grad()
def highway_gates(depth: int = 10, width: int = 16, biases: tuple[float, ...] = (-1.0, -2.0, -3.0),
                  seed: int = 0) -> dict[float, list[float]]:
    """Mean transform-gate activity T(x) per block of a highway net at init, per gate bias."""
    x, _y = _batch()
    out = {}
    for b in biases:
        model = build(NetworkSpec(family="highway", depth=depth, width=width, gate_bias=b, seed=seed))
        model.eval()
        with recording(model):
            model(x)
        out[b] = [float(blk.last_gate.mean()) for blk in model.blocks]
    return out


RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
PAPER_GFLOPS = {"resnet18": 1.8, "resnet34": 3.6, "resnet50": 3.8, "resnet101": 7.6, "resnet152": 11.3}


def resnet_family() -> dict[str, dict[str, float]]:
    """Parameter counts of torchvision's ResNets, built on the meta device (no memory, no weights)."""
    def compute() -> dict[str, dict[str, float]]:
        import torchvision.models as tvm

        out = {}
        for name in RESNETS:
            with torch.device("meta"):
                model = getattr(tvm, name)(weights=None)
            out[name] = {"params": sum(p.numel() for p in model.parameters()),
                         "gflops_paper": PAPER_GFLOPS[name]}
        return out

    return store.get_or_compute("story-resnet-family", (), compute)


store.declare("story-resnet-family", store.DictOf(str, {"params": int, "gflops_paper": float}))


STORY_NET = NetworkSpec(family="residual", ordering="full_preact", depth=16, width=16)
SHALLOW_DEPTH = 6
STORY_TRAIN = TrainSpec(dataset="spirals", n_samples=600, steps=150)


def _lesion(model, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Test accuracy with each block deleted in turn (y_i = y_{i-1})."""
    accs = []
    for i in range(len(model.blocks)):
        model.set_active([j != i for j in range(len(model.blocks))])
        accs.append(evaluate(model, x, y)[1])
    model.set_active([True] * len(model.blocks))
    return accs


def story_specs(net: NetworkSpec, shallow: int = SHALLOW_DEPTH) -> dict[str, NetworkSpec]:
    """He et al.'s Fig. 1 cast: a shallow plain net, a deep plain net, the deep residual net."""
    return {"shallow": net.replace(family="plain", depth=shallow), "plain": net.replace(family="plain"),
            "residual": net}


def story_run(net: NetworkSpec = STORY_NET, tspec: TrainSpec = STORY_TRAIN) -> dict:
    """Shallow plain, deep plain and deep residual trained in lockstep.

    Returns plain data, stored on disk: loss curves (step 1), what each residual block adds
    (step 3), test accuracy with each single block deleted (step 7), and the head read after
    every block (step 8).
    """
    def compute() -> dict:
        data = load(tspec.dataset, tspec.n_samples, tspec.noise, tspec.data_seed)
        models = {k: build(s.replace(input_shape=data.input_shape, n_classes=data.n_classes))
                  for k, s in story_specs(net).items()}
        trainer = Trainer(models, data, tspec)
        for _ in trainer.run():
            pass
        xte, yte = data.x_test, data.y_test
        res = models["residual"].eval()
        with recording(res):
            res(xte)
        out = {"steps": [r.step for r in trainer.history("plain")], "depths": {},
               "branch_ratio": [b.stats["branch_ratio"] for b in res.blocks],
               "loss": {}, "final": {}, "lesion": {}, "readout": {}}
        for k, m in models.items():
            out["depths"][k] = len(m.blocks)
            out["loss"][k] = [r.loss for r in trainer.history(k)]
            out["final"][k] = trainer.final(k)
            out["lesion"][k] = _lesion(m, xte, yte)
            out["readout"][k] = readout_accuracy(m, xte, yte)  # head after block 0..n (step 8)
        return out

    return store.get_or_compute("story", (net, tspec, SHALLOW_DEPTH), compute)


store.declare("story", {
    "steps": [int], "depths": store.DictOf(str, int), "branch_ratio": [float],
    "loss": store.DictOf(str, [float]), "lesion": store.DictOf(str, [float]),
    "final": store.DictOf(str, {"train_loss": float, "train_acc": store.Maybe(float),
                                "test_acc": store.Maybe(float), "diverged_at": store.Maybe(int)})})


def story_is_stored(net: NetworkSpec = STORY_NET, tspec: TrainSpec = STORY_TRAIN) -> bool:
    return store.get("story", net, tspec, SHALLOW_DEPTH) is not None


IDENTITY = identity.IdentitySpec()


def identity_result(progress: identity.Progress | None = None) -> dict:
    """The identity test the Degradation page shows (stored per depth; about a minute)."""
    return identity.run(IDENTITY, progress=progress)


def identity_is_stored() -> bool:
    return identity.is_stored(IDENTITY)
