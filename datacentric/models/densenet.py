"""DenseNet-BC for 32×32 inputs (Huang et al.; 3×3 stem of 2·growth channels, no max-pool)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DenseLayer(nn.Module):
    def __init__(self, in_planes: int, growth: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, 4 * growth, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        return torch.cat([self.conv2(F.relu(self.bn2(out))), x], 1)


class Transition(nn.Module):
    def __init__(self, in_planes: int, out_planes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.conv = nn.Conv2d(in_planes, out_planes, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, blocks: list[int], growth: int, num_classes: int, in_chans: int = 3, reduction: float = 0.5):
        super().__init__()
        planes = 2 * growth
        layers: list[nn.Module] = [nn.Conv2d(in_chans, planes, 3, 1, 1, bias=False)]
        for i, count in enumerate(blocks):
            for _ in range(count):
                layers.append(DenseLayer(planes, growth))
                planes += growth
            if i < len(blocks) - 1:
                out_planes = int(planes * reduction)
                layers.append(Transition(planes, out_planes))
                planes = out_planes
        layers += [nn.BatchNorm2d(planes), nn.ReLU(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(planes, num_classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))
