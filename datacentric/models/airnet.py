"""An airbench-shaped fast CIFAR network (Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", 2024).

A 2×2 stem whose filters are the whitening transform of image patches (set from data by
`WhiteningConv.init_from`; the trainer's `whiten_images` key), then three groups of
conv → max-pool → BatchNorm → GELU → conv → BatchNorm → GELU, a global max-pool and a linear head whose
logits are scaled down. BatchNorm layers learn only their bias (the scale stays 1), with a fast running
average; the convolutions start as identities on their first channels. Widths set the family's sizes:
(64, 256, 256) is the 94 % model, (64, 128, 128) the 93 % one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LOGIT_SCALE = 1 / 9  # the head's output scale (the reference model's), so label smoothing sees tempered logits
WHITENING_EPS = 5e-4  # added to the patch covariance's eigenvalues before the inverse square root


class WhiteningConv(nn.Conv2d):
    """A 2×2 convolution with 2·C·4 filters: ± the eigenvectors of the patch covariance, each divided by the
    square root of its eigenvalue, so its outputs are decorrelated with unit variance (filters frozen, bias
    trained). Until `init_from` runs it is an ordinary randomly initialised convolution."""

    def __init__(self, in_chans: int, kernel: int = 2):
        super().__init__(in_chans, 2 * in_chans * kernel * kernel, kernel, padding=0, bias=True)
        self.weight.requires_grad_(False)

    @torch.no_grad()
    def init_from(self, images: torch.Tensor) -> None:
        """Set the filters from N×C×H×W `images` (as this layer receives them, i.e. normalised)."""
        channels, kernel = self.in_channels, self.kernel_size[0]
        patches = F.unfold(images.float(), kernel).transpose(1, 2).reshape(-1, channels * kernel * kernel)
        patches = patches - patches.mean(0)
        covariance = patches.T @ patches / len(patches)
        eigenvalues, eigenvectors = torch.linalg.eigh(covariance.double())
        filters = (eigenvectors.T / (eigenvalues + WHITENING_EPS).sqrt()[:, None]).float()
        filters = filters.flip(0).reshape(-1, channels, kernel, kernel)  # largest eigenvalue first
        self.weight.copy_(torch.cat([filters, -filters]))
        self.bias.zero_()


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    norm = nn.BatchNorm2d(channels, momentum=0.4, eps=1e-12)  # running average keeps 60 % of the old value
    norm.weight.requires_grad_(False)
    return norm


class ConvGroup(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm1 = _batch_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = _batch_norm(out_channels)
        for conv in (self.conv1, self.conv2):  # identity on the first channels: a deep net that starts shallow
            width = min(conv.in_channels, conv.out_channels)
            nn.init.dirac_(conv.weight[:width, :width])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.norm1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.norm2(self.conv2(x)))


class AirNet(nn.Module):
    def __init__(self, widths: tuple[int, int, int], num_classes: int = 10, in_chans: int = 3):
        super().__init__()
        self.whiten = WhiteningConv(in_chans)
        stem = self.whiten.out_channels
        self.groups = nn.Sequential(ConvGroup(stem, widths[0]), ConvGroup(widths[0], widths[1]),
                                    ConvGroup(widths[1], widths[2]))
        self.head = nn.Linear(widths[2], num_classes, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.groups(F.gelu(self.whiten(x)))
        return self.head(F.adaptive_max_pool2d(x, 1).flatten(1)) * LOGIT_SCALE
