"""Corruption parameters that follow the image size: the published tables at 32, 64 and 224 px, and scaling between.

Hendrycks & Dietterich published the same 19 corruptions three times, each tuned to its dataset's image
side: CIFAR-10-C at 32 px (`suites.CIFAR10C`), Tiny-ImageNet-C at 64 px and ImageNet-C at 224 px (their
public make_tinyimagenet_c.py and make_imagenet_c.py; the `imagecorruptions` library copies the 224-px
values). The `cifar10c` family resolves to the table nearest the image side and scales the lengths in
pixels (blur radii, displacements) from there; any other suite scales its pixel lengths from its own
`resolution`. Entry names stay the same at every size, so reports and seen/unseen sets line up.

Example:
    >>> at_size(get_suite("cifar10c"), 64).resolution
    64
"""

from __future__ import annotations

import dataclasses
import math

from datacentric.corruptions.suites import CIFAR10C, PAPER14, SUITES, Entry, Suite, combined, light, severities

# Parameters that are lengths in pixels, per corruption function; the value is the default where the
# function has one (added, scaled, when a suite leaves it out).
PIXEL_PARAMS: dict[str, dict[str, float | None]] = {
    "gaussian_blur": {"sigma": None},
    "glass_blur": {"sigma": None, "delta": None},
    "defocus_blur": {"radius": None},
    "motion_blur": {"radius": None, "sigma": None},
    "motion_blur_imgaug": {"kernel": None},
    "snow": {"blur_radius": None, "blur_sigma": None},
    "spatter": {"blur": None},
    "elastic": {"alpha": None, "sigma": None, "affine": None},
    "elastic_imgaug": {"alpha": None, "sigma": None},
    "translation": {"pixels": None},
    "frost": {"texture_scale": 0.2},  # the frost photograph's scale: CIFAR-10-C's fifth at 32 px
}
INTEGER_PARAMS = {("glass_blur", "delta"), ("motion_blur", "radius"), ("motion_blur_imgaug", "kernel"),
                  ("snow", "blur_radius")}

# Tiny-ImageNet-C (64 px), in our functions' parameters.
TINYIMAGENETC = Suite("cifar10c", "evaluation", (
    Entry("gaussian_noise", "gaussian_noise", severities=severities(sigma=[0.04, 0.08, 0.12, 0.15, 0.18])),
    Entry("shot_noise", "shot_noise", severities=severities(photons=[250, 100, 50, 30, 15])),
    Entry("impulse_noise", "impulse_noise", severities=severities(amount=[0.01, 0.02, 0.05, 0.08, 0.14])),
    Entry("defocus_blur", "defocus_blur",
          severities=severities(radius=[0.5, 1, 1.5, 2.5, 3], alias_sigma=[0.6, 0.1, 0.1, 0.01, 0.1])),
    Entry("glass_blur", "glass_blur", severities=severities(sigma=[0.1, 0.5, 0.6, 0.7, 0.9], delta=[1, 1, 1, 2, 2],
                                                           iterations=[1, 1, 2, 1, 2])),
    Entry("motion_blur", "motion_blur", severities=severities(radius=[10, 10, 10, 10, 12], sigma=[1, 1.5, 2, 2.5, 3])),
    Entry("zoom_blur", "zoom_blur", severities=severities(max_zoom=[1.05, 1.10, 1.15, 1.20, 1.25])),
    Entry("snow", "snow", severities=severities(
        mean=[0.1, 0.1, 0.15, 0.25, 0.3], spread=[0.2, 0.2, 0.3, 0.3, 0.3], zoom=[1, 1, 1.75, 2.25, 1.25],
        threshold=[0.6, 0.5, 0.55, 0.6, 0.65], blur_radius=[8, 10, 10, 12, 14], blur_sigma=[3, 4, 4, 6, 12],
        blend=[0.8, 0.8, 0.7, 0.65, 0.6])),
    Entry("frost", "frost", severities=severities(image_weight=[1, 0.9, 0.8, 0.75, 0.7],
                                                  frost_weight=[0.3, 0.4, 0.45, 0.5, 0.55], texture_scale=[0.3] * 5)),
    Entry("fog", "fog", severities=severities(amount=[0.4, 0.7, 1, 1.5, 2], decay=[3, 3, 2.5, 2, 1.75])),
    Entry("brightness", "brightness", severities=severities(value_offset=[0.1, 0.2, 0.3, 0.4, 0.5])),
    Entry("contrast", "contrast", severities=severities(factor=[0.4, 0.3, 0.2, 0.1, 0.05])),
    Entry("elastic", "elastic", severities=severities(alpha=[0, 3.2, 6.4, 6.4, 10.24], sigma=[0, 19.2, 5.12, 1.92, 1.92],
                                                      affine=[5.12, 3.84, 3.84, 1.92, 1.28])),
    Entry("pixelate", "pixelate", severities=severities(scale=[0.9, 0.8, 0.7, 0.6, 0.5])),
    Entry("jpeg", "jpeg", severities=severities(quality=[65, 58, 50, 40, 25])),
    Entry("speckle_noise", "speckle_noise", severities=severities(sigma=[0.15, 0.2, 0.25, 0.3, 0.35])),
    Entry("gaussian_blur", "gaussian_blur", severities=severities(sigma=[0.5, 0.75, 1, 1.25, 1.5])),
    Entry("spatter", "spatter", severities=severities(
        mean=[0.62, 0.65, 0.65, 0.65, 0.65], spread=[0.1, 0.1, 0.3, 0.1, 0.1], blur=[0.7, 0.8, 1, 0.7, 0.5],
        threshold=[0.7, 0.7, 0.69, 0.68, 0.67], intensity=[0.6, 0.6, 0.6, 0.6, 0.6], mud=[0, 0, 0, 1, 1])),
    Entry("saturate", "saturate", severities=severities(scale=[0.3, 0.1, 2, 5, 30], offset=[0, 0, 0, 0.1, 0.2])),
), resolution=64)

