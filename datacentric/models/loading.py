"""One loader for every model file a user names: a datacentric model file, or an external checkpoint spec.

A model spec for a trained model is a file path, with optional settings for files this package did not
write (models/external.py): `PATH[,arch=NAME][,mean=R/G/B][,std=R/G/B][,prefix=P]`. Formats: a datacentric
model file (`save_model`), a timm checkpoint, a torchvision state dict, a RobustBench-style file, or a
`.safetensors` file. Nothing is unpickled beyond tensors: a file that would run code is refused.

Example:
    >>> model = load_any("runs/cifar10/models/enhanced/cifar_resnet8-s0/model.pt")
    >>> model = load_any("resnet18_cifar.pt,arch=torchvision:resnet18,mean=0.4914/0.4822/0.4465,std=0.247/0.243/0.261")
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from datacentric.core.errors import DatacentricError
from datacentric.core.io import sha256_file
from datacentric.models.external import load_external, parse_spec
from datacentric.models.saved import NotAModelFile, load_model


def load_any(spec: str | Path, device: torch.device | str = "cpu") -> nn.Module:
    """The model of a file spec (module docstring), in eval mode on `device`, taking [0, 1] images."""
    spec = str(spec)
    path, options = parse_spec(spec)
    if not path.is_file():
        raise DatacentricError(f"model {path} does not exist")
    if not options and path.suffix != ".safetensors":
        try:
            return load_model(path, device)[0]
        except NotAModelFile:
            pass  # a checkpoint from elsewhere
    return load_external(spec, device)


def describe(spec: str | Path) -> dict:
    """What a result records about a model named by a file spec: the spec and the file's sha256."""
    path, _ = parse_spec(str(spec))
    if not path.is_file():
        raise DatacentricError(f"model {path} does not exist")
    return {"spec": str(spec), "sha256": sha256_file(path)}
