"""The trainer's typed configs: `TrainConfig` (a recipe of pipelines/recipes.toml) and zoo members
(pipelines/zoos.toml); every default appears here once."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import from_dict, pipelines_dir, read_toml
from datacentric.models import architectures
from datacentric.models.predict import TTA
from datacentric.training.methods import create_method


@dataclass(frozen=True)
class TrainConfig:
    """The trainer's hyperparameters (units in comments)."""

    epochs: int = 8
    batch_size: int = 128  # images per optimiser step
    lr: float = 0.05  # peak learning rate
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4  # L2 penalty on all weights
    decoupled_weight_decay: bool = False  # weight_decay is then the fraction of each weight removed per step at
    #                                       the peak lr (scaled by the schedule, not by lr): lr and decay tune apart
    norm_bias_lr_scale: float = 1.0  # BatchNorm biases learn at lr × this (fast training: 64)
    schedule: str = "cosine"  # after the warm-up: "cosine" or "linear" (per step, to 0), or "constant"
    warmup_epochs: float = 0.5  # linear warm-up from 0, in epochs
    label_smoothing: float = 0.0  # mass spread uniformly over the classes
    soft_labels: bool = False  # train on the store's soft labels with KL (one-hot when it has none)
    crop_padding: int = 4  # pixels of padding for the random crop (a translation of up to ± this); 0 disables it
    pad_mode: str = "zeros"  # what the crop's padding holds: "zeros" or "reflect" (the image mirrored)
    flip: bool = True  # random horizontal flip
    alternating_flip: bool = False  # each image flipped in every other epoch (random in the first), not by a coin
    whiten_images: int = 0  # training images whose 2×2 patches set a whitening stem's filters (models/airnet.py);
    #                         0: none (models without such a stem ignore it; the metrics record `whitened`)
    lookahead_steps: int = 0  # every this many steps, slow weights move toward the fast ones and replace them
    #                           (Lookahead); 0: off. The trained model is the slow weights
    lookahead_decay: float = 0.95  # per step: the slow weights keep decay**steps × (progress)³ of themselves
    seed: int = 0  # weight init, shuffling and augmentation
    eval_batch_size: int = 512  # images per forward pass when evaluating
    tta: str = "none"  # test-time augmentation of the clean accuracy the trainer reports (models/predict.py TTA);
    #                    never used by attacks
    bf16: bool = True  # bf16 autocast where the device computes bf16 natively (device.native_bf16)
    channels_last: bool = True  # memory format for conv speed
    method: str = "standard"  # a training method of training/methods.py (`datacentric methods` lists them)
    method_settings: dict = field(default_factory=dict)  # that method's settings (its defaults are the paper's)

    def __post_init__(self):
        if not (self.epochs >= 1 and self.batch_size >= 2 and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError("epochs ≥ 1, batch_size ≥ 2 and a finite lr > 0 are required")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0 and 0 <= self.label_smoothing < 1):
            raise ValueError("weight_decay ≥ 0 and label_smoothing in [0, 1) are required")
        try:
            create_method(self.method, self.method_settings, num_classes=2)
        except DatacentricError as error:
            raise ValueError(str(error)) from None
        if self.schedule not in ("cosine", "linear", "constant"):
            raise ValueError(f"schedule must be 'cosine', 'linear' or 'constant', got '{self.schedule}'")
        if self.tta not in TTA:
            raise ValueError(f"tta must be one of {', '.join(TTA)}, got '{self.tta}'")
        if self.pad_mode not in ("zeros", "reflect"):
            raise ValueError(f"pad_mode must be 'zeros' or 'reflect', got '{self.pad_mode}'")
        if not (self.norm_bias_lr_scale > 0 and self.whiten_images >= 0 and self.lookahead_steps >= 0
                and 0 <= self.lookahead_decay <= 1 and self.crop_padding >= 0):
            raise ValueError("norm_bias_lr_scale > 0, whiten_images ≥ 0, lookahead_steps ≥ 0, crop_padding ≥ 0 "
                             "and lookahead_decay in [0, 1] are required")


