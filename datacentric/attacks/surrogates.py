"""Surrogate ensembles: zoos trained on clean training data only, never on test data."""

from __future__ import annotations

from pathlib import Path

import torch

from datacentric.config import TrainConfig, ZooMember
from datacentric.data.store import Store
from datacentric.errors import DatacentricError
from datacentric.training.stage import train_zoo


def require_training_data(store_path: Path) -> None:
    """Refuse any store that is not the prepared training split or a part of its split."""
    manifest = Store(store_path).manifest
    from_train = (manifest["stage"] == "prepare" and manifest["config"].get("split") == "train") or \
        manifest["stage"] == "split"
    if not from_train:
        raise DatacentricError(f"{store_path} is not clean training data; surrogates and held-out models train "
                               "only on the prepared training split (or a part of its split)")


def train_surrogates(train_store: Path, members: list[ZooMember], recipe: TrainConfig, out_dir: Path, *,
                     device: torch.device, resume: bool = False, progress: bool = True) -> Path:
    """Train the zoo on clean training data; the folder then loads as an ensemble (`stage.load_ensemble`)."""
    require_training_data(train_store)
    train_zoo(train_store, members, recipe, out_dir, device=device, resume=resume, progress=progress)
    return out_dir
