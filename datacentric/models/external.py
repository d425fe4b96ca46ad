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

from pathlib import Path

import safetensors.torch
import timm
import torch
import torchvision
from torch import nn

import datacentric.models  # noqa: F401  registers the cifar_* models in timm
from datacentric.core.errors import DatacentricError
from datacentric.models.architectures import LIBRARY_NAME, Normalised

PREFIXES = ("module.", "model.")


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


def create_arch(arch: str, num_classes: int) -> nn.Module:
    """A checkpoint's architecture, built offline with no pretrained weights (an architecture named in a file must
    not make anything reach the network): an architecture spec (models/architectures.py), a bare timm name, or
    `torchvision.NAME` (the older form of `torchvision:NAME`). The network takes what its weights were trained on
    (`mean=`/`std=` add a normalisation in front)."""
    if not isinstance(arch, str) or not LIBRARY_NAME.match(arch.split(":", 1)[-1]) or "," in arch:
        raise DatacentricError(f"architecture {arch!r} is not a model name (letters, digits, '_' and '.'; no hub "
                               "paths)")
    if arch.startswith("torchvision.") or arch.startswith("torchvision:"):
        name = arch[len("torchvision."):]
        if name not in torchvision.models.list_models():
            raise DatacentricError(f"torchvision has no model '{name}'")
        return torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    name = arch.removeprefix("timm:")
    if name not in timm.list_models():
        raise DatacentricError(f"unknown architecture '{arch}' (a timm name, cifar_*, or torchvision:NAME)")
    return timm.create_model(name, num_classes=num_classes, pretrained=False)


def read_weights(path: Path) -> dict:
    """A checkpoint's top-level dict, read without running code: safetensors, or torch.load with weights_only
    (a pickle that would call anything but tensor constructors is refused, and its payload never runs)."""
    try:
        if path.suffix == ".safetensors":
            return safetensors.torch.load_file(str(path))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad or unsafe file
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatacentricError(f"cannot load model {path}: {first}") from None


def checkpoint_model(spec: str) -> tuple[nn.Module, dict]:
    """(the model of a spec, on the CPU, taking [0, 1] images; its recipe: what `model_from_recipe` rebuilds it
    from, so a copy saved in a model file reloads without the checkpoint)."""
    path, options = parse_spec(spec)
    saved = read_weights(path)
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
    recipe = {"arch": arch, "mean": _channels(options.get("mean"), spec), "std": _channels(options.get("std"), spec)}
    model = model_from_recipe(recipe, classifier[-1].shape[0], normalised=False)
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as error:  # shapes that differ
        raise DatacentricError(f"{path} does not fit {arch}: {str(error).splitlines()[-1].strip()} (a wrong arch=?)"
                               ) from None
    if missing or unexpected:
        raise DatacentricError(f"{path} does not fit {arch}: missing {sorted(missing)[:3]}, unexpected "
                               f"{sorted(unexpected)[:3]} (a wrong arch=, or another prefix=)")
    if recipe["mean"] is not None or recipe["std"] is not None:
        model = Normalised(model, recipe["mean"] or [0.0], recipe["std"] or [1.0])
    return model, recipe


def model_from_recipe(recipe: dict, num_classes: int, *, normalised: bool = True) -> nn.Module:
    """The network `checkpoint_model` built (untrained): the architecture, and the normalisation in front."""
    model = create_arch(recipe["arch"], num_classes)
    if normalised and (recipe.get("mean") is not None or recipe.get("std") is not None):
        model = Normalised(model, recipe["mean"] or [0.0], recipe["std"] or [1.0])
    return model


def load_external(spec: str, device: torch.device | str = "cpu") -> nn.Module:
    """The model of a spec (module docstring), in eval mode on `device`, taking [0, 1] images."""
    return checkpoint_model(spec)[0].to(device).eval()
