"""The data stages' I/O: `prepare` (source → train/test stores) and `split` (train store → part stores)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datacentric.core.errors import DatacentricError
from datacentric.core.io import write_json_atomic
from datacentric.core.paths import checked_name, portable
from datacentric.core.progress import bar
from datacentric.data.samples import Samples
from datacentric.data.source import DEFAULT_TEST_FRACTION, RESIZE_METHOD, SourceSplit, fit, planned_shape
from datacentric.data.sources import load_dataset, source_digest
from datacentric.data.split import DEFAULT_PARTS, reserved_positions, split_indices
from datacentric.data.store import Store, StoreInfo, shard_plan, shard_size_for, write_store_from


def dataset_name(dataset: str, image_size: int | None = None) -> str:
    """The name a dataset's outputs go under: cifar10 stays cifar10, /x/mnist.npz and ../../mnist.npz become
    mnist, hf:user/name becomes name (always a plain name inside the data directory); a resized copy is
    <name>-<S>px, so the sizes of one dataset live side by side."""
    name = Path(dataset.removeprefix("hf:").rstrip("/")).name
    if name in ("data.npy",):  # a data.npy + label.npy pair is named after its folder
        name = Path(dataset.rstrip("/")).parent.name
    for suffix in (".tar.gz", ".tgz", ".tar", ".npz", ".parquet"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return checked_name(f"{name}-{image_size}px" if image_size else name, "dataset name")


@dataclass(frozen=True)
class PrepareSettings:
    """How a source becomes stores, besides the source itself ([prepare] in a pipeline)."""

    image_size: int = 0  # 0: keep the source's size (all images must share it); S: resize to S×S (RESIZE_METHOD)
    test_fraction: float = DEFAULT_TEST_FRACTION  # held out per class when the source has no test split
    split_seed: int = 0  # seed of that held-out test split (fixed: the test set must not move with the run's seed)

    def __post_init__(self):
        if not (self.image_size == 0 or 8 <= self.image_size <= 1024):
            raise ValueError(f"image_size must be 0 (keep) or 8–1024 pixels, got {self.image_size}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must be in (0, 1), got {self.test_fraction}")


def _prepared(out_dir: Path) -> dict[str, Store]:
    """The complete train and test stores under `out_dir`, or {} when either is missing or incomplete."""
    try:
        return {split: Store(out_dir / split) for split in ("train", "test")}
    except DatacentricError:
        return {}


def _same_preparation(existing: dict[str, Store], digest: str | None, size: int | None,
                      settings: PrepareSettings) -> bool:
    """Were these stores prepared from the same content (unknown where torchvision downloads), size and
    held-out split?"""
    for store in existing.values():
        config = store.manifest["config"]
        held = config.get("held_out")
        if (digest is not None and config.get("source_sha256") != digest) or config.get("image_size") != size or \
                (held and (held.get("test_fraction"), held.get("seed")) != (settings.test_fraction, settings.split_seed)):
            return False
    return True


def _write_split(out: Path, info: StoreInfo, split: SourceSplit, size: int | None, channels: int, where: str, *,
                 shard_size: int, progress: bool) -> Store:
    """One split, shard by shard: only one shard's images are ever decoded at a time."""
    store = Store.create(out, info, overwrite=True)
    plan = shard_plan(len(split), shard_size)
    with bar(total=len(split), desc=f"prepare {out.name}", enabled=progress) as progress_bar:
        for shard_id, positions in enumerate(plan):
            images = fit(split.read(positions), size, channels, where)
            store.write_shard(shard_id, Samples.clean(images, split.labels[positions], positions))
            progress_bar.update(len(positions))
    store.finish(len(plan))
    return store


