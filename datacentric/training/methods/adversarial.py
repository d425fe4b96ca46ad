"""The adversarial training methods: PGD-AT (paper 002's baseline), IAT (paper 002) and M-TLAT (paper 000)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from datacentric.parts.tlat import TargetedLabelSettings
from datacentric.training.methods.base import (
    StepRandom,
    StepResult,
    TrainingMethod,
    hard_labels,
    mixup,
    pgd,
    register,
    soft_targets,
)


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
class MtlatSettings(TargetedLabelSettings):
    """The `tlat` part's budget and label weight (ε ~ U[0, eps_max], targeted FGSM), and mixup's α."""

    alpha: float = 0.4  # mixup Beta(α, α) (paper 000)

    def __post_init__(self):
        super().__post_init__()
        if not self.alpha > 0:
            raise ValueError("mtlat settings need alpha > 0")


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
        attacked_rows = s.labels(second_rows, F.one_hot(target, self.num_classes).float(),
                                 eps.to(images.device)[:, None])
        logits = model(torch.cat([first_x, attacked]))
        loss = self.loss(logits, torch.cat([first_rows, attacked_rows]))
        return StepResult(loss, logits[:half], first_rows.argmax(1), len(images) + count, len(images) + count)
