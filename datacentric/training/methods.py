"""Training methods: each turns (model, augmented batch, targets, per-step randomness) into the loss of one step.

The trainer stays one loop (device-resident data, per-(seed, epoch) randomness, checkpoints, exact
resume, metrics); a method only decides what the model sees and what it is scored against. The
inner attacks reuse the attack engine (`attacks/engine.py: perturb`). Every method counts the
images it passes forward and backward through the model, the model-agnostic cost that the metrics
lines record.

Example:
    >>> method = create_method("pgd_at", {"steps": 7}, num_classes=10)
    >>> step = method.step(model, batch, targets, StepRandom(seed=0, epoch=3, step=12, index=positions))
    >>> step.loss.backward()
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datacentric.attacks.engine import LINF, AttackConfig, perturb
from datacentric.attacks.randomness import sample_keys
from datacentric.config import from_dict
from datacentric.errors import DatacentricError
from datacentric.registry import describe, registrar

METHODS: dict[str, type[TrainingMethod]] = {}


@dataclass
class StepRandom:
    """The randomness of one step, drawn only by the methods that need it: a torch and a numpy generator
    seeded by (seed, epoch, step), and per-sample keys for the attack engine, so a run resumed at any
    epoch draws exactly what the uninterrupted run drew."""

    seed: int
    epoch: int
    step: int
    index: torch.Tensor  # int64 (N,): the batch's positions in the training set

    @cached_property
    def generator(self) -> torch.Generator:
        return torch.Generator().manual_seed(((self.seed * 1_000_003 + self.epoch) * 1_000_003 + self.step) % 2**63)

    @cached_property
    def numpy(self) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, self.step])

    @cached_property
    def keys(self) -> torch.Tensor:
        return sample_keys(self.seed * 7919 + self.epoch, self.index)


@dataclass
class StepResult:
    loss: torch.Tensor
    logits: torch.Tensor  # what the training accuracy is measured on
    labels: torch.Tensor  # int64 (N,) matching `logits`
    forward_images: int  # images passed forward through the model in this step
    backward_images: int  # images passed backward through the model in this step


def soft_targets(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Rows that sum to 1: one-hot for int64 labels, normalised soft labels otherwise."""
    if targets.dtype == torch.long:
        return F.one_hot(targets, num_classes).float()
    return targets / targets.sum(1, keepdim=True)


def hard_labels(targets: torch.Tensor) -> torch.Tensor:
    return targets if targets.dtype == torch.long else targets.argmax(1)


