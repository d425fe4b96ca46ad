"""Corruptions taken from imgaug (the `imaug` fork): each factory builds the augmenter once, and every
sample reseeds it from its own generator, so a sample's result does not depend on its neighbours."""

from __future__ import annotations

import imgaug.augmenters as iaa
import numpy as np

from datacentric.corruptions.ops import Apply


def _range(value):
    """Suite ranges are [lo, hi] lists; imgaug reads a tuple as a uniform range (and a list as a choice)."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _scaled(value, factor: float):
    return tuple(v * factor for v in value) if isinstance(value, (list, tuple)) else value * factor


def _seeded(augmenter: iaa.Augmenter) -> Apply:
    def apply(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        augmenter.seed_(int(rng.integers(2**31 - 1)))
        return augmenter.augment_image(image)

    return apply


def gaussian_noise(*, sigma) -> Apply:
    """Additive N(0, sigma²) per channel; sigma in [0, 1] pixel units."""
    return _seeded(iaa.AdditiveGaussianNoise(scale=_scaled(sigma, 255), per_channel=True))


def impulse_noise(*, amount) -> Apply:
    """Salt-and-pepper: a fraction `amount` of channel values set to 0 or 255."""
    return _seeded(iaa.SaltAndPepper(p=_range(amount), per_channel=True))


def gaussian_blur(*, sigma) -> Apply:
    return _seeded(iaa.GaussianBlur(sigma=_range(sigma)))


def jpeg(*, quality) -> Apply:
    """JPEG re-encoding at `quality` (imgaug's compression is 100 − quality)."""
    compression = tuple(100 - q for q in reversed(quality)) if isinstance(quality, (list, tuple)) else 100 - quality
    return _seeded(iaa.JpegCompression(compression=compression))


def rain(*, drop_size, speed, layers=1) -> Apply:
    """`layers` rain layers (imgaug's default of 1–3 covers a 32-pixel image in streaks)."""
    return _seeded(iaa.Rain(nb_iterations=_range(layers), drop_size=_range(drop_size), speed=_range(speed)))


def snowflakes(*, flake_size, speed, density) -> Apply:
    return _seeded(iaa.Snowflakes(flake_size=_range(flake_size), speed=_range(speed), density=_range(density)))


def dropout(*, p) -> Apply:
    """Set a fraction `p` of pixels to black."""
    return _seeded(iaa.Dropout(p=_range(p)))


def coarse_dropout(*, p, size_percent) -> Apply:
    """Dropout on a grid `size_percent` of the image's resolution (blocks of 1/size_percent pixels)."""
    return _seeded(iaa.CoarseDropout(p=_range(p), size_percent=_range(size_percent), per_channel=0.5))


def elastic_imgaug(*, alpha, sigma) -> Apply:
    return _seeded(iaa.ElasticTransformation(alpha=_range(alpha), sigma=_range(sigma)))


def colour_quantisation(*, n_colors) -> Apply:
    return _seeded(iaa.KMeansColorQuantization(n_colors=_range(n_colors)))


def motion_blur_imgaug(*, kernel) -> Apply:
    """imgaug's line-kernel motion blur, kernel size `kernel` pixels, random angle."""
    return _seeded(iaa.MotionBlur(k=_range(kernel), angle=(0, 360)))


def multiply_saturation(*, scale) -> Apply:
    return _seeded(iaa.MultiplySaturation(mul=_range(scale)))


def occlusion(*, side) -> Apply:
    """A grey square of `side` (fraction of the image side) at a random position."""
    return _seeded(iaa.Cutout(nb_iterations=1, size=_range(side), squared=True, fill_mode="constant", cval=128))


def rotation(*, degrees) -> Apply:
    """Rotate by `degrees` (a value or [lo, hi]) in a random direction; the area outside the image is zero."""
    low, high = degrees if isinstance(degrees, (list, tuple)) else (degrees, degrees)
    return _seeded(iaa.OneOf([iaa.Affine(rotate=(low, high), cval=0, mode="constant"),
                              iaa.Affine(rotate=(-high, -low), cval=0, mode="constant")]))
