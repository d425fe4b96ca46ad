"""Predictions and accuracy of a model on image tensors, in eval mode."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch
import torch.nn.functional as F
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


TTA = ("none", "flip", "flip_translate")  # test-time augmentation of clean predictions (never inside attacks)


def tta_logits(model: nn.Module, batch: torch.Tensor, tta: str = "none") -> torch.Tensor:
    """Logits of float N×C×H×W `batch`, averaged over test-time views: "flip" averages the image and its mirror;
    "flip_translate" gives that pair half the weight and the pair shifted one pixel up-left and the pair shifted
    one pixel down-right (mirror-padded) a quarter each, as airbench evaluates."""
    def pair(images: torch.Tensor) -> torch.Tensor:
        return (model(images) + model(images.flip(3))) / 2

    if tta == "none":
        return model(batch)
    if tta == "flip":
        return pair(batch)
    if tta != "flip_translate":
        raise ValueError(f"tta must be one of {', '.join(TTA)}, got '{tta}'")
    height, width = batch.shape[2:]
    padded = F.pad(batch, (1, 1, 1, 1), mode="reflect")
    up_left, down_right = padded[:, :, :height, :width], padded[:, :, 2:, 2:]
    return pair(batch) / 2 + (pair(up_left.contiguous(memory_format=torch.channels_last))
                              + pair(down_right.contiguous(memory_format=torch.channels_last))) / 4


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, *, batch_size: int = 512, device: torch.device | None = None,
            tta: str = "none") -> torch.Tensor:
    """Predicted classes (N,) for uint8 N×H×W×C or float N×C×H×W images in [0, 1] (`tta`: test-time views)."""
    device = device or next(model.parameters()).device
    model.eval()
    out = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device)
        if batch.dtype == torch.uint8:
            batch = to_float(batch)
        with gpu_autocast(device):
            out.append(tta_logits(model, batch.contiguous(memory_format=torch.channels_last), tta).argmax(1).cpu())
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, **kwargs) -> float:
    """Top-1 accuracy in percent (keywords as `predict`'s)."""
    return float((predict(model, images, **kwargs) == labels.cpu()).float().mean() * 100)
