"""The `attack` and `corrupt` commands' stages: one generator (`transfer_attack`, `corruption`) over a part store."""

from __future__ import annotations

from pathlib import Path

import torch

from datacentric.attacks.engine import AttackConfig
from datacentric.data.store import PART_SHARD_SIZE, Store
from datacentric.parts.corrupt import CorruptionSettings
from datacentric.parts.registry import PartContext
from datacentric.parts.transform import transform_with_workers


def attack(input_store: Path, out_dir: Path, surrogates: Path, config: AttackConfig, *, seed: int,
           device: torch.device, shard_size: int = PART_SHARD_SIZE, shard_index: int | None = None,
           num_shards: int | None = None, holdout: Path | None = None, overwrite: bool = False,
           progress: bool = True, workers: int = 1) -> Store | None:
    """The `transfer_attack` generator over this process's shards (or `workers` local processes); the
    store if complete, else None."""
    context = PartContext(seed=seed, device=device, surrogates=Path(surrogates), holdout=holdout)
    return transform_with_workers(workers, input_store=Path(input_store), out_dir=Path(out_dir),
                                  generator="transfer_attack", settings=config, context=context, shard_size=shard_size,
                                  shard_index=shard_index, num_shards=num_shards, overwrite=overwrite,
                                  progress=progress)


def corrupt(input_store: Path, out_dir: Path, suite: str, *, seed: int, workers: int,
            shard_size: int = PART_SHARD_SIZE, overwrite: bool = False, progress: bool = True) -> Store | None:
    """Corrupt every sample of `input_store` with one corruption of the training suite (a built-in suite's
    name or a .toml path) each."""
    return transform_with_workers(workers, input_store=Path(input_store), out_dir=Path(out_dir),
                                  generator="corruption", settings=CorruptionSettings(suite),
                                  context=PartContext(seed=seed), shard_size=shard_size, overwrite=overwrite,
                                  progress=progress)
