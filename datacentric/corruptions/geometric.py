"""Paper 000's extra corruptions that imgaug does not provide as such: colour distortion and translation."""

from __future__ import annotations

import numpy as np

from datacentric.corruptions.ops import float_op


@float_op
def colour_distortion(image, rng, *, amount: float):
    """Add `amount` (fraction of the maximum pixel value) to one random RGB channel."""
    out = image.copy()
    out[..., int(rng.integers(3))] += amount
    return np.clip(out, 0, 1)


@float_op
def translation(image, rng, *, pixels: float):
    """Shift by `pixels` in a random direction; the uncovered area is zero."""
    angle = rng.uniform(0, 2 * np.pi)
    dy, dx = int(round(pixels * np.sin(angle))), int(round(pixels * np.cos(angle)))
    height, width = image.shape[:2]
    out = np.zeros_like(image)
    out[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = \
        image[max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)]
    return out
