"""Device choice: `auto` picks CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from datacentric.errors import DatacentricError


def resolve(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DatacentricError(f"device '{name}' requested but CUDA is not available")
    try:
        return torch.device(name)
    except RuntimeError:
        raise DatacentricError(f"unknown device '{name}': use auto, cpu or cuda[:N]") from None