# ImageNet-C (224 px), in our functions' parameters. Its elastic transform used 244 where 224 was meant
# (their comment); the values are kept as published.
IMAGENETC = Suite("cifar10c", "evaluation", (
    Entry("gaussian_noise", "gaussian_noise", severities=severities(sigma=[0.08, 0.12, 0.18, 0.26, 0.38])),
    Entry("shot_noise", "shot_noise", severities=severities(photons=[60, 25, 12, 5, 3])),
    Entry("impulse_noise", "impulse_noise", severities=severities(amount=[0.03, 0.06, 0.09, 0.17, 0.27])),
    Entry("defocus_blur", "defocus_blur",
          severities=severities(radius=[3, 4, 6, 8, 10], alias_sigma=[0.1, 0.5, 0.5, 0.5, 0.5])),
    Entry("glass_blur", "glass_blur", severities=severities(sigma=[0.7, 0.9, 1, 1.1, 1.5], delta=[1, 2, 2, 3, 4],
                                                           iterations=[2, 1, 3, 2, 2])),
    Entry("motion_blur", "motion_blur", severities=severities(radius=[10, 15, 15, 15, 20], sigma=[3, 5, 8, 12, 15])),
    Entry("zoom_blur", "zoom_blur", severities=severities(max_zoom=[1.10, 1.15, 1.20, 1.25, 1.30],
                                                         step=[0.01, 0.01, 0.02, 0.02, 0.03])),
    Entry("snow", "snow", severities=severities(
        mean=[0.1, 0.2, 0.55, 0.55, 0.55], spread=[0.3, 0.3, 0.3, 0.3, 0.3], zoom=[3, 2, 4, 4.5, 2.5],
        threshold=[0.5, 0.5, 0.9, 0.85, 0.85], blur_radius=[10, 12, 12, 12, 12], blur_sigma=[4, 4, 8, 8, 12],
        blend=[0.8, 0.7, 0.7, 0.65, 0.55])),
    Entry("frost", "frost", severities=severities(image_weight=[1, 0.8, 0.7, 0.65, 0.6],
                                                  frost_weight=[0.4, 0.6, 0.7, 0.7, 0.75], texture_scale=[1.0] * 5)),
    Entry("fog", "fog", severities=severities(amount=[1.5, 2, 2.5, 2.5, 3], decay=[2, 2, 1.7, 1.5, 1.4])),
    Entry("brightness", "brightness", severities=severities(value_offset=[0.1, 0.2, 0.3, 0.4, 0.5])),
    Entry("contrast", "contrast", severities=severities(factor=[0.4, 0.3, 0.2, 0.1, 0.05])),
    Entry("elastic", "elastic", severities=severities(alpha=[488, 488, 12.2, 17.08, 29.28],
                                                      sigma=[170.8, 19.52, 2.44, 2.44, 2.44],
                                                      affine=[24.4, 48.8, 4.88, 4.88, 4.88])),
    Entry("pixelate", "pixelate", severities=severities(scale=[0.6, 0.5, 0.4, 0.3, 0.25])),
    Entry("jpeg", "jpeg", severities=severities(quality=[25, 18, 15, 10, 7])),
    Entry("speckle_noise", "speckle_noise", severities=severities(sigma=[0.15, 0.2, 0.35, 0.45, 0.6])),
    Entry("gaussian_blur", "gaussian_blur", severities=severities(sigma=[1, 2, 3, 4, 6])),
    Entry("spatter", "spatter", severities=severities(
        mean=[0.65, 0.65, 0.65, 0.65, 0.67], spread=[0.3, 0.3, 0.3, 0.3, 0.4], blur=[4, 3, 2, 1, 1],
        threshold=[0.69, 0.68, 0.68, 0.65, 0.65], intensity=[0.6, 0.6, 0.5, 1.5, 1.5], mud=[0, 0, 0, 1, 1])),
    Entry("saturate", "saturate", severities=severities(scale=[0.3, 0.1, 2, 5, 20], offset=[0, 0, 0, 0.1, 0.2])),
), resolution=224)

