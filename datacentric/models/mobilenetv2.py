"""MobileNetV2 for 32×32 inputs (stem stride 1, the second stage's stride 1), with a width multiplier;
the small CPU variant strides its stem instead (16×16 feature maps: depthwise convolutions are slow on a CPU)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

# (expansion, out channels, blocks, stride) — the ImageNet layout with the CIFAR strides
LAYOUT = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


class InvertedResidual(nn.Module):
    def __init__(self, in_planes: int, out_planes: int, expansion: int, stride: int):
        super().__init__()
        hidden = in_planes * expansion
        self.residual = stride == 1 and in_planes == out_planes
        self.body = nn.Sequential(
            nn.Conv2d(in_planes, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU6(inplace=True),
            nn.Conv2d(hidden, out_planes, 1, bias=False), nn.BatchNorm2d(out_planes),
        )

    def forward(self, x):
        out = self.body(x)
        return out + x if self.residual else out


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int, in_chans: int = 3, width: float = 1.0, last_channels: int = 1280,
                 stem_stride: int = 1):
        super().__init__()

        def scaled(channels: int) -> int:
            return max(8, int(round(channels * width / 8)) * 8)

        planes = scaled(32)
        layers: list[nn.Module] = [nn.Conv2d(in_chans, planes, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(planes),
                                   nn.ReLU6(inplace=True)]
        for expansion, out, blocks, stride in LAYOUT:
            for i in range(blocks):
                layers.append(InvertedResidual(planes, scaled(out), expansion, stride if i == 0 else 1))
                planes = scaled(out)
        last = last_channels if width <= 1 else scaled(last_channels)
        layers += [nn.Conv2d(planes, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU6(inplace=True)]
        self.features = nn.Sequential(*layers)
        self.fc = nn.Linear(last, num_classes)

    def forward(self, x):
        return self.fc(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))
