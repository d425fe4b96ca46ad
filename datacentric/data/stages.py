"""The data stages' I/O: `prepare` (source → train/test stores) and `split` (train store → part stores)."""

from __future__ import annotations

import json
from pathlib import Path

from datacentric.core.errors import DatacentricError
from datacentric.core.io import write_json_atomic
from datacentric.core.paths import checked_name, portable
from datacentric.data.samples import Samples
from datacentric.data.sources import load_dataset, source_digest
from datacentric.data.split import DEFAULT_PARTS, reserved_positions, split_indices
from datacentric.data.store import DEFAULT_SHARD_SIZE, Store, StoreInfo, write_store


def dataset_name(dataset: str) -> str:
    """The name a dataset's outputs go under: cifar10 stays cifar10, /x/mnist.npz and ../../mnist.npz become
    mnist (always a plain name inside the data directory)."""
    name = Path(dataset.rstrip("/")).name
    for suffix in (".tar.gz", ".tgz", ".tar", ".npz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return checked_name(name, "dataset name")


def _prepared(out_dir: Path) -> dict[str, Store]:
    """The complete train and test stores under `out_dir`, or {} when either is missing or incomplete."""
    try:
        return {split: Store(out_dir / split) for split in ("train", "test")}
    except DatacentricError:
        return {}


def prepare(dataset: str, out_dir: Path, raw_dir: Path, *, source: Path | None = None, download: bool = True,
            shard_size: int = DEFAULT_SHARD_SIZE, overwrite: bool = False, replace_stale: bool = False,
            progress: bool = True) -> dict[str, Store]:
    """Write the dataset's train and test splits as clean source stores under `out_dir`.

    Stores prepared before are reused when they were made from the same content (`source_digest`) and every
    shard still matches its checksum; stores of other content are refused unless `overwrite` or
    `replace_stale` (a pipeline's own cache: prepared again), and a damaged shard is made again."""
    name = dataset_name(dataset)
    digest = source_digest(dataset, raw_dir, source=source)
    existing = _prepared(out_dir)
    if existing and not overwrite:
        recorded = {store.manifest["config"].get("source_sha256") for store in existing.values()}
        if recorded == {digest} or digest is None:
            if all(all(store.has_shard(i) for i in range(store.manifest["num_shards"])) for store in existing.values()):
                return existing  # already prepared from this content: re-running is free
        elif not replace_stale:
            raise DatacentricError(f"{out_dir} was prepared from other data than {source or dataset} (another "
                                   "content checksum); pass --overwrite to prepare it again")
    data = load_dataset(dataset, raw_dir, source=source, download=download)
    stores = {}
    for split in ("train", "test"):
        images, labels = getattr(data, f"{split}_images"), getattr(data, f"{split}_labels")
        if not len(images):
            raise DatacentricError(f"{source or dataset} holds no {split} images")
        config = {"source": data.description, "split": split, "shard_size": shard_size}
        if digest is not None:
            config["source_sha256"] = digest  # the content, not the name: other data never reuses these stores
        info = StoreInfo(name, "prepare", tuple(data.class_names), config, seed=0)
        stores[split] = write_store(out_dir / split, info, Samples.clean(images, labels), shard_size=shard_size,
                                    overwrite=True, progress=progress)
    return stores


def split_config(source: Store, ratio: list[float], *, parts: tuple[str, ...], stratify: bool, limit: int | None,
                 shard_size: int, reserve: int) -> dict:
    """Everything that decides a split besides its seed, the prepared store's content hash included."""
    config = {"source_store": portable(source.root), "source_hash": source.manifest["config_hash"], "ratio": ratio,
              "parts": list(parts), "stratify": stratify, "limit": limit, "shard_size": shard_size}
    if reserve:  # absent when 0, so splits made before the reserve existed keep their hash
        config["reserve"] = reserve
    return config


def split_is_stale(out_dir: Path, config: dict, seed: int) -> bool:
    """Does `out_dir` hold a split made with another config or seed (so remaking it changes every subset)?"""
    try:
        previous = json.loads((out_dir / "plan.json").read_text())
    except (OSError, ValueError):
        return False
    return previous.get("config") != config or previous.get("seed") != seed


def split(train_store: Path, out_dir: Path, ratio: list[float], *, seed: int, stratify: bool = False,
          limit: int | None = None, parts: tuple[str, ...] = DEFAULT_PARTS, shard_size: int = DEFAULT_SHARD_SIZE,
          reserve: int = 0, overwrite: bool = False, progress: bool = True) -> dict:
    """Write `plan.json` and one store per part (the part's source images, kind 'clean') under `out_dir`;
    the parts avoid the `reserve` images held out for the independent attacker (`write_reserve`)."""
    source = Store(train_store)
    if source.manifest["stage"] != "prepare" or source.manifest["config"].get("split") != "train":
        raise DatacentricError(f"{train_store} is not a prepared training split; the test split is never split")
    config = split_config(source, ratio, parts=parts, stratify=stratify, limit=limit, shard_size=shard_size,
                          reserve=reserve)
    plan_path = out_dir / "plan.json"
    if split_is_stale(out_dir, config, seed) and not overwrite:
        raise DatacentricError(f"{out_dir} holds a split made with another config; delete that folder to remake "
                               "it (`datacentric split` also takes --overwrite)")
    samples = source.load()
    indices = split_indices(samples.labels, ratio, seed=seed, stratify=stratify, limit=limit, parts=parts,
                            reserve=reserve)
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
        existing = Store(out_dir)
        if existing.manifest["config_hash"] == info.config_hash and \
                all(existing.has_shard(i) for i in range(existing.manifest["num_shards"])):
            return existing  # made before from the same images, every shard intact
    except DatacentricError:
        pass
    samples = source.load()
    return write_store(out_dir, info, samples.select(reserved_positions(samples.labels, count)),
                       shard_size=shard_size, overwrite=True, progress=False)
