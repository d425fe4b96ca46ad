"""`augmix`: AugMix images (Hendrycks, Mu, Cubuk, Zoph, Gilmer & Lakshminarayanan, "AugMix: A Simple Data
Processing Method to Improve Robustness and Uncertainty", ICLR 2020), made offline, one per image.

Each image x becomes (1 − m)·x + m·Σᵢ wᵢ·chainᵢ(x): `width` chains of 1–3 operations each (`depth`; −1 draws the
depth per chain), chain weights w ~ Dirichlet(α, …, α) and m ~ Beta(α, α). The operations are the paper's nine:
autocontrast, equalize, posterize, rotate, solarize, shear x/y and translate x/y, each at a level drawn in
[0.1, severity] on the paper's 0–10 scale. The paper leaves out contrast, colour, brightness and sharpness (and
anything close to ImageNet-C) so that the test corruptions stay unseen; our benchmark's `mtlat4` suite does hold
rotation and translation, so the report counts those two as seen.

As data, AugMix loses its Jensen–Shannon consistency loss, which needs fresh views of the same image at every step;
the `augmix` training method keeps it (docs/METHODS.md). Its kernel is `augmix_image` here.

Example:
    >>> generator = create_generator("augmix", {"severity": 3}, PartContext(seed=0))
    >>> out = generator.generate(samples, np.arange(len(samples)))   # uint8, kind "augmix"
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from datacentric.core.randomness import Stream, sample_rng
from datacentric.data.samples import Samples, distances
from datacentric.parts.registry import PartGenerator, register

LEVEL_SCALE = 10.0  # the paper's operations take a level on a 0–10 scale


def _signed(rng: np.random.Generator, value: float) -> float:
    return value if rng.random() < 0.5 else -value


def _affine(image: Image.Image, matrix: tuple) -> Image.Image:
    return image.transform(image.size, Image.Transform.AFFINE, matrix, resample=Image.Resampling.BILINEAR)


# name → (PIL image, level in [0.1, severity], rng) → PIL image; the maxima are the paper's
OPERATIONS = {
    "autocontrast": lambda image, level, rng: ImageOps.autocontrast(image),
    "equalize": lambda image, level, rng: ImageOps.equalize(image),
    "posterize": lambda image, level, rng: ImageOps.posterize(image, 4 - int(level * 4 / LEVEL_SCALE)),
    "rotate": lambda image, level, rng: image.rotate(_signed(rng, int(level * 30 / LEVEL_SCALE)),
                                                     resample=Image.Resampling.BILINEAR),
    "solarize": lambda image, level, rng: ImageOps.solarize(image, 256 - int(level * 256 / LEVEL_SCALE)),
    "shear_x": lambda image, level, rng: _affine(image, (1, _signed(rng, level * 0.3 / LEVEL_SCALE), 0, 0, 1, 0)),
    "shear_y": lambda image, level, rng: _affine(image, (1, 0, 0, _signed(rng, level * 0.3 / LEVEL_SCALE), 1, 0)),
    "translate_x": lambda image, level, rng: _affine(
        image, (1, 0, _signed(rng, int(level * image.size[0] / 3 / LEVEL_SCALE)), 0, 1, 0)),
    "translate_y": lambda image, level, rng: _affine(
        image, (1, 0, 0, 0, 1, _signed(rng, int(level * image.size[1] / 3 / LEVEL_SCALE)))),
}


@dataclass(frozen=True)
class AugMixSettings:
    """AugMix's mixture (the paper's CIFAR settings are the defaults)."""

    severity: float = 3.0  # largest operation level, on the paper's 0–10 scale
    width: int = 3  # chains mixed per image
    depth: int = -1  # operations per chain; −1: 1–3, drawn per chain
    alpha: float = 1.0  # Dirichlet (chain weights) and Beta (original vs. mixture) parameter
    operations: tuple[str, ...] = tuple(OPERATIONS)  # the paper's nine

    def __post_init__(self):
        object.__setattr__(self, "operations", tuple(self.operations))
        if not 0.1 <= self.severity <= LEVEL_SCALE:
            raise ValueError(f"severity must lie in [0.1, 10], got {self.severity}")
        if self.width < 1 or self.depth == 0 or self.depth < -1 or not self.alpha > 0:
            raise ValueError("width ≥ 1, depth −1 or ≥ 1 and alpha > 0 are required")
        unknown = [name for name in self.operations if name not in OPERATIONS]
        if unknown or not self.operations:
            raise ValueError(f"operations must be among {', '.join(OPERATIONS)}; got {unknown or 'none'}")


def augmix_image(image: np.ndarray, rng: np.random.Generator, settings: AugMixSettings) -> tuple[np.ndarray, float]:
    """AugMix's kernel: one H×W×C uint8 image → (its AugMix, float32 H×W×C in [0, 1]; the weight 1 − m the
    original keeps). Every draw comes from `rng`. Its training form is the `augmix` method."""
    weights = rng.dirichlet([settings.alpha] * settings.width).astype(np.float32)
    mix_weight = float(rng.beta(settings.alpha, settings.alpha))
    grey = image.shape[2] == 1
    original = Image.fromarray(image[..., 0] if grey else image)
    mixture = np.zeros(image.shape, np.float32)
    for weight in weights:
        chained = original
        for _ in range(settings.depth if settings.depth > 0 else int(rng.integers(1, 4))):
            operation = OPERATIONS[settings.operations[int(rng.integers(len(settings.operations)))]]
            chained = operation(chained, float(rng.uniform(0.1, settings.severity)), rng)
        pixels = np.asarray(chained, np.float32) / 255
        mixture += weight * (pixels[..., None] if grey else pixels)
    mixed = (1 - mix_weight) * image.astype(np.float32) / 255 + mix_weight * mixture
    return np.clip(mixed, 0, 1), 1 - mix_weight


class MixturePart(PartGenerator):
    """A part of mixtures made one image at a time by `kernel` (uint8 image, rng, settings → float image in [0, 1],
    the original's weight) from the image's own `stream`; records that weight as `mix_lambda`."""

    kernel = None
    stream = 0
    process_parallel = True
    forkable = True

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        part = inputs.select(positions)
        images, kept = np.empty_like(part.images), np.empty(len(part), np.float32)
        for i, (image, index) in enumerate(zip(part.images, part.source_index)):
            mixed, kept[i] = type(self).kernel(image, sample_rng(self.context.seed, index, self.stream), self.settings)
            images[i] = np.round(mixed * 255).astype(np.uint8)
        l2, linf = distances(part.images, images)
        return dataclasses.replace(part, images=images, kind=np.full(len(part), self.kind), l2=l2, linf=linf,
                                   mix_lambda=kept)


@register("augmix", AugMixSettings)
class AugMix(MixturePart):
    """AugMix (Hendrycks et al., ICLR 2020): chains of the paper's nine operations, mixed, one image per input."""

    kind = "augmix"
    paper = "AugMix"
    kernel = staticmethod(augmix_image)
    stream = Stream.AUGMIX

    @classmethod
    def seen_corruptions(cls, settings) -> set[str]:
        return {name for op, name in (("rotate", "rotation"), ("translate_x", "translation"),
                                      ("translate_y", "translation")) if op in settings.operations}
