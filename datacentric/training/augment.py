"""Batch augmentation on the device: random translation (crop of a padded frame) and horizontal flip, from
explicit draws."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def draw_augmentation(count: int, padding: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample crop offsets (count×2, in 0..2·padding) and flip flags (count), from `generator`."""
    offsets = torch.randint(0, 2 * padding + 1, (count, 2), generator=generator)
    flips = torch.rand(count, generator=generator) < 0.5
    return offsets, flips


def alternating_flips(count: int, seed: int, epoch: int) -> torch.Tensor:
    """Flip flags (count) for `epoch` under alternating flip: a coin per image in epoch 0, its opposite in every
    odd epoch, so each image is seen both ways in every two epochs (fewer repeated views than a coin each epoch)."""
    first = torch.rand(count, generator=torch.Generator().manual_seed(seed * 100_003 + 99_991)) < 0.5
    return first ^ bool(epoch % 2)


def crop_flip(images: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor, padding: int, flip: bool,
              pad_mode: str = "zeros") -> torch.Tensor:
    """images N×C×H×W → each shifted by its offset inside a padded frame (zeros, or the image mirrored with
    `pad_mode="reflect"`), and flipped where flagged."""
    if padding:
        count, channels, height, width = images.shape
        padded = F.pad(images, (padding,) * 4, mode="constant" if pad_mode == "zeros" else "reflect")
        rows = (offsets[:, 0, None] + torch.arange(height, device=images.device))[:, None, :, None]
        cols = (offsets[:, 1, None] + torch.arange(width, device=images.device))[:, None, None, :]
        batch = torch.arange(count, device=images.device)[:, None, None, None]
        channel = torch.arange(channels, device=images.device)[None, :, None, None]
        images = padded[batch, channel, rows, cols]
    if flip:
        images = torch.where(flips[:, None, None, None], images.flip(3), images)
    return images