def load_recipe(name: str, **overrides: Any) -> TrainConfig:
    """A named recipe from pipelines/recipes.toml, with overrides (None values ignored)."""
    recipes = read_toml(pipelines_dir() / "recipes.toml")
    table, seen = {}, []
    while name is not None:  # a recipe's `base` names the recipe it starts from
        if name not in recipes:
            raise DatacentricError(f"unknown training recipe '{name}'; known: {', '.join(recipes)}")
        if name in seen:
            raise DatacentricError(f"recipes {seen} name each other as base")
        seen.append(name)
        entry = dict(recipes[name])
        name = entry.pop("base", None)
        table = dict(entry, **table)
    table = dict(table, **{k: v for k, v in overrides.items() if v is not None})
    name = seen[0]
    return from_dict(TrainConfig, table, f"recipe '{name}'")


CHECKPOINT_SUFFIXES = (".pt", ".pth", ".tar", ".safetensors", ".bin", ".ckpt")


@dataclass(frozen=True)
class ZooMember:
    arch: str
    seed: int = 0
    weight: float = 1.0  # its weight in an attack ensemble
    overrides: dict = field(default_factory=dict)  # recipe keys this member changes (e.g. lr)
    checkpoint: str = ""  # a model file spec (models/loading.py): this member is that model, used as it is

    @property
    def name(self) -> str:
        if self.checkpoint:
            return "checkpoint-" + architectures.folder_name(Path(self.checkpoint.split(",")[0]).stem)
        return f"{architectures.folder_name(self.arch)}-s{self.seed}"


def zoo_names() -> list[str]:
    """The named zoos of pipelines/zoos.toml."""
    return list(read_toml(pipelines_dir() / "zoos.toml"))


def load_zoo(zoo: str | list | tuple) -> list[ZooMember]:
    """A zoo's members: a named zoo of pipelines/zoos.toml, or one declared inline as a list whose entries are
    architecture specs (`"timm:resnet18"`) or tables like zoos.toml's (`{ arch = "cifar_resnet8", seed = 1 }`)."""
    if isinstance(zoo, str):
        zoos = read_toml(pipelines_dir() / "zoos.toml")
        if zoo not in zoos:
            raise DatacentricError(f"unknown zoo '{zoo}'; known: {', '.join(zoos)} (or a list of architectures)")
        name, entries = zoo, zoos[zoo].get("members", [])
    elif isinstance(zoo, (list, tuple)):
        name, entries = "inline", [({"checkpoint": e} if e.split(",")[0].endswith(CHECKPOINT_SUFFIXES) else {"arch": e})
                                   if isinstance(e, str) else e for e in zoo]
    else:
        raise DatacentricError(f"a zoo is a name of pipelines/zoos.toml or a list of architectures, got {zoo!r}")
    members = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise DatacentricError(f"zoo '{name}': a member is an architecture or a table, got {entry!r}")
        entry = dict(entry)
        checkpoint = entry.pop("checkpoint", "")
        if checkpoint:  # a trained model from elsewhere, used as it is: nothing else applies to it
            if set(entry) - {"weight"} or not isinstance(checkpoint, str):
                raise DatacentricError(f"zoo '{name}': a checkpoint member takes only `weight` beside it, got "
                                       f"{sorted(entry)}")
            if not Path(checkpoint.split(",")[0]).is_file():
                raise DatacentricError(f"zoo '{name}': checkpoint {checkpoint.split(',')[0]} does not exist")
            members.append(ZooMember(f"checkpoint:{Path(checkpoint.split(',')[0]).name}", 0,
                                     float(entry.get("weight", 1.0)), {}, checkpoint))
            continue
        arch = entry.pop("arch", None)
        try:
            architectures.check(arch)
        except DatacentricError as error:
            raise DatacentricError(f"zoo '{name}': {error}") from None
        seed, weight = entry.pop("seed", 0), entry.pop("weight", 1.0)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0 or not isinstance(weight, (int, float)) \
                or isinstance(weight, bool) or not weight > 0:
            raise DatacentricError(f"zoo '{name}', member {arch}: seed is an integer ≥ 0 and weight a number > 0")
        seed, weight = int(seed), float(weight)
        bad = set(entry) - {f.name for f in dataclasses.fields(TrainConfig)}
        if bad:
            raise DatacentricError(f"zoo '{name}', member {arch}: unknown keys {sorted(bad)}")
        members.append(ZooMember(arch, seed, weight, entry))
    if not members:
        raise DatacentricError(f"zoo '{name}' has no members")
    if len({m.name for m in members}) != len(members):
        raise DatacentricError(f"zoo '{name}' lists the same architecture and seed twice")
    return members
