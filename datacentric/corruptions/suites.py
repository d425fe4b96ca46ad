"""Corruption suites as data: the `paper14` training suite and the `cifar10c` and `mtlat4` evaluation suites.

A training suite gives each corruption parameter ranges ([lo, hi], drawn per sample); an
evaluation suite gives one parameter set per severity 1–5. Pipeline configs may define their own
suites in the same shape (`suite_from_dict`). docs/CORRUPTIONS.md explains every choice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import read_toml
from datacentric.corruptions import library
from datacentric.corruptions.registry import REGISTRY


@dataclass(frozen=True)
class Entry:
    """One corruption of a suite: its name, the registry function, and its params or per-severity params."""

    name: str
    function: str
    params: dict = field(default_factory=dict)  # training suites
    severities: tuple[dict, ...] = ()  # evaluation suites: params of severity 1, 2, ...
    same_as: str = ""  # the registry function of the same corruption type, where `function` is another's code

    @property
    def corruption_type(self) -> str:
        """What seen/unseen compares: a library's gaussian noise is the same type as ours."""
        return self.same_as or self.function


@dataclass(frozen=True)
class Suite:
    name: str
    kind: str  # "training" or "evaluation"
    entries: tuple[Entry, ...]
    resolution: int = 32  # the image side (pixels) its parameters are set for; `resolution.at_size` adapts them

    def to_dict(self) -> dict:
        table = {
            "name": self.name,
            "kind": self.kind,
            "entries": [
                {"name": e.name, "function": e.function, "params": e.params, "severities": list(e.severities),
                 "same_as": e.same_as}
                for e in self.entries
            ],
        }
        if self.resolution != 32:  # absent at 32 px, so the hashes of stores made before it existed hold
            table["resolution"] = self.resolution
        return table


def suite_from_dict(data: dict) -> Suite:
    """A suite from config data; every function must be registered and every entry well formed."""
    try:
        kind = data["kind"]
        entries = tuple(
            Entry(e["name"], e.get("function", e["name"]), dict(e.get("params", {})),
                  tuple(dict(s) for s in e.get("severities", ())), str(e.get("same_as", "")))
            for e in data["entries"]
        )
        suite = Suite(data["name"], kind, entries, int(data.get("resolution", 32)))
    except (KeyError, TypeError, ValueError) as error:
        raise DatacentricError(f"malformed corruption suite: missing or bad {error}") from None
    if kind not in ("training", "evaluation"):
        raise DatacentricError(f"suite '{suite.name}': kind must be 'training' or 'evaluation', got '{kind}'")
    if not entries:
        raise DatacentricError(f"suite '{suite.name}' has no corruptions")
    for entry in entries:
        if entry.function not in REGISTRY:
            raise DatacentricError(f"suite '{suite.name}': unknown corruption function '{entry.function}'")
        if kind == "evaluation" and not entry.severities:
            raise DatacentricError(f"suite '{suite.name}': '{entry.name}' needs per-severity params")
    return suite


def severities(**columns) -> tuple[dict, ...]:
    """Per-severity param dicts from one list per param: severities(a=[1, 2], b=[3, 4]) → ({a:1,b:3}, {a:2,b:4})."""
    lengths = {len(values) for values in columns.values()}
    assert len(lengths) == 1, columns
    return tuple(dict(zip(columns, values)) for values in zip(*columns.values()))