PUBLISHED = (CIFAR10C, TINYIMAGENETC, IMAGENETC)  # the common-corruption tables, by resolution


def _scale_params(function: str, params: dict, factor: float) -> dict:
    """A parameter set with its pixel lengths multiplied by `factor` (ranges end by end)."""
    lengths = PIXEL_PARAMS.get(function, {})
    out = dict(params)
    for name, default in lengths.items():
        if name not in out and default is None:
            continue
        value = out.get(name, default)
        scale = (lambda v: max(1, round(v * factor))) if (function, name) in INTEGER_PARAMS else \
            (lambda v: round(v * factor, 6))
        out[name] = [scale(v) for v in value] if isinstance(value, (list, tuple)) else scale(value)
    return out


def scaled(suite: Suite, side: int) -> Suite:
    """The suite with every pixel length scaled from its own resolution to `side`; itself at its resolution."""
    if side == suite.resolution:
        return suite
    factor = side / suite.resolution
    entries = tuple(dataclasses.replace(
        e, params=_scale_params(e.function, e.params, factor),
        severities=tuple(_scale_params(e.function, level, factor) for level in e.severities)) for e in suite.entries)
    return dataclasses.replace(suite, entries=entries, resolution=side)


def common_corruptions(side: int) -> Suite:
    """The published common-corruption table nearest `side` (on a log scale), scaled to it."""
    nearest = min(PUBLISHED, key=lambda suite: abs(math.log(side / suite.resolution)))
    return scaled(nearest, side)


FAMILIES = {  # suites whose parameters come from the published tables at every size
    "cifar10c": common_corruptions,
    "cifar10c-light": lambda side: light(common_corruptions(side)),
    "paper14+cifar10c-light": lambda side: combined(scaled(PAPER14, side), light(common_corruptions(side))),
}


def at_size(suite: Suite, side: int) -> Suite:
    """The suite with parameters for `side`×`side` images: a published table for the `cifar10c` family (and the
    training suites made from it), scaled pixel lengths otherwise. A built-in suite at its own resolution is
    returned unchanged, so stores made at 32 px keep their hashes."""
    if suite.name in FAMILIES and SUITES.get(suite.name) == suite:
        return suite if side == suite.resolution else FAMILIES[suite.name](side)
    return scaled(suite, side)
