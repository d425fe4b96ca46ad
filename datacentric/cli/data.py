"""Data commands: prepare, split, inspect, export."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from datacentric.cli import app, at_least
from datacentric.core import paths
from datacentric.core.errors import DatacentricError
from datacentric.core.paths import checked_name
from datacentric.data import inspect as inspect_core
from datacentric.data.export import EXPORTERS
from datacentric.data.split import SplitSettings, parse_ratio
from datacentric.data.stages import PrepareSettings, dataset_name, write_reserve
from datacentric.data.stages import prepare as prepare_stage
from datacentric.data.stages import split as split_stage
from datacentric.data.store import DEFAULT_SHARD_SIZE, Store


@app.command()
def prepare(
    dataset: str = typer.Argument(..., metavar="DATASET", help="cifar10, cifar100, hf:NAME, or a path: an ImageFolder tree (train/ and "
                                  "test/ class folders, or class folders only) or its .tar.gz, an .npz, a folder "
                                  "with data.npy + label.npy, or a Hugging Face dataset (save_to_disk or Parquet)"),
    source: Optional[Path] = typer.Option(None, help="Read the data from this local path instead [default: the "
                                          "download folder, then the network]."),
    no_download: bool = typer.Option(False, "--no-download", show_default="off", help="Never touch the network."),
    image_size: int = typer.Option(PrepareSettings.image_size, help="Resize every image to S×S pixels (shorter "
                                   "side, then centre crop); 0 keeps the source's size."),
    test_fraction: float = typer.Option(PrepareSettings.test_fraction, help="Share of each class held out as the "
                                        "test split when the source has none."),
    split_seed: int = typer.Option(PrepareSettings.split_seed, callback=at_least(0),
                                   help="Seed of that held-out test split."),
    out: Optional[Path] = typer.Option(None, help="Output directory [default: data/prepared/<name>]."),
    shard_size: Optional[int] = typer.Option(None, callback=at_least(1), help="Samples per shard [default: "
                                              f"{DEFAULT_SHARD_SIZE}, fewer for images over 64 px (64 MiB a shard)]."),
    overwrite: bool = typer.Option(False, show_default="off", help="Re-prepare even if the stores exist."),
) -> None:
    """Load a dataset and write its train and test splits as source stores, one shard at a time."""
    try:
        settings = PrepareSettings(image_size=image_size, test_fraction=test_fraction, split_seed=split_seed)
    except ValueError as error:
        raise DatacentricError(str(error)) from None
    out = out or paths.prepared_dir(dataset_name(dataset, settings.image_size or None))
    stores = prepare_stage(dataset, out, paths.raw_dir(), source=source, download=not no_download,
                           settings=settings, shard_size=shard_size, overwrite=overwrite)
    for split, store in stores.items():
        typer.echo(f"{split}: {len(store)} samples, {store.num_classes} classes → {store.root}")


@app.command()
def split(
    ratio: str = typer.Option(SplitSettings.ratio, help="clean:adversarial:corrupted, any non-negative numbers "
                              "(paper 004: 0:1:4)."),
    seed: int = typer.Option(0, callback=at_least(0), help="Seed of the random split."),
    dataset: str = typer.Option("cifar10", help="A prepared dataset's name."),
    stratify: bool = typer.Option(SplitSettings.stratify, help="Keep class proportions in every part."),
    limit: Optional[int] = typer.Option(None, help="Split a random subset of this many training samples [default: "
                                        "all of them]."),
    parts: str = typer.Option("clean,adversarial,corrupted", help="Names of the parts, comma-separated."),
    reserve: int = typer.Option(0, callback=at_least(0), help="Hold this many training images out of the parts "
                                "(the same ones for every seed) and write them to <out>/reserve: the independent "
                                "attacker's training set."),
    out: Optional[Path] = typer.Option(None, help="Output directory [default: data/splits/<dataset>]."),
    shard_size: Optional[int] = typer.Option(None, callback=at_least(1), help="Samples per shard [default: "
                                              f"{DEFAULT_SHARD_SIZE}, fewer for images over 64 px (64 MiB a shard)]."),
    overwrite: bool = typer.Option(False, show_default="off", help="Replace a split made with another config."),
) -> None:
    """Split the prepared training set by a ratio into part stores and a plan (the test split is never used)."""
    part_names = tuple(checked_name(p.strip(), "part name") for p in parts.split(","))
    out = out or paths.split_dir(dataset)
    train = paths.prepared_dir(dataset) / "train"
    if not train.exists():
        raise DatacentricError(f"dataset {dataset} is not prepared: run `datacentric prepare {dataset}` first")
    plan = split_stage(train, out, parse_ratio(ratio, len(part_names)), seed=seed,
                       stratify=stratify, limit=limit, parts=part_names, shard_size=shard_size, reserve=reserve,
                       overwrite=overwrite)
    if reserve:
        write_reserve(train, out / "reserve", reserve, shard_size=shard_size)
    typer.echo(" / ".join(f"{name} {count}" for name, count in plan["counts"].items())
               + (f" / reserve {reserve}" if reserve else "") + f" → {out}")


@app.command()
def inspect(
    store: Path = typer.Option(..., help="A store directory."),
    out: Optional[Path] = typer.Option(None, help="Also write a labelled grid of samples to this PNG [default: "
                                       "none]."),
    as_json: bool = typer.Option(False, "--json", show_default="off", help="Print the summary as JSON."),
) -> None:
    """Counts per kind, class and corruption, and a summary of the perturbation norms."""
    opened = Store(store)
    samples = opened.load()
    summary = inspect_core.summarize(opened, samples)
    typer.echo(json.dumps(summary, indent=1) if as_json else inspect_core.format_summary(summary))
    if out:
        inspect_core.preview(opened, samples, out)
        typer.echo(f"preview → {out}")


ExportFormat = Enum("ExportFormat", {name: name for name in EXPORTERS}, type=str)  # the formats, declared once


@app.command()
def export(
    store: Path = typer.Option(..., help="A store directory."),
    out: Path = typer.Option(..., help="Output directory."),
    format: ExportFormat = typer.Option("competition", help="competition: data.npy + label.npy; imagefolder: PNGs by "
                                        "class; npz: data.npz (image, label); hf: a Hugging Face dataset "
                                        "(save_to_disk); parquet: the same as Parquet files."),
    overwrite: bool = typer.Option(False, show_default="off", help="Replace an existing output directory."),
) -> None:
    """Export a store: a competition submission, an ImageFolder tree, an .npz, or a Hugging Face dataset."""
    count = EXPORTERS[format.value](Store(store), out, overwrite=overwrite)
    typer.echo(f"exported {count} samples ({format.value}) → {out}")
