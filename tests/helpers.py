"""Helpers the tests share: a trained-zoo folder from in-memory models, a copy of the prepared data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from datacentric.models import create
from datacentric.models.saved import save_model, write_zoo_index
from datacentric.training.trainer import train


def write_zoo_dir(folder, models: dict, store=None) -> None:
    """A trained-zoo folder as `train` writes it, from in-memory models named `<arch>-s<seed>`; `store`:
    the training store it records."""
    members = []
    for name, model in models.items():
        arch, seed = name.split("-s")
        save_model(folder / name / "model.pt", model, arch=arch, num_classes=10, in_chans=3, meta={})
        (folder / name / "identity.json").write_text('{"arch": "%s", "test": true}' % arch)
        members.append({"name": name, "arch": arch, "seed": int(seed), "weight": 1.0})
    write_zoo_index(folder, store=store or folder, recipe={}, members=members)


def copy_prepared(prepared: Path, target: Path) -> Path:
    """A data directory at `target` holding a copy of the session's prepared CIFAR-10 (the `prepared` fixture)."""
    shutil.copytree(prepared / "prepared", target / "prepared")
    return target


def train_whole_and_resumed(folder: Path, arch: str, images, labels, config) -> tuple:
    """Train `arch` from seed 1 twice with checkpoints under `folder`: once whole (`a/`), once killed after its first
    epoch and resumed (`b/`). Returns both models; a test compares their weights and reads the metrics files."""
    def run(out: Path, evaluate=None, resume: bool = False):
        out.mkdir(exist_ok=True)
        torch.manual_seed(1)
        return train(create(arch, 10), images, labels, config, device=torch.device("cpu"), checkpoint=out / "ckpt.pt",
                     metrics=out / "metrics.jsonl", evaluate=evaluate, resume=resume, progress=False)

    def kill_after_first_epoch(model):
        raise KeyboardInterrupt

    whole = run(folder / "a")
    with pytest.raises(KeyboardInterrupt):
        run(folder / "b", evaluate=kill_after_first_epoch)
    return whole, run(folder / "b", resume=True)


def assert_same_weights(a, b) -> None:
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert x.dtype == y.dtype and bool((x == y).all()), name
