"""Helpers the tests share: a trained-zoo folder from in-memory models, a copy of the prepared data."""

from __future__ import annotations

import shutil
from pathlib import Path

from datacentric.models.saved import save_model, write_zoo_index


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
