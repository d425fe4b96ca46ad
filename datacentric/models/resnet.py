"""ResNets for 32×32 inputs: ResNet-18/50 (He et al., CIFAR stem), PreAct ResNet-18, and the thin
CIFAR ResNet-6n+2 family (ResNet-20) with 16-32-64 channels."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes * 4:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes * 4, 1, stride, bias=False),
                                          nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        return F.relu(self.bn3(self.conv3(out)) + self.shortcut(x))


class PreActBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Conv2d(in_planes, planes, 1, stride, bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv1(out)
        return self.conv2(F.relu(self.bn2(out))) + shortcut


class ResNet(nn.Module):
    """3×3 stride-1 stem, no max-pool, stages of `blocks` at widths `widths`, global average pool."""

    def __init__(self, block, blocks: list[int], widths: list[int], num_classes: int, in_chans: int = 3,
                 preact: bool = False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_chans, widths[0], 3, 1, 1, bias=False),
                                  *([] if preact else [nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]))
        layers, in_planes = [], widths[0]
        for stage, (count, width) in enumerate(zip(blocks, widths)):
            for i in range(count):
                layers.append(block(in_planes, width, 2 if (i == 0 and stage > 0) else 1))
                in_planes = width * block.expansion
        self.layers = nn.Sequential(*layers)
        self.final = nn.Sequential(nn.BatchNorm2d(in_planes), nn.ReLU(inplace=True)) if preact else nn.Identity()
        self.fc = nn.Linear(in_planes, num_classes)

    def forward(self, x):
        out = self.final(self.layers(self.stem(x)))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


def resnet18(num_classes: int, in_chans: int = 3) -> ResNet:
    return ResNet(BasicBlock, [2, 2, 2, 2], [64, 128, 256, 512], num_classes, in_chans)


def resnet50(num_classes: int, in_chans: int = 3) -> ResNet:
    return ResNet(Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512], num_classes, in_chans)


def preact_resnet18(num_classes: int, in_chans: int = 3) -> ResNet:
    return ResNet(PreActBlock, [2, 2, 2, 2], [64, 128, 256, 512], num_classes, in_chans, preact=True)


def cifar_resnet(depth: int, num_classes: int, in_chans: int = 3, width: int = 16) -> ResNet:
    """He et al.'s CIFAR ResNet-(6n+2): three stages of n basic blocks at width, 2·width, 4·width."""
    if (depth - 2) % 6:
        raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, [n, n, n], [width, 2 * width, 4 * width], num_classes, in_chans)
