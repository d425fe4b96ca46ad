"""Wide ResNet-depth-k (Zagoruyko & Komodakis) for 32×32 inputs, pre-activation blocks."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class WideBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, dropout: float):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.dropout = dropout
        self.shortcut = None if (stride == 1 and in_planes == planes) else nn.Conv2d(in_planes, planes, 1, stride,
                                                                                     bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = F.relu(self.bn2(self.conv1(out)))
        if self.dropout:
            out = F.dropout(out, self.dropout, self.training)
        return self.conv2(out) + shortcut


class WideResNet(nn.Module):
    def __init__(self, depth: int, widen_factor: int, num_classes: int, in_chans: int = 3, dropout: float = 0.0):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"Wide ResNet depth must be 6n+4, got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.stem = nn.Conv2d(in_chans, widths[0], 3, 1, 1, bias=False)
        blocks, in_planes = [], widths[0]
        for stage, width in enumerate(widths[1:]):
            for i in range(n):
                blocks.append(WideBlock(in_planes, width, 2 if (i == 0 and stage > 0) else 1, dropout))
                in_planes = width
        self.blocks = nn.Sequential(*blocks)
        self.final = nn.Sequential(nn.BatchNorm2d(in_planes), nn.ReLU(inplace=True))
        self.fc = nn.Linear(in_planes, num_classes)

    def forward(self, x):
        out = self.final(self.blocks(self.stem(x)))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))
