"""The corrupt stage's I/O: a part store in, a store of corrupted samples out (the `corruption` generator)."""

from __future__ import annotations

from pathlib import Path

from datacentric.corruptions.suites import Suite
from datacentric.data.store import Store
from datacentric.parts.registry import PartContext
from datacentric.parts.transform import transform_with_workers

DEFAULT_SHARD_SIZE = 2000


def corrupt(input_store: Path, out_dir: Path, suite: Suite | str, *, seed: int, workers: int,
            shard_size: int = DEFAULT_SHARD_SIZE, overwrite: bool = False, progress: bool = True) -> Store:
    """Corrupt every sample of `input_store` with one corruption of the training suite (a built-in suite,
    or its name or .toml path) each."""
    from datacentric.parts.corrupt import CorruptionSettings

    return transform_with_workers(workers, input_store=Path(input_store), out_dir=Path(out_dir),
                                  generator="corruption", settings=CorruptionSettings(suite if isinstance(suite, str) else suite.name),
                                  context=PartContext(seed=seed), shard_size=shard_size, overwrite=overwrite,
                                  progress=progress)
