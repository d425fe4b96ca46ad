"""`gaussian_noise` and `speckle_noise`: GNT and Speckle training data (paper 003), made offline.

Gaussian: x + σ·n; speckle: x + x·σ·n; n ~ N(0, 1) per pixel, in [0, 1] pixel units, clipped and
rounded to uint8. σ is fixed, or drawn per sample from a set (GNT-mult). The paper keeps half of
every batch clean; offline, that is the share of the clean part.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from datacentric.core.randomness import Stream, sample_rng
from datacentric.data.samples import Samples, distances
from datacentric.parts.registry import PartGenerator, register


@dataclass(frozen=True)
class NoiseSettings:
    sigma: float = 0.5  # fixed σ, [0, 1] pixel units (GNT: 0.5 on ImageNet)
    sigmas: tuple[float, ...] = ()  # when given, σ is drawn per sample from this set (GNT-mult) instead

    def __post_init__(self):
        object.__setattr__(self, "sigmas", tuple(float(s) for s in self.sigmas))
        for value in (self.sigma, *self.sigmas):
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"noise σ must be finite and non-negative, got {value}")


@dataclass(frozen=True)
class SpeckleSettings(NoiseSettings):
    sigma: float = 0.0
    sigmas: tuple[float, ...] = (0.15, 0.2, 0.35, 0.45, 0.6)  # the paper's set for Speckle training


def gaussian(images, sigma, normal):
    """GNT's kernel (numpy arrays or torch tensors in [0, 1]): x + σ·n. Its training form is `gnt`."""
    return images + sigma * normal


def speckle(images, sigma, normal):
    """Speckle's kernel (numpy arrays or torch tensors in [0, 1]): x + x·σ·n. Its training form is `speckle`."""
    return images + images * sigma * normal


class _Noise(PartGenerator):
    process_parallel = True
    forkable = True
    paper = "003"

    noise = staticmethod(gaussian)  # the kernel: (images, σ, standard normal draws) → noisy images

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        part = inputs.select(positions)
        images, sigmas = np.empty_like(part.images), np.empty(len(part), np.float32)
        for i, (image, index) in enumerate(zip(part.images, part.source_index)):
            rng = sample_rng(self.context.seed, index, Stream.NOISE)
            sigma = self.settings.sigmas[rng.integers(len(self.settings.sigmas))] if self.settings.sigmas \
                else self.settings.sigma
            pixels = image.astype(np.float32) / 255
            noisy = self.noise(pixels, sigma, rng.standard_normal(image.shape, dtype=np.float32))
            images[i] = np.round(np.clip(noisy, 0, 1) * 255).astype(np.uint8)
            sigmas[i] = sigma
        l2, linf = distances(part.images, images)
        return dataclasses.replace(part, images=images, kind=np.full(len(part), self.kind), l2=l2, linf=linf,
                                   budget=sigmas)


@register("gaussian_noise", NoiseSettings)
class GaussianNoise(_Noise):
    """x + σ·n, σ fixed or drawn per sample from a set (GNT and GNT-mult, paper 003)."""

    kind = "gaussian_noise"

    @classmethod
    def seen_corruptions(cls, settings) -> set[str]:
        return {"gaussian_noise"}

    noise = staticmethod(gaussian)


@register("speckle_noise", SpeckleSettings)
class SpeckleNoise(_Noise):
    """x + x·σ·n, σ drawn per sample from the paper's set (Speckle training, paper 003)."""

    kind = "speckle_noise"

    @classmethod
    def seen_corruptions(cls, settings) -> set[str]:
        return {"speckle_noise"}

    noise = staticmethod(speckle)
