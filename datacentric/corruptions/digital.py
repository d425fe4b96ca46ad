"""Photometric and digital corruptions at CIFAR scale that imgaug lacks in this form: brightness, contrast,
saturation, pixelation and CIFAR-10-C's elastic transform."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from datacentric.corruptions.ops import float_op


def _hsv_shift(image: np.ndarray, channel: int, scale: float, offset: float) -> np.ndarray:
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    hsv[..., channel] = np.clip(hsv[..., channel] * scale + offset, 0, 1)
    return np.clip(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), 0, 1)


@float_op
def brightness(image, rng, *, value_offset: float):
    """Add `value_offset` to the HSV value channel."""
    return _hsv_shift(image, 2, 1.0, value_offset)


@float_op
def saturate(image, rng, *, scale: float, offset: float):
    """HSV saturation × `scale` + `offset` (scale < 1 washes colours out, > 1 exaggerates them)."""
    return _hsv_shift(image, 1, scale, offset)


@float_op
def contrast(image, rng, *, factor: float):
    """Scale each channel's deviation from its mean by `factor`."""
    mean = image.mean(axis=(0, 1), keepdims=True)
    return np.clip((image - mean) * factor + mean, 0, 1)


@float_op
def pixelate(image, rng, *, scale: float):
    """Box-downsample to `scale` of the side, then box-upsample back."""
    height, width = image.shape[:2]
    pil = Image.fromarray(np.rint(image * 255).astype(np.uint8))
    small = pil.resize((max(1, int(width * scale)), max(1, int(height * scale))), Image.BOX)
    return np.asarray(small.resize((width, height), Image.BOX), np.float32) / 255.0


@float_op
def elastic(image, rng, *, alpha: float, sigma: float, affine: float):
    """CIFAR-10-C's elastic transform: a random affine jitter of up to `affine` pixels, then a
    smooth displacement field (Gaussian-filtered noise of width `sigma`, scaled by `alpha` pixels)."""
    height, width = image.shape[:2]
    centre = np.float32([width, height]) // 2
    third = min(height, width) // 3
    source = np.float32([centre + third, [centre[0] + third, centre[1] - third], centre - third])
    target = source + rng.uniform(-affine, affine, size=source.shape).astype(np.float32)
    image = cv2.warpAffine(image, cv2.getAffineTransform(source, target), (width, height),
                           borderMode=cv2.BORDER_REFLECT_101)
    fields = []
    for _ in range(2):
        noise = rng.uniform(-1, 1, size=(height, width)).astype(np.float32)
        smooth = cv2.GaussianBlur(noise, (0, 0), sigma, borderType=cv2.BORDER_REFLECT_101) if sigma > 0 else noise * 0
        fields.append(smooth * alpha)
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    out = cv2.remap(image, grid_x + fields[0], grid_y + fields[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    return np.clip(out, 0, 1)