def training_loss(logits: torch.Tensor, targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    """Cross-entropy on int64 labels, or KL(rows ‖ softmax) on soft rows normalised to sum 1 (batch mean,
    the competition's loss); label smoothing applies to both."""
    if targets.dtype == torch.long:
        return F.cross_entropy(logits, targets, label_smoothing=label_smoothing)
    rows = targets / targets.sum(dim=1, keepdim=True)
    if label_smoothing:
        rows = rows * (1 - label_smoothing) + label_smoothing / rows.shape[1]
    return F.kl_div(F.log_softmax(logits.float(), dim=1), rows, reduction="batchmean")


def mixup(images: torch.Tensor, rows: torch.Tensor, alpha: float, random: StepRandom
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """One λ ~ Beta(α, α) per batch (Zhang et al.), partners from a random permutation of the batch."""
    lam = float(random.numpy.beta(alpha, alpha))
    order = torch.randperm(len(images), generator=random.generator).to(images.device)
    return lam * images + (1 - lam) * images[order], lam * rows + (1 - lam) * rows[order]


class TrainingMethod:
    """Base class: subclasses set `Settings` (via `register`) and override `step`; stateful methods (ANT)
    also override `state_dict`/`load_state_dict`, which the trainer keeps in its checkpoint."""

    name: ClassVar[str]
    Settings: ClassVar[type]
    paper: ClassVar[str] = ""
    # corruption functions (corruptions/registry.py) the method trains on: reported as seen, the rest unseen
    seen_corruptions: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings, num_classes: int, label_smoothing: float = 0.0):
        self.settings, self.num_classes, self.label_smoothing = settings, num_classes, label_smoothing

    def step(self, model: nn.Module, images: torch.Tensor, targets: torch.Tensor, random: StepRandom) -> StepResult:
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return training_loss(logits, targets, self.label_smoothing)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


register = registrar(METHODS, "training method")  # @register("pgd_at", PgdSettings) adds a method


def method_class(name: str) -> type[TrainingMethod]:
    from datacentric.training import ant  # noqa: F401  registers `ant`

    if name not in METHODS:
        raise DatacentricError(f"unknown training method '{name}'; known: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def create_method(name: str, settings: dict, num_classes: int, label_smoothing: float = 0.0) -> TrainingMethod:
    cls = method_class(name)
    return cls(from_dict(cls.Settings, dict(settings), f"training method '{name}' settings"), num_classes,
               label_smoothing)


def list_methods() -> list[dict]:
    method_class("standard")  # loads every method module
    return [describe(METHODS[name]) for name in sorted(METHODS)]


def pgd(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, random: StepRandom, *, eps: float, steps: int,
        step_size: float, bn_train: bool, targets: torch.Tensor | None = None,
        row_eps: torch.Tensor | None = None) -> torch.Tensor:
    """Images attacked by the engine (L∞, random start unless targeted FGSM); BatchNorm in eval mode unless
    `bn_train` (the popular re-implementations attack in train mode and so move the running statistics)."""
    config = AttackConfig(iterations=steps, combine="linf", linf_eps=eps, linf_step=step_size, loss="ce",
                          target="none", momentum=0.0, ti_size=0, di_probability=0.0,
                          random_start=targets is None)
    was_training = model.training
    model.train(bn_train)
    delta = perturb(model, images.detach(), labels, random.keys, torch.full((len(images),), LINF), config,
                    targets=targets, row_linf_eps=row_eps)
    model.train(was_training)
    return (images + delta).detach()


# ---- the methods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoSettings:
    """No settings."""


@register("standard", NoSettings)
class Standard(TrainingMethod):
    """Empirical risk minimisation: the loss on the augmented batch (today's trainer)."""

    def step(self, model, images, targets, random):
        logits = model(images)
        return StepResult(self.loss(logits, targets), logits, hard_labels(targets), len(images), len(images))


@dataclass(frozen=True)
class PgdSettings:
    eps: float = 8 / 255  # L∞ budget, [0, 1] pixel units
    steps: int = 7  # PGD iterations (paper 002's PGD-AT baseline: 7)
    step_size: float = 2 / 255
    bn_train: bool = False  # attack with BatchNorm in train mode (moves running statistics) instead of eval

    def __post_init__(self):
        if not (0 <= self.eps <= 1 and self.steps >= 1 and self.step_size > 0):
            raise ValueError("pgd settings need 0 ≤ eps ≤ 1, steps ≥ 1, step_size > 0")


@register("pgd_at", PgdSettings)
class PgdAt(TrainingMethod):
    """PGD adversarial training (Madry et al.; paper 002's baseline): the loss on PGD examples of each batch."""

    paper = "002 (baseline)"

    def step(self, model, images, targets, random):
        s = self.settings
        adversarial = pgd(model, images, hard_labels(targets), random, eps=s.eps, steps=s.steps, step_size=s.step_size,
                          bn_train=s.bn_train)
        logits = model(adversarial)
        passes = (s.steps + 1) * len(images)
        return StepResult(self.loss(logits, targets), logits, hard_labels(targets), passes, passes)


@dataclass(frozen=True)
class IatSettings(PgdSettings):
    alpha: float = 1.0  # mixup Beta(α, α) (paper 002)


@register("iat", IatSettings)
class Iat(TrainingMethod):
    """Interpolated adversarial training (paper 002): ½ (mixup loss on the clean batch + mixup loss on its PGD batch)."""

    paper = "002"

    def step(self, model, images, targets, random):
        s = self.settings
        rows = soft_targets(targets, self.num_classes)
        adversarial = pgd(model, images, hard_labels(targets), random, eps=s.eps, steps=s.steps, step_size=s.step_size,
                          bn_train=s.bn_train)  # attacked unmixed, then mixed
        clean_x, clean_rows = mixup(images, rows, s.alpha, random)
        adv_x, adv_rows = mixup(adversarial, rows, s.alpha, random)
        logits = model(torch.cat([clean_x, adv_x]))
        half = len(images)
        loss = 0.5 * (self.loss(logits[:half], clean_rows) + self.loss(logits[half:], adv_rows))
        return StepResult(loss, logits[:half], clean_rows.argmax(1), (s.steps + 2) * half, (s.steps + 2) * half)


@dataclass(frozen=True)
class MtlatSettings:
    alpha: float = 0.4  # mixup Beta(α, α) (paper 000)
    eps_max: float = 0.025  # ε ~ U[0, eps_max] per sample, L∞ targeted FGSM (paper 000)
    label_weight: float | None = None  # target weight at ε = eps_max; None: eps_max (paper: weight = ε)

    def __post_init__(self):
        if not (self.alpha > 0 and 0 <= self.eps_max <= 1):
            raise ValueError("mtlat settings need alpha > 0 and 0 ≤ eps_max ≤ 1")


@register("mtlat", MtlatSettings)
class Mtlat(TrainingMethod):
    """M-TLAT (paper 000): half of each batch mixup; the other half mixup then targeted FGSM, label moved toward the target."""

    paper = "000"

    def step(self, model, images, targets, random):
        s = self.settings
        rows = soft_targets(targets, self.num_classes)
        half = len(images) // 2
        first_x, first_rows = mixup(images[:half], rows[:half], s.alpha, random)
        second_x, second_rows = mixup(images[half:], rows[half:], s.alpha, random)
        count = len(second_x)
        eps = torch.rand(count, generator=random.generator) * s.eps_max
        offset = torch.randint(1, self.num_classes, (count,), generator=random.generator).to(images.device)
        target = (second_rows.argmax(1) + offset) % self.num_classes  # any class but the mixed label's top one
        attacked = pgd(model, second_x, second_rows.argmax(1), StepRandom(random.seed, random.epoch, random.step,
                                                                         random.index[half:]),
                       eps=s.eps_max, steps=1, step_size=s.eps_max, bn_train=False, targets=target,
                       row_eps=eps.to(images.device))
        weight = ((s.eps_max if s.label_weight is None else s.label_weight) * eps / max(s.eps_max, 1e-12))
        weight = weight.to(images.device)[:, None]
        attacked_rows = (1 - weight) * second_rows + weight * F.one_hot(target, self.num_classes).float()
        logits = model(torch.cat([first_x, attacked]))
        loss = self.loss(logits, torch.cat([first_rows, attacked_rows]))
        return StepResult(loss, logits[:half], first_rows.argmax(1), len(images) + count, len(images) + count)


@dataclass(frozen=True)
class NoiseTrainingSettings:
    sigma: float = 0.5  # fixed σ in [0, 1] pixel units (GNT, paper 003)
    sigmas: tuple[float, ...] = ()  # when given, σ per sample from this set (GNT-mult)
    fraction: float = 0.5  # share of each batch that gets noise (the paper: half)

    def __post_init__(self):
        object.__setattr__(self, "sigmas", tuple(float(v) for v in self.sigmas))
        if not all(math.isfinite(v) and v >= 0 for v in (self.sigma, *self.sigmas)) or not 0 <= self.fraction <= 1:
            raise ValueError("noise σ must be non-negative and fraction in [0, 1]")


@dataclass(frozen=True)
class SpeckleTrainingSettings(NoiseTrainingSettings):
    sigma: float = 0.0
    sigmas: tuple[float, ...] = (0.15, 0.2, 0.35, 0.45, 0.6)  # paper 003


class _NoiseTraining(TrainingMethod):
    paper = "003"

    def noisy(self, images: torch.Tensor, sigma: torch.Tensor, normal: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

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

    def noisy(self, images, sigma, normal):
        return images + sigma * normal


@register("speckle", SpeckleTrainingSettings)
class Speckle(_NoiseTraining):
    """Speckle noise training (paper 003): part of each batch gets x + x·σ·n, σ drawn per sample from the paper's set."""

    seen_corruptions = frozenset({"speckle_noise"})

    def noisy(self, images, sigma, normal):
        return images + images * sigma * normal
