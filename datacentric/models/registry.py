"""Every architecture, declared once, registered in timm's registry (`timm.create_model(name, num_classes=K)`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import timm
from timm.models import register_model
from torch import nn

from datacentric.core.errors import DatacentricError
from datacentric.models import airnet, densenet, mobilenetv2, resnet, vgg, wide_resnet
from datacentric.models.layers import Classifier


@dataclass(frozen=True)
class Architecture:
    name: str
    family: str
    build: Callable[[int, int], nn.Module]  # (num_classes, in_chans) → network taking normalised input
    scale: str  # "full": the papers' models (GPU work); "small": for the 2-core CPU
    reference_params: int | None = None  # parameter count at 10 classes of the common CIFAR reference code


ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in [
    # paper 004's Table 1 and the competition's fixed models
    Architecture("cifar_resnet18", "resnet", resnet.resnet18, "full", 11_173_962),
    Architecture("cifar_resnet50", "resnet", resnet.resnet50, "full", 23_520_842),
    Architecture("cifar_preact_resnet18", "preact_resnet", resnet.preact_resnet18, "full", 11_171_146),
    Architecture("cifar_wrn_28_10", "wide_resnet", lambda k, c: wide_resnet.WideResNet(28, 10, k, c), "full",
                 36_479_194),
    Architecture("cifar_wrn_34_10", "wide_resnet", lambda k, c: wide_resnet.WideResNet(34, 10, k, c), "full",
                 46_160_474),
    Architecture("cifar_wrn_28_4", "wide_resnet", lambda k, c: wide_resnet.WideResNet(28, 4, k, c), "full",
                 5_848_410),
    Architecture("cifar_wrn_16_4", "wide_resnet", lambda k, c: wide_resnet.WideResNet(16, 4, k, c), "full",
                 2_748_890),
    Architecture("cifar_densenet121", "densenet", lambda k, c: densenet.DenseNet([6, 12, 24, 16], 32, k, c), "full",
                 6_956_298),
    Architecture("cifar_vgg16_bn", "vgg", lambda k, c: vgg.VGG(vgg.VGG16, k, c), "full", 14_728_266),
    Architecture("cifar_mobilenetv2", "mobilenet", lambda k, c: mobilenetv2.MobileNetV2(k, c), "full", 2_296_922),
    # small members of the same families for CPU-scale work
    Architecture("cifar_resnet20", "resnet", lambda k, c: resnet.cifar_resnet(20, k, c), "small", 272_474),
    Architecture("cifar_resnet8", "resnet", lambda k, c: resnet.cifar_resnet(8, k, c, width=16), "small"),
    Architecture("cifar_wrn_16_2", "wide_resnet", lambda k, c: wide_resnet.WideResNet(16, 2, k, c), "small",
                 691_674),
    Architecture("cifar_vgg_small", "vgg", lambda k, c: vgg.VGG(vgg.VGG_SMALL, k, c), "small"),
    Architecture("cifar_mobilenetv2_small", "mobilenet",
                 lambda k, c: mobilenetv2.MobileNetV2(k, c, width=0.5, last_channels=256, stem_stride=2), "small"),
    # the airbench-shaped fast family (models/airnet.py): train with the `fast` recipes (whitened stem)
    Architecture("cifar_airnet_s", "airnet", lambda k, c: airnet.AirNet((32, 64, 64), k, c), "small"),
    Architecture("cifar_airnet_m", "airnet", lambda k, c: airnet.AirNet((64, 128, 128), k, c), "small"),
    Architecture("cifar_airnet_l", "airnet", lambda k, c: airnet.AirNet((64, 256, 256), k, c), "small"),
]}


def _register(architecture: Architecture) -> None:
    def factory(pretrained: bool = False, num_classes: int = 10, in_chans: int = 3, mean=None, std=None, **_):
        if pretrained:
            raise DatacentricError(f"{architecture.name} has no pretrained weights")
        return Classifier(architecture.build(num_classes, in_chans), in_chans, mean, std)

    factory.__name__ = factory.__qualname__ = architecture.name
    factory.__module__ = __name__
    factory.__doc__ = f"{architecture.name} ({architecture.family}, {architecture.scale}); input in [0, 1]."
    register_model(factory)


for _architecture in ARCHITECTURES.values():
    _register(_architecture)


def create(name: str, num_classes: int, in_chans: int = 3, **kwargs) -> nn.Module:
    """Build a registered architecture by name (through timm), or fail with one clear line."""
    if name not in ARCHITECTURES:
        raise DatacentricError(f"unknown architecture '{name}'; known: {', '.join(ARCHITECTURES)}")
    return timm.create_model(name, num_classes=num_classes, in_chans=in_chans, **kwargs)
