"""Predictions and accuracy of a model on image tensors, in eval mode."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn

from datacentric.core.device import gpu_autocast
from datacentric.data.tensors import to_float


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """The model in eval mode (BatchNorm's running statistics, no dropout) for the block, its mode restored after:
    an attack or evaluation must neither see batch statistics nor move them."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, *, batch_size: int = 512, device: torch.device | None = None
            ) -> torch.Tensor:
    """Predicted classes (N,) for uint8 N×H×W×C or float N×C×H×W images in [0, 1]."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        if batch.dtype == torch.uint8:
            batch = to_float(batch)
        with gpu_autocast(device):
            out.append(model(batch.contiguous(memory_format=torch.channels_last)).argmax(1).cpu())
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, **kwargs) -> float:
    """Top-1 accuracy in percent."""
    return float((predict(model, images, **kwargs) == labels.cpu()).float().mean() * 100)