# The published code's 14 corruptions, sized for 32×32 (docs/CORRUPTIONS.md gives the reasons and the
# measured mean absolute pixel change of each). Types are drawn uniformly.
PAPER14 = Suite("paper14", "training", (
    Entry("rain", "rain", {"drop_size": [0.01, 0.02], "speed": [0.04, 0.2], "layers": 1}),
    Entry("snow", "snow", {"mean": 0.1, "spread": [0.2, 0.3], "zoom": 1.0, "threshold": [0.65, 0.75],
                           "blur_radius": [4, 6], "blur_sigma": [1.5, 3.0], "blend": [0.9, 0.95]}),
    Entry("frost", "frost", {"image_weight": 1.0, "frost_weight": [0.08, 0.16]}),
    Entry("saturate", "saturate", {"scale": [0.2, 2.5], "offset": 0.0}),
    Entry("dropout", "dropout", {"p": [0.02, 0.06]}),
    Entry("coarse_dropout", "coarse_dropout", {"p": [0.02, 0.06], "size_percent": [0.25, 0.5]}),
    Entry("snowflakes", "snowflakes", {"flake_size": [0.2, 0.5], "speed": [0.005, 0.02], "density": [0.01, 0.05]}),
    Entry("gaussian_noise", "gaussian_noise", {"sigma": [0.02, 0.06]}),
    Entry("elastic", "elastic", {"alpha": [1.0, 2.0], "sigma": [1.5, 3.0], "affine": [0.5, 1.5]}),
    Entry("colour_quantisation", "colour_quantisation", {"n_colors": [8, 24]}),
    Entry("gaussian_blur", "gaussian_blur", {"sigma": [0.4, 0.8]}),
    Entry("motion_blur", "motion_blur", {"radius": [2, 3], "sigma": [0.8, 1.5]}),
    Entry("jpeg", "jpeg", {"quality": [25, 60]}),
    Entry("pixelate", "pixelate", {"scale": [0.6, 0.85]}),
))

# Hendrycks & Dietterich's CIFAR-10-C parameters (ICLR 2019, their public make_cifar_c.py), plus the four extra corruptions.
CIFAR10C = Suite("cifar10c", "evaluation", (
    Entry("gaussian_noise", "gaussian_noise", severities=severities(sigma=[0.04, 0.06, 0.08, 0.09, 0.10])),
    Entry("shot_noise", "shot_noise", severities=severities(photons=[500, 250, 100, 75, 50])),
    Entry("impulse_noise", "impulse_noise", severities=severities(amount=[0.01, 0.02, 0.03, 0.05, 0.07])),
    Entry("defocus_blur", "defocus_blur",
          severities=severities(radius=[0.3, 0.4, 0.5, 1, 1.5], alias_sigma=[0.4, 0.5, 0.6, 0.2, 0.1])),
    Entry("glass_blur", "glass_blur", severities=severities(sigma=[0.05, 0.25, 0.4, 0.25, 0.4], delta=[1] * 5,
                                                             iterations=[1, 1, 1, 2, 2])),
    Entry("motion_blur", "motion_blur",
          severities=severities(radius=[6, 6, 6, 8, 9], sigma=[1, 1.5, 2, 2, 2.5])),
    Entry("zoom_blur", "zoom_blur", severities=severities(max_zoom=[1.05, 1.10, 1.15, 1.20, 1.25])),
    Entry("snow", "snow", severities=severities(
        mean=[0.1, 0.1, 0.15, 0.25, 0.3], spread=[0.2, 0.2, 0.3, 0.3, 0.3], zoom=[1, 1, 1.75, 2.25, 1.25],
        threshold=[0.6, 0.5, 0.55, 0.6, 0.65], blur_radius=[8, 10, 10, 12, 14], blur_sigma=[3, 4, 4, 6, 12],
        blend=[0.95, 0.9, 0.9, 0.85, 0.8])),
    Entry("frost", "frost", severities=severities(image_weight=[1, 1, 0.9, 0.85, 0.75],
                                                   frost_weight=[0.2, 0.3, 0.4, 0.4, 0.45])),
    Entry("fog", "fog", severities=severities(amount=[0.2, 0.5, 0.75, 1, 1.5], decay=[3, 3, 2.5, 2, 1.75])),
    Entry("brightness", "brightness", severities=severities(value_offset=[0.05, 0.1, 0.15, 0.2, 0.3])),
    Entry("contrast", "contrast", severities=severities(factor=[0.75, 0.5, 0.4, 0.3, 0.15])),
    Entry("elastic", "elastic", severities=severities(alpha=[0, 1.6, 2.56, 3.2, 3.2], sigma=[0, 6.4, 1.92, 1.28, 0.96],
                                                       affine=[2.56, 2.24, 1.92, 1.6, 0.96])),
    Entry("pixelate", "pixelate", severities=severities(scale=[0.95, 0.9, 0.85, 0.75, 0.65])),
    Entry("jpeg", "jpeg", severities=severities(quality=[80, 65, 58, 50, 40])),
    # the four extras of Hendrycks & Dietterich's held-out set
    Entry("speckle_noise", "speckle_noise", severities=severities(sigma=[0.06, 0.10, 0.12, 0.16, 0.20])),
    Entry("gaussian_blur", "gaussian_blur", severities=severities(sigma=[0.4, 0.6, 0.7, 0.8, 1.0])),
    Entry("spatter", "spatter", severities=severities(
        mean=[0.62, 0.65, 0.65, 0.65, 0.65], spread=[0.1, 0.1, 0.3, 0.1, 0.1], blur=[0.7, 0.8, 1, 0.7, 0.5],
        threshold=[0.7, 0.7, 0.69, 0.69, 0.68], intensity=[0.5, 0.5, 0.5, 0.6, 0.6], mud=[0, 0, 0, 1, 1])),
    Entry("saturate", "saturate", severities=severities(scale=[0.3, 0.1, 1.5, 2, 2.5], offset=[0, 0, 0, 0.1, 0.2])),
))

