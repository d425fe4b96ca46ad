"""The noise training methods of paper 003: GNT (Gaussian) and Speckle, on part of each batch, with the
`gaussian_noise` and `speckle_noise` parts' kernels and settings."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from datacentric.parts.noise import NoiseSettings, SpeckleSettings, gaussian, speckle
from datacentric.training.methods.base import StepResult, TrainingMethod, hard_labels, register


@dataclass(frozen=True)
class NoiseTrainingSettings(NoiseSettings):
    """The `gaussian_noise` part's σ (fixed, or a set for GNT-mult), and the share of each batch it noises."""

    fraction: float = 0.5  # share of each batch that gets noise (the paper: half)

    def __post_init__(self):
        super().__post_init__()
        if not 0 <= self.fraction <= 1:
            raise ValueError(f"fraction must lie in [0, 1], got {self.fraction}")


@dataclass(frozen=True)
class SpeckleTrainingSettings(NoiseTrainingSettings):
    sigma: float = SpeckleSettings.sigma
    sigmas: tuple[float, ...] = SpeckleSettings.sigmas  # paper 003


class _NoiseTraining(TrainingMethod):
    paper = "003"

    noisy = staticmethod(gaussian)  # the part's kernel: (images, σ, standard normal draws) → noisy images

    def step(self, model, images, targets, random):
        s = self.settings
        count = int(round(len(images) * s.fraction))
        if s.sigmas:
            pick = torch.randint(len(s.sigmas), (count,), generator=random.generator)
            sigma = torch.tensor(s.sigmas)[pick]
        else:
            sigma = torch.full((count,), s.sigma)
        normal = torch.randn(images[:count].shape, generator=random.generator).to(images.device)
        noisy = self.noisy(images[:count], sigma.to(images.device).view(-1, 1, 1, 1), normal).clamp(0, 1)
        batch = torch.cat([noisy, images[count:]])
        logits = model(batch)
        return StepResult(self.loss(logits, targets), logits, hard_labels(targets), len(images), len(images))


@register("gnt", NoiseTrainingSettings)
class Gnt(_NoiseTraining):
    """Gaussian noise training (paper 003): part of each batch gets x + σ·n, σ fixed or drawn per sample (GNT-mult)."""

    seen_corruptions = frozenset({"gaussian_noise"})

    noisy = staticmethod(gaussian)


@register("speckle", SpeckleTrainingSettings)
class Speckle(_NoiseTraining):
    """Speckle noise training (paper 003): part of each batch gets x + x·σ·n, σ drawn per sample from the paper's set."""

    seen_corruptions = frozenset({"speckle_noise"})

    noisy = staticmethod(speckle)
