"""A weighted logit ensemble of frozen models: one forward and backward per model per attack step."""

from __future__ import annotations

import torch
from torch import nn


class Ensemble(nn.Module):
    """Z = Σ w_i · z_i over models (weights normalised to sum 1; equal by default), eq. 5 of paper 004.

    The models are put in eval mode with frozen parameters: the attack needs input gradients
    only, so no weight gradient is ever computed.

    Example:
        >>> ensemble = Ensemble([model_a, model_b], weights=[0.6, 0.4])
        >>> logits = ensemble(images)  # images: float N×C×H×W in [0, 1]
    """

    def __init__(self, models: list[nn.Module], weights: list[float] | None = None):
        super().__init__()
        if not models:
            raise ValueError("an ensemble needs at least one model")
        weights = weights or [1.0] * len(models)
        total = float(sum(weights))
        self.models = nn.ModuleList(models)
        self.weights = [float(w) / total for w in weights]
        for model in self.models:
            model.eval()
            model.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = None
        for weight, model in zip(self.weights, self.models):
            out = weight * model(images).float()
            logits = out if logits is None else logits + out
        return logits
