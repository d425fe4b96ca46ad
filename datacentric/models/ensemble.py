"""A weighted logit ensemble of frozen models: one forward and backward per model per attack step."""

from __future__ import annotations

import torch
from torch import nn

from datacentric.core.device import gpu_autocast


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


def auto_batch_size(ensemble: nn.Module, device: torch.device, image_shape: tuple[int, ...]) -> int:
    """The largest power-of-two batch (≤ 1024) whose forward and backward fit on a CUDA device; 64 on a CPU."""
    if device.type != "cuda":
        return 64
    size = 32
    while size < 1024:
        try:
            probe = torch.rand(2 * size * 2, *image_shape, device=device, requires_grad=True)  # 2 norms, 2× headroom
            with gpu_autocast(device):
                ensemble(probe.contiguous(memory_format=torch.channels_last)).sum().backward()
            size *= 2
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
    return size
