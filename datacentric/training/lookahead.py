"""Lookahead weight averaging (Zhang et al., "Lookahead Optimizer: k steps forward, 1 step back", 2019), with
airbench's schedule: every k steps the slow copy moves toward the model's weights and the model restarts from it;
early in training the slow copy follows the model almost entirely, late it averages strongly."""

from __future__ import annotations

import torch
from torch import nn


class Lookahead:
    """Slow copies of every floating-point tensor of a model's state (weights and BatchNorm statistics)."""

    def __init__(self, model: nn.Module):
        self.slow = {name: value.detach().clone() for name, value in model.state_dict().items()
                     if value.is_floating_point()}

    @torch.no_grad()
    def update(self, model: nn.Module, keep: float) -> None:
        """slow ← keep·slow + (1 − keep)·model; then model ← slow."""
        state = model.state_dict()
        for name, slow in self.slow.items():
            slow.lerp_(state[name], 1 - keep)
            state[name].copy_(slow)

    @staticmethod
    def keep(decay: float, every: int, progress: float) -> float:
        """The share the slow weights keep at an update `progress` (0..1) of the way through training."""
        return decay ** every * progress ** 3

    def state_dict(self) -> dict:
        return dict(self.slow)

    def load_state_dict(self, state: dict) -> None:
        for name, value in state.items():
            self.slow[name].copy_(value)
