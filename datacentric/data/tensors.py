"""The two layouts of an image batch: uint8 N×H×W×C (stores, parts) ⇄ float N×C×H×W in [0, 1] (models)."""

from __future__ import annotations

import numpy as np
import torch


def to_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 N×H×W×C (an array, or a tensor on any device) → float32 N×C×H×W in [0, 1], on the same device.

    Example:
        >>> to_float(np.zeros((2, 32, 32, 3), np.uint8)).shape
        torch.Size([2, 3, 32, 32])
    """
    return torch.as_tensor(images).permute(0, 3, 1, 2).float().div_(255)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float N×C×H×W in [0, 1] → uint8 N×H×W×C on the CPU, each value rounded to the nearest level (never
    truncated: truncation would bias every perturbation toward zero)."""
    return torch.round(images.clamp(0, 1) * 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
