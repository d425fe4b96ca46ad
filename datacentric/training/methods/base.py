"""What every training method shares: the base class, one step's randomness and result, the losses, and the
engine's PGD on a training batch.

The trainer stays one loop (device-resident data, per-(seed, epoch) randomness, checkpoints, exact
resume, metrics); a method only decides what the model sees and what it is scored against. The
inner attacks reuse the attack engine (`attacks/engine.py: perturb`). Every method counts the
images it passes forward and backward through the model, the model-agnostic cost that the metrics
lines record.

"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datacentric.attacks.engine import LINF, AttackConfig, perturb
from datacentric.core.randomness import sample_keys
from datacentric.core.registry import registrar
from datacentric.parts.mixup import interpolate

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
    """One λ ~ Beta(α, α) per batch (Zhang et al.), partners from a random permutation of the batch; the
    interpolation is the `mixup` part's kernel."""
    lam = float(random.numpy.beta(alpha, alpha))
    order = torch.randperm(len(images), generator=random.generator).to(images.device)
    return interpolate(images, images[order], lam), interpolate(rows, rows[order], lam)


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
