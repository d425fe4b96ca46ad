"""Saved models: architecture name, weights and training config in one file, loaded with one call."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from datacentric.data.store import sha256_file
from datacentric.errors import DatacentricError
from datacentric.models.registry import create

MODEL_FORMAT = "datacentric-model/1"


def save_model(path: Path, model: nn.Module, *, arch: str, num_classes: int, in_chans: int, meta: dict) -> None:
    """Write atomically: a temp file in the same directory, then a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save({"format": MODEL_FORMAT, "arch": arch, "num_classes": num_classes, "in_chans": in_chans,
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "meta": meta}, tmp)
    os.replace(tmp, path)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode on `device`, its metadata) from a file written by `save_model`.

    Example:
        >>> model, meta = load_model("data/runs/cifar10/models/enhanced/cifar_resnet8-s0/model.pt")
        >>> logits = model(torch.rand(4, 3, 32, 32))
    """
    identity = Path(path).parent / "identity.json"
    if identity.is_file():  # written by `train`: the weights' checksum catches a damaged file
        recorded = json.loads(identity.read_text()).get("weights_sha256")
        if recorded and Path(path).is_file() and sha256_file(Path(path)) != recorded:
            raise DatacentricError(f"model {path} does not match the checksum in {identity} (damaged or replaced); "
                                   "train it again")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file (pickle, struct, zip, OS errors)
        raise DatacentricError(f"cannot load model {path}: {str(error).splitlines()[0]}") from None
    if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
        raise DatacentricError(f"{path} is not a datacentric model file")
    model = create(saved["arch"], saved["num_classes"], saved["in_chans"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), {k: saved[k] for k in ("arch", "num_classes", "in_chans", "meta")}
