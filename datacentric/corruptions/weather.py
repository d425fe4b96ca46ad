"""Weather corruptions at CIFAR scale that imgaug lacks: snow, frost, fog and spatter."""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import imagecorruptions
import numpy as np

from datacentric.corruptions.blur import clipped_zoom, motion_blur_array
from datacentric.corruptions.ops import float_op


@float_op
def snow(image, rng, *, mean: float, spread: float, zoom: float, threshold: float, blur_radius: int,
         blur_sigma: float, blend: float):
    """Falling snow: thresholded zoomed noise, motion-blurred, added twice (and rotated), over a greyed image."""
    height, width = image.shape[:2]
    layer = rng.normal(loc=mean, scale=spread, size=(height, width, 1)).astype(np.float32)
    layer = clipped_zoom(layer, zoom)
    layer[layer < threshold] = 0
    layer = motion_blur_array(layer, blur_radius, blur_sigma, rng.uniform(-135, -45))
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None]
    image = blend * image + (1 - blend) * np.maximum(image, grey * 1.5 + 0.5)
    return np.clip(image + layer + np.rot90(layer, k=2), 0, 1)


FROST_SCALE_32 = 0.2  # CIFAR-10-C shrinks the frost photographs to a fifth for 32-px images


@functools.lru_cache(maxsize=8)
def frost_textures(scale: float = FROST_SCALE_32) -> tuple[np.ndarray, ...]:
    """The six ImageNet-C frost photographs (shipped with imagecorruptions), resized by `scale`."""
    folder = Path(imagecorruptions.__file__).parent / "frost"
    textures = []
    for path in sorted(folder.iterdir()):
        bgr = cv2.imread(str(path))
        if scale != 1:
            bgr = cv2.resize(bgr, (0, 0), fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        textures.append(bgr[..., ::-1].astype(np.float32) / 255.0)
    return tuple(textures)


@float_op
def frost(image, rng, *, image_weight: float, frost_weight: float, texture_scale: float = FROST_SCALE_32):
    """A random crop of a frost photograph (resized by `texture_scale`) blended over the image; a texture
    smaller than the image is enlarged to cover it, as the imagecorruptions library does."""
    textures = frost_textures(round(float(texture_scale), 4))
    texture = textures[int(rng.integers(len(textures)))]
    height, width = image.shape[:2]
    if texture.shape[0] < height or texture.shape[1] < width:
        grow = max(height / texture.shape[0], width / texture.shape[1])
        texture = cv2.resize(texture, (int(np.ceil(texture.shape[1] * grow)), int(np.ceil(texture.shape[0] * grow))))
    top = int(rng.integers(0, max(texture.shape[0] - height, 1)))  # ImageNet-C's bounds (the last offset unused)
    left = int(rng.integers(0, max(texture.shape[1] - width, 1)))
    return np.clip(image_weight * image + frost_weight * texture[top : top + height, left : left + width], 0, 1)


def plasma_fractal(size: int, decay: float, rng: np.random.Generator) -> np.ndarray:
    """A size×size (power of two) diamond-square height map in [0, 1]; larger decay = smoother."""
    field = np.zeros((size, size), np.float64)
    step, wibble = size, 100.0
    while step >= 2:
        half = step // 2
        noise = wibble * wibble  # ImageNet-C's amplitude: octaves shrink by decay² each
        # squares: each cell's centre is the mean of its corners plus noise
        corners = field[0:size:step, 0:size:step]
        mean = (corners + np.roll(corners, -1, 0) + np.roll(corners, -1, 1) + np.roll(np.roll(corners, -1, 0), -1, 1)) / 4
        field[half:size:step, half:size:step] = mean + rng.uniform(-noise, noise, mean.shape)
        # diamonds: edge midpoints from their four neighbours
        centres = field[half:size:step, half:size:step]
        corners = field[0:size:step, 0:size:step]
        left = (corners + np.roll(corners, -1, 0) + centres + np.roll(centres, 1, 1)) / 4
        field[half:size:step, 0:size:step] = left + rng.uniform(-noise, noise, left.shape)
        top = (corners + np.roll(corners, -1, 1) + centres + np.roll(centres, 1, 0)) / 4
        field[0:size:step, half:size:step] = top + rng.uniform(-noise, noise, top.shape)
        step, wibble = half, wibble / decay
    field -= field.min()
    return field / max(field.max(), 1e-12)


@float_op
def fog(image, rng, *, amount: float, decay: float):
    """Plasma-fractal haze added to the image, contrast renormalised."""
    height, width = image.shape[:2]
    size = 1 << int(np.ceil(np.log2(max(height, width))))
    haze = plasma_fractal(size, decay, rng)[:height, :width, None].astype(np.float32)
    peak = image.max()
    return np.clip((image + amount * haze) * peak / (peak + amount), 0, 1)


@float_op
def spatter(image, rng, *, mean: float, spread: float, blur: float, threshold: float, intensity: float,
            mud: int):
    """Water drops (mud=0: pale turquoise, edge-shaded) or mud splashes (mud=1: brown blots)."""
    height, width = image.shape[:2]
    liquid = cv2.GaussianBlur(rng.normal(mean, spread, (height, width)).astype(np.float32), (0, 0), blur)
    liquid[liquid < threshold] = 0
    if not mud:
        edges = 255 - cv2.Canny(np.clip(liquid * 255, 0, 255).astype(np.uint8), 50, 150)
        distance = cv2.distanceTransform(edges, cv2.DIST_L2, 5)
        distance = cv2.blur(np.minimum(distance, 20), (3, 3))
        shade = cv2.equalizeHist(distance.astype(np.uint8)).astype(np.float32)
        emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float32)
        shade = cv2.blur(np.clip(cv2.filter2D(shade, -1, emboss), 0, 255), (3, 3))
        mask = liquid * shade
        mask = mask / max(mask.max(), 1e-6) * intensity
        water = np.array([238, 238, 175], np.float32) / 255.0
        return np.clip(image + mask[..., None] * water, 0, 1)
    blots = cv2.GaussianBlur((liquid > threshold).astype(np.float32), (0, 0), intensity)
    blots[blots < 0.8] = 0
    brown = np.array([20, 42, 63], np.float32) / 255.0
    return np.clip(image * (1 - blots[..., None]) + brown * blots[..., None], 0, 1)
