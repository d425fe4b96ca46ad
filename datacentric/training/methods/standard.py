"""`standard`: empirical risk minimisation, the baseline every method is measured against."""

from __future__ import annotations

from dataclasses import dataclass

from datacentric.training.methods.base import StepResult, TrainingMethod, hard_labels, register


@dataclass(frozen=True)
class NoSettings:
    """No settings."""


@register("standard", NoSettings)
class Standard(TrainingMethod):
    """Empirical risk minimisation: the loss on the augmented batch (today's trainer)."""

    def step(self, model, images, targets, random):
        logits = model(images)
        return StepResult(self.loss(logits, targets), logits, hard_labels(targets), len(images), len(images))
