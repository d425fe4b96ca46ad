"""Models trained elsewhere, as attackers: timm checkpoints, torchvision state dicts and RobustBench-style files.

A spec is a path with optional comma-separated settings: `PATH[,arch=NAME][,mean=R/G/B][,std=R/G/B][,prefix=P]`.

- **timm checkpoint** (a dict with `arch` and `state_dict`, as timm's training script saves): the
  architecture comes from the file; any `cifar_*` model of this package is a timm model too.
- **torchvision state dict** (a plain dict of tensors): `arch=` names a torchvision model
  (`arch=torchvision.resnet18`), a timm model or one of ours.
- **RobustBench-style** (a dict whose weights sit under `state_dict` or `model_state_dict`, usually
  with a `module.` prefix from DataParallel): `arch=` as above.

Adapter: known key prefixes (`module.`, `model.`, and `prefix=` if given) are stripped; the class count
comes from the last 2-D weight; the model gets [0, 1] images, and `mean=`/`std=` (per channel, in
[0, 1] units) add the normalisation it was trained with in front of it (RobustBench models normalise
inside, so they need none; torchvision-style training usually used the dataset's mean and std).

Example:
    >>> model = load_external("resnet56.pt,arch=cifar_resnet20,mean=0.4914/0.4822/0.4465,std=0.247/0.243/0.261")
"""

from __future__ import annotations

import re
from pathlib import Path

import timm
import torch
import torchvision
from torch import nn

import datacentric.models  # noqa: F401  registers the cifar_* models in timm
from datacentric.core.errors import DatacentricError
from datacentric.core.io import sha256_file

PREFIXES = ("module.", "model.")


class Normalised(nn.Module):
    """(x − mean) / std in front of a model, so it takes [0, 1] images like every model here."""

    def __init__(self, model: nn.Module, mean: list[float], std: list[float]):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.model((images - self.mean) / self.std)


def parse_spec(spec: str) -> tuple[Path, dict[str, str]]:
    path, *pairs = spec.split(",")
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in ("arch", "mean", "std", "prefix") or not value:
            raise DatacentricError(f"evaluation model '{spec}': settings are arch=, mean=, std=, prefix=; got '{pair}'")
        options[key] = value
    return Path(path), options


def _channels(text: str | None, spec: str) -> list[float] | None:
    if text is None:
        return None
    try:
        values = [float(v) for v in text.split("/")]
    except ValueError:
        raise DatacentricError(f"evaluation model '{spec}': mean and std are numbers separated by '/'") from None
    if len(values) not in (1, 3) or any(not v == v for v in values):
        raise DatacentricError(f"evaluation model '{spec}': mean and std take 1 or 3 numbers")
    return values


ARCH_NAME = re.compile(r"^[A-Za-z0-9_.]+$")  # a registry name: never a hub path (hf-hub:…, org/name) or a URL


def create_arch(arch: str, num_classes: int) -> nn.Module:
    """`torchvision.NAME`, a timm model name, or one of ours (`cifar_*`, registered in timm); built offline, with
    no pretrained weights (an architecture named in a file must not make anything reach the network)."""
    if not isinstance(arch, str) or not ARCH_NAME.match(arch):
        raise DatacentricError(f"architecture {arch!r} is not a model name (letters, digits, '_' and '.'; no hub "
                               "paths)")
    if arch.startswith("torchvision."):
        name = arch.split(".", 1)[1]
        if name not in torchvision.models.list_models():
            raise DatacentricError(f"torchvision has no model '{name}'")
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    if arch not in timm.list_models():
        raise DatacentricError(f"unknown architecture '{arch}' (a timm name, cifar_*, or torchvision.NAME)")
    return timm.create_model(arch, num_classes=num_classes, pretrained=False)


def load_external(spec: str, device: torch.device | str = "cpu") -> nn.Module:
    """The model of a spec (module docstring), in eval mode on `device`, taking [0, 1] images."""
    path, options = parse_spec(spec)
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file
        raise DatacentricError(f"cannot load evaluation model {path}: {str(error).splitlines()[0]}") from None
    if not isinstance(saved, dict):
        raise DatacentricError(f"{path} holds no state dict")
    arch = options.get("arch") or (saved.get("arch") if isinstance(saved.get("arch"), str) else None)
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(saved.get(key), dict):
            saved = saved[key]
            break
    state = {k: v for k, v in saved.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise DatacentricError(f"{path} holds no weights")
    for prefix in (*PREFIXES, *([options["prefix"]] if "prefix" in options else [])):
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items()}
    if arch is None:
        raise DatacentricError(f"{path}: name its architecture with ',arch=NAME' (the file does not say)")
    classifier = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    if not classifier:
        raise DatacentricError(f"{path}: no classifier weight found to count the classes")
    model = create_arch(arch, classifier[-1].shape[0])
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shapes that differ
        raise DatacentricError(f"{path} does not fit {arch}: {str(error).splitlines()[-1].strip()} (a wrong arch=?)"
                               ) from None
    if missing or unexpected:
        raise DatacentricError(f"{path} does not fit {arch}: missing {sorted(missing)[:3]}, unexpected "
                               f"{sorted(unexpected)[:3]} (a wrong arch=, or another prefix=)")
    mean, std = _channels(options.get("mean"), spec), _channels(options.get("std"), spec)
    if mean is not None or std is not None:
        model = Normalised(model, mean or [0.0], std or [1.0])
    return model.to(device).eval()


def describe_external(spec: str) -> dict:
    """What a bench records about an external attacker: its spec and its file's sha256."""
    path, _ = parse_spec(spec)
    if not path.is_file():
        raise DatacentricError(f"evaluation model {path} does not exist")
    return {"spec": spec, "sha256": sha256_file(path)}
