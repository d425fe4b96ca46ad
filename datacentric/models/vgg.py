"""VGG with batch norm for 32×32 inputs: five max-pools to 1×1, then one linear layer."""

from __future__ import annotations

from torch import nn

VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
VGG_SMALL = [32, 32, "M", 64, 64, "M", 128, 128, "M"]  # a narrow 6-conv VGG for the CPU


class VGG(nn.Module):
    def __init__(self, layout: list, num_classes: int, in_chans: int = 3, width: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_chans
        for item in layout:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                out = max(8, int(item * width))
                layers += [nn.Conv2d(channels, out, 3, 1, 1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                channels = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))
