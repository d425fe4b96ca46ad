"""The corruption registry: name → factory(**params) → apply(uint8 H×W×C image, rng) → uint8 image."""

from __future__ import annotations

from typing import Callable

from datacentric.core.errors import DatacentricError
from datacentric.corruptions import blur, digital, geometric, imgaug_ops, library, noise, weather
from datacentric.corruptions.ops import Apply, on_rgb

REGISTRY: dict[str, Callable[..., Apply]] = {
    # noise
    "gaussian_noise": imgaug_ops.gaussian_noise,
    "shot_noise": noise.shot_noise,
    "impulse_noise": imgaug_ops.impulse_noise,
    "speckle_noise": noise.speckle_noise,
    "dropout": imgaug_ops.dropout,
    "coarse_dropout": imgaug_ops.coarse_dropout,
    # blur
    "gaussian_blur": imgaug_ops.gaussian_blur,
    "glass_blur": blur.glass_blur,
    "defocus_blur": blur.defocus_blur,
    "motion_blur": blur.motion_blur,
    "motion_blur_imgaug": imgaug_ops.motion_blur_imgaug,
    "zoom_blur": blur.zoom_blur,
    # weather
    "rain": imgaug_ops.rain,
    "snow": weather.snow,
    "snowflakes": imgaug_ops.snowflakes,
    "frost": weather.frost,
    "fog": weather.fog,
    "spatter": weather.spatter,
    # digital
    "brightness": digital.brightness,
    "contrast": digital.contrast,
    "saturate": digital.saturate,
    "multiply_saturation": imgaug_ops.multiply_saturation,
    "colour_quantisation": imgaug_ops.colour_quantisation,
    "jpeg": imgaug_ops.jpeg,
    "pixelate": digital.pixelate,
    "elastic": digital.elastic,
    "elastic_imgaug": imgaug_ops.elastic_imgaug,
    # geometric and occlusion (paper 000)
    "occlusion": imgaug_ops.occlusion,
    "colour_distortion": geometric.colour_distortion,
    "translation": geometric.translation,
    "rotation": imgaug_ops.rotation,
    # the imagecorruptions library's own code (a second, independent implementation)
    "imagecorruptions": library.corrupt,
}


def build(function: str, params: dict) -> Apply:
    """The apply function of a registered corruption with these params (values or [lo, hi] ranges)."""
    if function not in REGISTRY:
        raise DatacentricError(f"unknown corruption '{function}'; known: {', '.join(sorted(REGISTRY))}")
    try:
        return on_rgb(REGISTRY[function](**params))
    except TypeError as error:
        raise DatacentricError(f"bad parameters for corruption '{function}': {error}") from None
