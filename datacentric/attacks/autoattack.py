"""AutoAttack (Croce & Hein, ICML 2020), standard version, through the `pyautoattack` package (the optional
extra `pip install 'datacentric[autoattack]'`): the field's white-box protocol, RobustBench's number.

The standard version runs APGD-CE, APGD-T (9 target classes), FAB-T and Square (5,000 queries) in turn, each
on the images every earlier attack left correctly classified, and reports the worst case per image.

Example:
    >>> accuracy = autoattack_accuracy(model, images_uint8, labels, eps=8 / 255, seed=0, device="cpu")
"""

from __future__ import annotations

import importlib.util
import logging

import numpy as np
import torch
from torch import nn

from datacentric.core.errors import DatacentricError
from datacentric.data.tensors import to_float
from datacentric.models.predict import eval_mode

INSTALL = "pip install 'datacentric[autoattack]' (the pyautoattack package)"


def require_autoattack() -> None:
    """One error line, before any work, when the optional package is missing."""
    if importlib.util.find_spec("pyautoattack") is None:
        raise DatacentricError(f"AutoAttack needs the autoattack extra: {INSTALL}")


def autoattack_accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray, *, eps: float = 8 / 255,
                        seed: int = 0, device: torch.device | str = "cpu", batch_size: int = 250) -> dict:
    """Robust accuracy in percent under AutoAttack (standard, L∞ `eps`), white-box on `model`, with the
    accuracy after each of its attacks. images: uint8 N×H×W×C; labels: (N,)."""
    require_autoattack()
    from pyautoattack import AutoAttack  # an optional dependency

    logging.getLogger("auto-attack").setLevel(logging.WARNING)  # its per-batch progress lines
    x = to_float(torch.from_numpy(np.ascontiguousarray(images))).contiguous()  # its checks `.view` gradients shaped as x
    y = torch.from_numpy(np.asarray(labels, np.int64))
    with eval_mode(model):
        adversary = AutoAttack(model, norm="Linf", eps=eps, version="standard", seed=seed, device=torch.device(device))
        adversary.verbose = False
        _, predicted = adversary.run_standard_evaluation(x, y, batch_size=batch_size)
    return {"accuracy": float((predicted.cpu() == y).float().mean() * 100), "count": len(y), "eps": eps,
            "version": "standard", "attacks": list(adversary.attacks_to_run)}
