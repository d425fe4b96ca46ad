"""Building blocks shared by the architectures: input normalisation and the [0, 1]-input wrapper."""

from __future__ import annotations

import torch
from torch import nn

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class Normalize(nn.Module):
    """(x − mean) / std per channel, with the constants stored as buffers (saved with the weights)."""

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Classifier(nn.Module):
    """A network preceded by normalisation: takes images in [0, 1], returns logits N×K."""

    def __init__(self, net: nn.Module, in_chans: int, mean=None, std=None):
        super().__init__()
        mean = mean or (CIFAR10_MEAN if in_chans == 3 else (0.5,) * in_chans)
        std = std or (CIFAR10_STD if in_chans == 3 else (0.25,) * in_chans)
        self.normalize = Normalize(tuple(mean), tuple(std))
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalize(x))
