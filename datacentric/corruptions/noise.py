"""Noise corruptions at CIFAR scale: shot (Poisson) and speckle (multiplicative Gaussian) noise."""

from __future__ import annotations

import numpy as np

from datacentric.corruptions.ops import float_op


@float_op
def shot_noise(image, rng, *, photons: float):
    """Poisson photon noise: `photons` expected counts at full intensity (fewer = noisier)."""
    return np.clip(rng.poisson(image * photons) / photons, 0, 1)


@float_op
def speckle_noise(image, rng, *, sigma: float):
    """Multiplicative noise x + x·N(0, sigma²)."""
    return np.clip(image + image * rng.normal(scale=sigma, size=image.shape), 0, 1)
