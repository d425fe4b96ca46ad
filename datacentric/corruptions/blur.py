"""Blur corruptions at CIFAR scale that imgaug lacks: glass, defocus, motion (ImageMagick-style) and zoom blur."""

from __future__ import annotations

import cv2
import numpy as np

from datacentric.corruptions.ops import float_op


def _gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    if sigma <= 0:
        return image
    return cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, borderType=cv2.BORDER_REFLECT_101)


@float_op
def glass_blur(image, rng, *, sigma: float, delta: int, iterations: int):
    """Blur, swap each pixel with a random neighbour within `delta` (`iterations` sweeps), blur again."""
    out = _gaussian(image, sigma).copy()
    height, width = out.shape[:2]
    for _ in range(iterations):
        offsets = rng.integers(-delta, delta, size=(height, width, 2))
        for y in range(height - delta - 1, delta - 1, -1):
            for x in range(width - delta - 1, delta - 1, -1):
                dy, dx = offsets[y, x]
                other = out[y + dy, x + dx].copy()
                out[y + dy, x + dx] = out[y, x]
                out[y, x] = other
    return np.clip(_gaussian(out, sigma), 0, 1)


def disk_kernel(radius: float, alias_sigma: float) -> np.ndarray:
    """A normalised disk of `radius` pixels, softened by a Gaussian of `alias_sigma`."""
    span = np.arange(-8, 9) if radius <= 8 else np.arange(-int(radius), int(radius) + 1)
    xx, yy = np.meshgrid(span, span)
    disk = ((xx**2 + yy**2) <= radius**2).astype(np.float32)
    disk /= disk.sum()
    size = 3 if radius <= 8 else 5
    return cv2.GaussianBlur(disk, (size, size), sigmaX=alias_sigma)


@float_op
def defocus_blur(image, rng, *, radius: float, alias_sigma: float):
    """Convolution with a (slightly blurred) disk, like an out-of-focus lens."""
    return np.clip(cv2.filter2D(image, -1, disk_kernel(radius, alias_sigma), borderType=cv2.BORDER_REFLECT_101), 0, 1)


def motion_blur_array(image: np.ndarray, radius: int, sigma: float, angle_degrees: float) -> np.ndarray:
    """One-sided motion blur as ImageMagick draws it (CIFAR-10-C used it through Wand).

    The kernel has 2·radius+1 taps along the direction `angle_degrees`, weighted by a Gaussian
    of `sigma` in the tap index; taps shift the image with edge replication.
    """
    taps = np.arange(2 * radius + 1)
    weights = np.exp(-(taps**2) / (2 * sigma**2))
    weights /= weights.sum()
    angle = np.deg2rad(angle_degrees)
    height, width = image.shape[:2]
    padded = np.pad(image, ((len(taps),) * 2, (len(taps),) * 2) + ((0, 0),) * (image.ndim - 2), mode="edge")
    out = np.zeros_like(image)
    for tap, weight in zip(taps, weights):
        dy, dx = int(round(tap * np.sin(angle))), int(round(tap * np.cos(angle)))
        out += weight * padded[len(taps) + dy : len(taps) + dy + height, len(taps) + dx : len(taps) + dx + width]
    return out


@float_op
def motion_blur(image, rng, *, radius: int, sigma: float):
    """Motion blur in a random direction (±45° from horizontal)."""
    return np.clip(motion_blur_array(image, radius, sigma, rng.uniform(-45, 45)), 0, 1)


def clipped_zoom(image: np.ndarray, factor: float) -> np.ndarray:
    """Zoom into the centre by `factor` ≥ 1, keeping the image size."""
    height, width = image.shape[:2]
    crop_h, crop_w = int(np.ceil(height / factor)), int(np.ceil(width / factor))
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    zoomed = cv2.resize(image[top : top + crop_h, left : left + crop_w], None, fx=factor, fy=factor,
                        interpolation=cv2.INTER_LINEAR)
    if zoomed.ndim < image.ndim:
        zoomed = zoomed[..., None]
    trim_top, trim_left = (zoomed.shape[0] - height) // 2, (zoomed.shape[1] - width) // 2
    return zoomed[trim_top : trim_top + height, trim_left : trim_left + width]


@float_op
def zoom_blur(image, rng, *, max_zoom: float, step: float = 0.01):
    """The mean of the image and its centre zooms 1, 1 + step, …, up to `max_zoom` (ImageNet-C's severities 3–5
    step by 0.02 and 0.03)."""
    factors = np.arange(1.0, max_zoom + 1e-6, step)
    out = image + sum(clipped_zoom(image, f) for f in factors)
    return np.clip(out / (len(factors) + 1), 0, 1)