def prepare(dataset: str, out_dir: Path, raw_dir: Path, *, source: Path | None = None, download: bool = True,
            settings: PrepareSettings = PrepareSettings(), shard_size: int | None = None,
            overwrite: bool = False, replace_stale: bool = False, progress: bool = True) -> dict[str, Store]:
    """Write the dataset's train and test splits as clean source stores under `out_dir`, one shard at a time.

    Stores prepared before are reused when they were made from the same content (`source_digest`), size and
    held-out split, and every shard still matches its checksum; stores of other content are refused unless
    `overwrite` or `replace_stale` (a pipeline's own cache: prepared again), and a damaged shard is made again.
    `shard_size` None: `shard_size_for` the images' size."""
    name = dataset_name(dataset, settings.image_size or None)
    digest = source_digest(dataset, raw_dir, source=source)
    size = settings.image_size or None
    existing = _prepared(out_dir)
    if existing and not overwrite:
        if _same_preparation(existing, digest, size, settings):
            if all(all(store.has_shard(i) for i in range(store.manifest["num_shards"])) for store in existing.values()):
                return existing  # already prepared from this content: re-running is free
        elif not replace_stale:
            raise DatacentricError(f"{out_dir} was prepared from other data than {source or dataset} (another "
                                   "content checksum, size or held-out split); pass --overwrite to prepare it again")
    data = load_dataset(dataset, raw_dir, source=source, download=download, test_fraction=settings.test_fraction,
                        seed=settings.split_seed)
    where = str(source or dataset)
    planned = planned_shape(data, size, where)  # mixed sizes are refused before anything is written
    channels = planned[2] if planned else None
    stores = {}
    try:
        for split in ("train", "test"):
            part = getattr(data, split)
            if not len(part):
                raise DatacentricError(f"{where} holds no {split} images")
            if channels is None or planned is None:  # a source that cannot tell shapes up front: the first image
                first = part.read(np.arange(1))[0].shape
                channels, planned = channels or first[2], planned or (size or first[0], size or first[1], first[2])
            shard_size = shard_size or shard_size_for((*planned[:2], channels))
            config = {"source": data.description, "split": split, "shard_size": shard_size}
            if digest is not None:
                config["source_sha256"] = digest  # the content, not the name: other data never reuses these stores
            if size:
                config.update(image_size=size, resize=RESIZE_METHOD)
            if data.held_out:
                config["held_out"] = data.held_out
            info = StoreInfo(name, "prepare", tuple(data.class_names), config, seed=0)
            stores[split] = _write_split(out_dir / split, info, part, size, channels, where, shard_size=shard_size,
                                         progress=progress)
    except DatacentricError:
        for split in ("train", "test"):  # a failed prepare leaves no half-written store behind
            if (out_dir / split / "manifest.json").is_file():
                shutil.rmtree(out_dir / split)
        raise
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
          limit: int | None = None, parts: tuple[str, ...] = DEFAULT_PARTS, shard_size: int | None = None,
          reserve: int = 0, overwrite: bool = False, progress: bool = True) -> dict:
    """Write `plan.json` and one store per part (the part's source images, kind 'clean') under `out_dir`;
    the parts avoid the `reserve` images held out for the independent attacker (`write_reserve`)."""
    source = Store(train_store)
    if source.manifest["stage"] != "prepare" or source.manifest["config"].get("split") != "train":
        raise DatacentricError(f"{train_store} is not a prepared training split; the test split is never split")
    shard_size = shard_size or shard_size_for(source.image_shape)
    config = split_config(source, ratio, parts=parts, stratify=stratify, limit=limit, shard_size=shard_size,
                          reserve=reserve)
    plan_path = out_dir / "plan.json"
    if split_is_stale(out_dir, config, seed) and not overwrite:
        raise DatacentricError(f"{out_dir} holds a split made with another config; delete that folder to remake "
                               "it (`datacentric split` also takes --overwrite)")
    labels, source_index = source.column("labels"), source.column("source_index")  # no image read yet
    indices = split_indices(labels, ratio, seed=seed, stratify=stratify, limit=limit, parts=parts, reserve=reserve)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in parts:
        positions = indices[name]
        info = StoreInfo(source.manifest["dataset"], "split", tuple(source.class_names), dict(config, part=name), seed)
        write_store_from(out_dir / name, info, len(positions), lambda rows, p=positions: source.read(p[rows]),
                         shard_size=shard_size, overwrite=overwrite, progress=progress)
    plan = {
        "dataset": source.manifest["dataset"],
        "seed": seed,
        "config": config,
        "counts": {name: int(len(indices[name])) for name in parts},
        "indices": {name: source_index[indices[name]].tolist() for name in parts},
    }
    write_json_atomic(plan_path, plan)
    return plan


def write_reserve(train_store: Path, out_dir: Path, count: int, *, shard_size: int | None = None) -> Store:
    """The images held out of every subset (`reserved_positions`: the same for every seed), as one store:
    the independent attacker's training set. Its hash depends on the source and count only."""
    source = Store(train_store)
    shard_size = shard_size or shard_size_for(source.image_shape)
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
    positions = reserved_positions(source.column("labels"), count)
    return write_store_from(out_dir, info, len(positions), lambda rows: source.read(positions[rows]),
                            shard_size=shard_size, overwrite=True, progress=False)
