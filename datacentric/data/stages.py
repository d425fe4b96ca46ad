"""The data stages' I/O: `prepare` (source → train/test stores) and `split` (train store → part stores)."""

from __future__ import annotations

import json
from pathlib import Path

from datacentric.core.errors import DatacentricError
from datacentric.core.io import write_json_atomic
from datacentric.core.paths import portable
from datacentric.data.samples import Samples
from datacentric.data.sources import load_dataset
from datacentric.data.split import DEFAULT_PARTS, reserved_positions, split_indices
from datacentric.data.store import DEFAULT_SHARD_SIZE, Store, StoreInfo, write_store


def dataset_name(dataset: str) -> str:
    """The name a dataset's outputs go under: cifar10 stays cifar10, /x/mnist.npz becomes mnist."""
    name = Path(dataset).name
    for suffix in (".tar.gz", ".tgz", ".tar", ".npz"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def prepare(dataset: str, out_dir: Path, raw_dir: Path, *, source: Path | None = None, download: bool = True,
            shard_size: int = DEFAULT_SHARD_SIZE, overwrite: bool = False, progress: bool = True) -> dict[str, Store]:
    """Write the dataset's train and test splits as clean source stores under `out_dir`."""
    name = dataset_name(dataset)
    stores = {}
    if not overwrite:
        try:
            stores = {split: Store(out_dir / split) for split in ("train", "test")}
        except DatacentricError:
            stores = {}
    if stores:
        return stores  # already prepared: re-running is free
    data = load_dataset(dataset, raw_dir, source=source, download=download)
    for split in ("train", "test"):
        images, labels = getattr(data, f"{split}_images"), getattr(data, f"{split}_labels")
        info = StoreInfo(name, "prepare", tuple(data.class_names),
                         {"source": data.description, "split": split, "shard_size": shard_size}, seed=0)
        stores[split] = write_store(out_dir / split, info, Samples.clean(images, labels), shard_size=shard_size,
                                    overwrite=True, progress=progress)
    return stores


def split(train_store: Path, out_dir: Path, ratio: list[float], *, seed: int, stratify: bool = False,
          limit: int | None = None, parts: tuple[str, ...] = DEFAULT_PARTS, shard_size: int = DEFAULT_SHARD_SIZE,
          reserve: int = 0, overwrite: bool = False, progress: bool = True) -> dict:
    """Write `plan.json` and one store per part (the part's source images, kind 'clean') under `out_dir`;
    the parts avoid the `reserve` images held out for the independent attacker (`write_reserve`)."""
    source = Store(train_store)
    if source.manifest["stage"] != "prepare" or source.manifest["config"].get("split") != "train":
        raise DatacentricError(f"{train_store} is not a prepared training split; the test split is never split")
    samples = source.load()
    indices = split_indices(samples.labels, ratio, seed=seed, stratify=stratify, limit=limit, parts=parts,
                            reserve=reserve)
    config = {"source_store": portable(train_store), "source_hash": source.manifest["config_hash"], "ratio": ratio,
              "parts": list(parts), "stratify": stratify, "limit": limit, "shard_size": shard_size}
    if reserve:  # absent when 0, so splits made before the reserve existed keep their hash
        config["reserve"] = reserve
    plan_path = out_dir / "plan.json"
    if plan_path.is_file() and not overwrite:
        previous = json.loads(plan_path.read_text())
        if previous.get("config") != config or previous.get("seed") != seed:
            raise DatacentricError(f"{out_dir} holds a split made with another config; delete that folder to remake "
                                   "it (`datacentric split` also takes --overwrite)")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in parts:
        positions = indices[name]
        part = samples.select(positions)
        info = StoreInfo(source.manifest["dataset"], "split", tuple(source.class_names), dict(config, part=name), seed)
        write_store(out_dir / name, info, part, shard_size=shard_size, overwrite=overwrite, progress=progress)
    plan = {
        "dataset": source.manifest["dataset"],
        "seed": seed,
        "config": config,
        "counts": {name: int(len(indices[name])) for name in parts},
        "indices": {name: samples.source_index[indices[name]].tolist() for name in parts},
    }
    write_json_atomic(plan_path, plan)
    return plan


def write_reserve(train_store: Path, out_dir: Path, count: int, *, shard_size: int = DEFAULT_SHARD_SIZE) -> Store:
    """The images held out of every subset (`reserved_positions`: the same for every seed), as one store:
    the independent attacker's training set. Its hash depends on the source and count only."""
    source = Store(train_store)
    config = {"source_store": portable(train_store), "source_hash": source.manifest["config_hash"],
              "reserve": count, "shard_size": shard_size}
    info = StoreInfo(source.manifest["dataset"], "reserve", tuple(source.class_names), config, seed=0)
    try:
        if Store(out_dir).manifest["config_hash"] == info.config_hash:
            return Store(out_dir)
    except DatacentricError:
        pass
    samples = source.load()
    return write_store(out_dir, info, samples.select(reserved_positions(samples.labels, count)),
                       shard_size=shard_size, overwrite=True, progress=False)