# Paper 000's four extra corruptions, ImageNet ranges scaled to 32 pixels (224 → 32) and spread over 5 severities.
MTLAT4 = Suite("mtlat4", "evaluation", (
    Entry("occlusion", "occlusion", severities=severities(side=[0.27, 0.345, 0.42, 0.495, 0.57])),
    Entry("colour_distortion", "colour_distortion", severities=severities(amount=[0.08, 0.135, 0.19, 0.245, 0.30])),
    Entry("translation", "translation", severities=severities(pixels=[2, 4, 5, 7, 9])),
    Entry("rotation", "rotation", severities=severities(degrees=[8, 16, 24, 32, 40])),
))

def light(evaluation: Suite, name: str = "cifar10c-light") -> Suite:
    """A training suite of an evaluation suite's corruptions at their three lightest severities (drawn uniformly),
    after the competition team that trained on all ImageNet-C corruptions at severity 2 (the competition's
    public write-ups)."""
    return Suite(name, "training", tuple(Entry(e.name, e.function, severities=e.severities[:3])
                                         for e in evaluation.entries), evaluation.resolution)


def combined(paper14: Suite, light_suite: Suite) -> Suite:
    """paper 004's 14 and the light corruptions together, each type drawn uniformly."""
    return Suite("paper14+cifar10c-light", "training", tuple(
        [Entry(f"p14_{e.name}", e.function, e.params) for e in paper14.entries]
        + [Entry(f"c10c_{e.name}", e.function, severities=e.severities) for e in light_suite.entries]),
        light_suite.resolution)


CIFAR10C_LIGHT = light(CIFAR10C)
PAPER14_CIFAR10C_LIGHT = combined(PAPER14, CIFAR10C_LIGHT)

# The imagecorruptions library's corruptions at its own (ImageNet-C) severities: the benchmark's second corruption set.
# (the library adapts its ImageNet-C parameters to any image size itself)
IMAGECORRUPTIONS = Suite("imagecorruptions", "evaluation", tuple(
    Entry(f"ic_{name}", "imagecorruptions", severities=tuple({"corruption": name, "severity": s} for s in range(1, 6)),
          same_as=library.SAME_AS.get(name, name)) for name in library.CORRUPTIONS), resolution=224)

DEFAULT_TRAINING_SUITE = PAPER14.name  # the corrupted part's suite when a config names none (paper 004's 14)

SUITES = {suite.name: suite for suite in (PAPER14, CIFAR10C, MTLAT4, CIFAR10C_LIGHT, PAPER14_CIFAR10C_LIGHT,
                                         IMAGECORRUPTIONS)}


def load_suite(name_or_path: str) -> Suite:
    """A built-in suite by name, or a suite table from a TOML file."""
    if name_or_path.endswith(".toml"):
        return suite_from_dict(read_toml(Path(name_or_path)))
    return get_suite(name_or_path)


def get_suite(name: str) -> Suite:
    if name not in SUITES:
        raise DatacentricError(f"unknown corruption suite '{name}'; known: {', '.join(SUITES)}")
    return SUITES[name]
