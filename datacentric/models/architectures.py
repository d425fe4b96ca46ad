"""Architecture specs: one name for a fresh network, whichever library defines it.

An architecture spec is one of
- a registry name (`cifar_resnet8`; `datacentric models` lists them): CIFAR stems, for 32 px;
- `timm:NAME`: any timm architecture (`timm:resnet18`, `timm:convnext_atto`); `timm:NAME,pretrained=true`
  starts from timm's pretrained weights where the user has them (the Hugging Face cache, or a network),
  `pretrained=PATH` from a weights file on disk;
- `torchvision:NAME`: any torchvision classification model (`torchvision:resnet18`).

Every network built here takes [0, 1] images: timm and torchvision models get their own normalisation
(the mean and std their weights expect: timm's pretrained config, ImageNet's for torchvision) in front,
and a one-channel dataset is repeated to the three channels their stems expect. ImageNet stems downsample
32 px images early (about 15 points below a CIFAR stem at equal training, reference code's numbers): use the
registry's `cifar_*` models for 32 px work where the architecture is free.

Example:
    >>> model = build("timm:resnet18", num_classes=10)
    >>> logits = model(torch.rand(4, 3, 32, 32))
"""

from __future__ import annotations

import re
from pathlib import Path

import timm
import torch
import torchvision
from torch import nn

from datacentric.core.errors import DatacentricError
from datacentric.models.registry import ARCHITECTURES, create

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
LIBRARY_NAME = re.compile(r"^[A-Za-z0-9_.]+$")  # a library's model name: never a hub path (hf-hub:…, org/name) or URL


class Normalised(nn.Module):
    """(x − mean) / std in front of a model, so it takes [0, 1] images like every model here; a one-channel
    input is repeated to `channels`."""

    def __init__(self, model: nn.Module, mean: list[float], std: list[float], channels: int | None = None):
        super().__init__()
        self.model = model
        self.channels = channels
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels and images.shape[1] == 1:
            images = images.expand(-1, self.channels, -1, -1)
        return self.model((images - self.mean) / self.std)


def split_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """`timm:NAME,key=value` → ("timm", NAME, {key: value}); a registry name → ("registry", NAME, {})."""
    if not isinstance(spec, str) or not spec:
        raise DatacentricError(f"architecture {spec!r} is not a name")
    head, *pairs = spec.split(",")
    library, _, name = head.rpartition(":") if ":" in head else ("registry", "", head)
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key != "pretrained" or not value or library != "timm":
            raise DatacentricError(f"architecture '{spec}': the only setting is pretrained= (timm models); got "
                                   f"'{pair}'")
        options[key] = value
    if library not in ("registry", "timm", "torchvision") or not LIBRARY_NAME.match(name):
        raise DatacentricError(f"architecture '{spec}' is not a model name: a registry name (`datacentric models`), "
                               "timm:NAME or torchvision:NAME")
    return library, name, options


def check(spec: str) -> str:
    """`spec` when it names a known architecture, else one error line (configs check this before any work)."""
    library, name, _ = split_spec(spec)
    if library == "registry" and name not in ARCHITECTURES:
        raise DatacentricError(f"unknown architecture '{name}': a registry name ({', '.join(ARCHITECTURES)}), "
                               "timm:NAME or torchvision:NAME")
    if library == "timm" and name not in timm.list_models() and name.split(".")[0] not in timm.list_models():
        raise DatacentricError(f"timm has no model '{name}'")
    if library == "torchvision" and name not in torchvision.models.list_models(torchvision.models):
        raise DatacentricError(f"torchvision has no classification model '{name}'")
    return spec


def build(spec: str, num_classes: int, in_chans: int = 3) -> nn.Module:
    """A fresh network of architecture spec `spec` (module docstring) for `num_classes`, taking [0, 1] images."""
    library, name, options = split_spec(check(spec))
    if library == "registry":
        return create(name, num_classes, in_chans)
    if library == "torchvision":
        model = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
        return Normalised(model, list(IMAGENET_MEAN), list(IMAGENET_STD), channels=3 if in_chans == 1 else None)
    pretrained = options.get("pretrained", "false")
    kwargs = {}
    if pretrained not in ("true", "false"):  # a weights file on disk
        if not Path(pretrained).is_file():
            raise DatacentricError(f"architecture '{spec}': pretrained weights {pretrained} do not exist")
        kwargs["pretrained_cfg_overlay"] = {"file": str(Path(pretrained).resolve())}
    try:
        model = timm.create_model(name, pretrained=pretrained != "false", num_classes=num_classes, in_chans=in_chans,
                                  **kwargs)
    except (OSError, RuntimeError, ValueError) as error:  # no cached weights offline, or weights of another shape
        raise DatacentricError(f"architecture '{spec}': {str(error).splitlines()[0]}") from None
    config = model.pretrained_cfg or {}
    mean, std = config.get("mean", IMAGENET_MEAN), config.get("std", IMAGENET_STD)
    if in_chans != len(mean):
        mean, std = [sum(mean) / len(mean)] * in_chans, [sum(std) / len(std)] * in_chans
    return Normalised(model, list(mean), list(std))


def folder_name(spec: str) -> str:
    """A spec as a folder name (no ':' or ','): `timm:resnet18` → `timm-resnet18`."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", spec.replace(",pretrained=", "-pretrained-"))[:80]
