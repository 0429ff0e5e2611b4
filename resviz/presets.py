"""Presets that reproduce the papers in miniature: plain data, one per paper figure.

A preset is a page plus the URL settings that page reads, so opening it is the same as
opening a shared link. `jobs` name what
`python -m resviz precompute` computes for it, with exactly the page's settings, so the
disk store holds what the page will ask for.
Labels are English, marked with N_() for the extractor and translated when shown.
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(text: str) -> str:
    """Mark a string for the catalogue without translating it now (gettext idiom)."""
    return text


@dataclass(frozen=True)
class Preset:
    key: str
    name: str  # English label, e.g. "He 2015 Fig. 1: degradation"
    figure: str  # the paper's figure or table
    page: str  # e.g. "views/degradation.py"
    params: tuple[tuple[str, str], ...]  # URL settings, in the page's own keys
    note: str  # what to look at, one or two sentences
    jobs: tuple[str, ...] = ()  # what `python -m resviz precompute` computes for it (see precompute.py)

    @property
    def query(self) -> dict[str, str]:
        return dict(self.params)


SGD_LR = "0.1"  # the paper's learning rate; measured graded degradation with it (docs/lessons-degradation.md)

PRESETS: tuple[Preset, ...] = (
    Preset("he2015", N_("He 2015 Fig. 1: degradation"), "He et al. 2015, Fig. 1",
           "views/degradation.py", (("dg_maxdepth", "32"), ("dg_norm", "1"), ("dg_data", "spirals")),
           N_("Deeper plain nets have a higher training error than shallow ones; residual "
              "nets of the same depth do not. Not overfitting: the training error itself rises. "
              "The identity test beside it: deep plain stacks cannot even learn y = x."),
           ("degradation", "identity")),
    Preset("he2015sgd", N_("He 2015 Fig. 4: SGD with momentum, as in the paper"), "He et al. 2015, Fig. 4",
           "views/degradation.py",
           (("dg_maxdepth", "32"), ("dg_opt", "sgd"), ("dg_lr", SGD_LR), ("dg_steps", "300")),
           N_("The same sweep trained with the paper's own optimiser settings: SGD with momentum "
              "0.9 at learning rate 0.1, batch normalisation and He init. Training-error curves "
              "of plain and residual nets side by side, as in the paper's Fig. 4."),
           ("degradation",)),
    Preset("he2016", N_("He 2016 Table 2: unit orderings"), "He et al. 2016, Table 2",
           "views/playground.py",
           (("a_ord", "full_preact"), ("b_fam", "residual"), ("b_ord", "bn_after_add")),
           N_("Full pre-activation (A) against batch normalisation after the addition (B), "
              "which puts BN on the shortcut path. The home page ranks all five orderings "
              "beside the paper's CIFAR-10 errors."),
           ("orderings",)),
    Preset("veit2016", N_("Veit 2016 Fig. 3 and 6: lesion and paths"), "Veit et al. 2016, Fig. 3, 6",
           "views/lesion.py", (("le_src", "train"), ("le_depth", "12"), ("le_sd", "1")),
           N_("Delete one block of a ResNet and the accuracy barely moves; delete one layer of a "
              "plain net and it falls to chance. Most gradient comes from short paths."),
           ("lesion", "paths", "readout")),
    Preset("srivastava2015", N_("Srivastava 2015 Fig. 2: gates"), "Srivastava et al. 2015, Fig. 2",
           "views/highway.py", (("hw_depth", "30"), ("hw_gb", "-2.0"), ("hw_data", "spirals")),
           N_("Transform-gate biases, mean gate activity per layer and one example's sparse gate "
              "pattern of a trained highway net."),
           ("highway",)),
    Preset("li2018", N_("Li 2018: landscapes"), "Li et al. 2018, Fig. 1, 5",
           "views/landscape.py", (("ls_src", "pair"), ("ls_depth", "20"), ("ls_grid", "21")),
           N_("Filter-normalised loss surfaces: chaotic without skip connections, smooth and "
              "convex-looking with them."),
           ("landscape",)),
)


def by_key(key: str) -> Preset:
    for p in PRESETS:
        if p.key == key:
            return p
    raise KeyError(key)
