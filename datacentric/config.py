"""Typed configs loaded from the TOML files in pipelines/; every default appears here once."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacentric.errors import DatacentricError


def pipelines_dir() -> Path:
    """pipelines/ of this checkout (or $DATACENTRIC_PIPELINES)."""
    return Path(os.environ.get("DATACENTRIC_PIPELINES", Path(__file__).resolve().parents[1] / "pipelines"))


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as error:
        raise DatacentricError(f"cannot read {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise DatacentricError(f"{path} is not valid TOML: {error}") from None


def from_dict(cls, data: dict, where: str):
    """Build dataclass `cls` from a table, refusing unknown keys (a typo must not pass silently)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise DatacentricError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(names)}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as error:
        raise DatacentricError(f"{where}: {error}") from None


@dataclass(frozen=True)
class TrainConfig:
    """The trainer's hyperparameters (units in comments)."""

    epochs: int = 8
    batch_size: int = 128  # images per optimiser step
    lr: float = 0.05  # peak learning rate
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4  # L2 penalty on all weights
    schedule: str = "cosine"  # "cosine" (per step, to 0) or "constant"
    warmup_epochs: float = 0.5  # linear warm-up from 0, in epochs
    label_smoothing: float = 0.0  # mass spread uniformly over the classes
    soft_labels: bool = False  # train on the store's soft labels with KL (one-hot when it has none)
    crop_padding: int = 4  # pixels of zero padding for the random crop; 0 disables it
    flip: bool = True  # random horizontal flip
    seed: int = 0  # weight init, shuffling and augmentation
    eval_batch_size: int = 512  # images per forward pass when evaluating
    bf16: bool = True  # bf16 autocast where the device computes bf16 natively (device.native_bf16)
    channels_last: bool = True  # memory format for conv speed

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 2 or self.lr <= 0:
            raise ValueError("epochs ≥ 1, batch_size ≥ 2 and lr > 0 are required")
        if self.schedule not in ("cosine", "constant"):
            raise ValueError(f"schedule must be 'cosine' or 'constant', got '{self.schedule}'")


def load_recipe(name: str, **overrides: Any) -> TrainConfig:
    """A named recipe from pipelines/recipes.toml, with overrides (None values ignored)."""
    recipes = read_toml(pipelines_dir() / "recipes.toml")
    if name not in recipes:
        raise DatacentricError(f"unknown training recipe '{name}'; known: {', '.join(recipes)}")
    table = dict(recipes[name], **{k: v for k, v in overrides.items() if v is not None})
    return from_dict(TrainConfig, table, f"recipe '{name}'")


@dataclass(frozen=True)
class ZooMember:
    arch: str
    seed: int = 0
    weight: float = 1.0  # its weight in an attack ensemble
    overrides: dict = field(default_factory=dict)  # recipe keys this member changes (e.g. lr)

    @property
    def name(self) -> str:
        return f"{self.arch}-s{self.seed}"


def load_zoo(name: str, zoos: dict | None = None) -> list[ZooMember]:
    """A named zoo from `zoos` (a pipeline's own table) or pipelines/zoos.toml."""
    from datacentric.models import ARCHITECTURES

    zoos = zoos if zoos is not None else read_toml(pipelines_dir() / "zoos.toml")
    if name not in zoos:
        raise DatacentricError(f"unknown zoo '{name}'; known: {', '.join(zoos)}")
    members = []
    for entry in zoos[name].get("members", []):
        entry = dict(entry)
        arch = entry.pop("arch", None)
        if arch not in ARCHITECTURES:
            raise DatacentricError(f"zoo '{name}': unknown architecture '{arch}'")
        seed, weight = int(entry.pop("seed", 0)), float(entry.pop("weight", 1.0))
        bad = set(entry) - {f.name for f in dataclasses.fields(TrainConfig)}
        if bad:
            raise DatacentricError(f"zoo '{name}', member {arch}: unknown keys {sorted(bad)}")
        members.append(ZooMember(arch, seed, weight, entry))
    if not members:
        raise DatacentricError(f"zoo '{name}' has no members")
    if len({m.name for m in members}) != len(members):
        raise DatacentricError(f"zoo '{name}' lists the same architecture and seed twice")
    return members
