"""Corruption commands: corrupt, preview."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import typer

from datacentric.cli import app, at_least
from datacentric.core import paths
from datacentric.core.errors import DatacentricError
from datacentric.core.parallel import default_workers
from datacentric.corruptions.preview import preview_suite
from datacentric.corruptions.suites import DEFAULT_TRAINING_SUITE, load_suite
from datacentric.data.store import PART_SHARD_SIZE, Store
from datacentric.parts.stages import corrupt as corrupt_stage


@app.command()
def corrupt(
    dataset: str = typer.Option("cifar10", help="A split dataset's name."),
    store: Optional[Path] = typer.Option(None, help="Input store [default: data/splits/<dataset>/corrupted]."),
    out: Optional[Path] = typer.Option(None, help="Output store [default: data/parts/<dataset>/corrupted]."),
    suite: str = typer.Option(DEFAULT_TRAINING_SUITE, help="A training suite's name (`datacentric list suites`), or a "
                              ".toml file defining one."),
    seed: int = typer.Option(0, callback=at_least(0), help="Global seed; each sample's randomness comes from (seed, source index)."),
    workers: int = typer.Option(0, callback=at_least(0), show_default="0: all cores", help="Worker processes."),
    shard_size: int = typer.Option(PART_SHARD_SIZE, callback=at_least(1), help="Samples per shard."),
    overwrite: bool = typer.Option(False, show_default="off", help="Replace a store made with another config."),
) -> None:
    """Replace every sample of the split's corrupted part with one corruption drawn uniformly from the suite."""
    chosen = load_suite(suite)
    if chosen.kind != "training":
        raise DatacentricError(f"suite '{chosen.name}' is an evaluation suite; corrupt takes a training suite")
    source = store or paths.split_dir(dataset) / "corrupted"
    target = out or paths.parts_dir(dataset) / "corrupted"
    made = corrupt_stage(source, target, suite, seed=seed, workers=workers or default_workers(),
                         shard_size=shard_size, overwrite=overwrite)
    typer.echo(f"corrupted {len(made)} samples with suite {chosen.name} → {target}")


@app.command()
def preview(
    out: Path = typer.Option(..., help="PNG to write."),
    suite: str = typer.Option(DEFAULT_TRAINING_SUITE, help="A suite's name (`datacentric list suites`) or a .toml file."),
    store: Optional[Path] = typer.Option(None, help="Images from this store [default: the prepared cifar10 test split]."),
    count: int = typer.Option(8, callback=at_least(1), help="Images per row."),
    seed: int = typer.Option(0, callback=at_least(0), help="Seed of the corruptions' randomness."),
) -> None:
    """One row per corruption (and per severity for evaluation suites) on the same few images."""
    chosen = load_suite(suite)
    opened = Store(store or paths.prepared_dir("cifar10") / "test")
    images = opened.read(np.linspace(0, len(opened) - 1, count).astype(int)).images  # spread over the classes
    preview_suite(chosen, images, out, seed=seed)
    typer.echo(f"preview of {chosen.name} → {out}")
