"""The sharded HDF5 store: the only way samples enter or leave a stage (format: docs/FORMAT.md).

A store is a directory holding `manifest.json` and one `shard-NNNNN.h5` per shard. A shard
exists for readers only once the manifest lists it with its sha256: it is written to a
temporary file in the same directory, fsynced, renamed into place, and then recorded, so a
writer killed at any point leaves either a finished shard or nothing that counts.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import h5py
import numpy as np

from datacentric import __version__
from datacentric.core.errors import DatacentricError
from datacentric.core.io import atomic_path, sha256_file, write_json_atomic
from datacentric.core.progress import bar
from datacentric.data.samples import CORRUPTION_WIDTH, KIND_WIDTH, PROVENANCE_DEFAULTS, Samples

DEFAULT_SHARD_SIZE = 5000  # samples per shard of a data store: 10 shards for CIFAR-10's training set
SHARD_BYTES = 64 << 20  # and at most this many image bytes: 5,000 images up to 64 px, 446 at 224 px
PART_SHARD_SIZE = 500  # samples per shard of a part: small, so that workers, ranks and resumes share the work

FORMAT_VERSION = 2  # 2 adds per-sample provenance (partner_index, mix_lambda, target_class, budget)
READABLE_VERSIONS = (1, 2)  # a version-1 shard reads with the provenance defaults
MANIFEST = "manifest.json"
IMAGE_CHUNK = 256  # images per HDF5 chunk: large enough for fast bulk reads, small enough for random access
CHUNK_BYTES = 1 << 20  # and at most this many bytes per chunk (HDF5's default chunk cache size)


def config_hash(stage: str, dataset: str, config: dict, seed: int) -> str:
    """A short stable hash of everything that determines a store's content."""
    canonical = json.dumps(
        {"format_version": FORMAT_VERSION, "stage": stage, "dataset": dataset, "config": config, "seed": seed},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def shard_name(shard_id: int) -> str:
    return f"shard-{shard_id:05d}.h5"


def rows_within(byte_limit: int, most: int, image_shape: tuple[int, ...]) -> int:
    """How many uint8 images of `image_shape` fit in `byte_limit` bytes: between 1 and `most`."""
    return max(1, min(most, byte_limit // max(1, int(np.prod(image_shape)))))


def shard_size_for(image_shape: tuple[int, ...]) -> int:
    """Samples per shard of a data store of images of `image_shape`: DEFAULT_SHARD_SIZE, or fewer where that
    many would pass SHARD_BYTES, so that a stage streaming shard by shard holds tens of MB, not GB, at 224 px."""
    return rows_within(SHARD_BYTES, DEFAULT_SHARD_SIZE, image_shape)


def shard_plan(count: int, shard_size: int) -> list[np.ndarray]:
    """The positions (0..count-1) that each shard holds, in order; the same for every worker."""
    if shard_size <= 0:
        raise DatacentricError(f"shard size must be positive, got {shard_size}")
    return [np.arange(start, min(start + shard_size, count)) for start in range(0, count, shard_size)]


def manifest_problem(manifest) -> str | None:
    """What is wrong with a manifest's fields (an edit, or damage), or None: every field a reader relies on has
    its type, and every shard entry names a shard file of this store with a count and a sha256."""
    if not isinstance(manifest, dict):
        return "not a table"
    expected = {"dataset": str, "stage": str, "class_names": list, "num_classes": int, "config": dict,
                "config_hash": str, "seed": int, "complete": bool, "shards": dict, "extra": dict}
    for key, kind in expected.items():
        if not isinstance(manifest.get(key), kind) or isinstance(manifest.get(key), bool) != (kind is bool):
            return f"{key} is not {kind.__name__}"
    if len(manifest["class_names"]) != manifest["num_classes"]:
        return "class_names and num_classes disagree"
    for key, entry in manifest["shards"].items():
        if not (key.isdigit() and isinstance(entry, dict) and entry.get("file") == shard_name(int(key))
                and isinstance(entry.get("count"), int) and not isinstance(entry.get("count"), bool)
                and entry["count"] >= 0 and isinstance(entry.get("sha256"), str) and len(entry["sha256"]) == 64):
            return f"shard entry {key!r}"
    return None


@dataclass(frozen=True)
class StoreInfo:
    """What a store is and how it was made; every shard repeats it in its HDF5 attributes."""

    dataset: str
    stage: str
    class_names: tuple[str, ...]
    config: dict
    seed: int

    @property
    def config_hash(self) -> str:
        return config_hash(self.stage, self.dataset, self.config, self.seed)


class Store:
    """A store directory. Open an existing one with `Store(path)`, make or resume one with `Store.create`."""

    def __init__(self, root: str | Path, *, require_complete: bool = True):
        self.root = Path(root)
        manifest_path = self.root / MANIFEST
        if not manifest_path.is_file():
            raise DatacentricError(f"{self.root} is not a store (no {MANIFEST})")
        self.manifest = self._read_manifest()
        if self.manifest.get("format_version") not in READABLE_VERSIONS:
            raise DatacentricError(f"{self.root} has store format {self.manifest.get('format_version')}, this version "
                                   f"reads {', '.join(map(str, READABLE_VERSIONS))}")
        if require_complete and not self.manifest.get("complete"):
            raise DatacentricError(f"store {self.root} is incomplete: re-run the stage that writes it to finish it")

    # ---- making and resuming -------------------------------------------------------------

    @classmethod
    def create(cls, root: str | Path, info: StoreInfo, *, overwrite: bool = False, replace_stale: bool = False
               ) -> Store:
        """Start a store, or resume one made with the same config; refuse another config unless `overwrite`
        (always start over) or `replace_stale` (start over only when the config differs: for folders a
        pipeline run owns)."""
        root = Path(root)
        manifest_path = root / MANIFEST
        if manifest_path.is_file():
            existing = cls(root, require_complete=False)
            if existing.manifest.get("config_hash") == info.config_hash and not overwrite:
                existing._remove_stale_temporaries()
                return existing
            if not (overwrite or replace_stale):
                raise DatacentricError(
                    f"{root} holds a store made with another config ({existing.manifest.get('stage')}, "
                    f"hash {existing.manifest.get('config_hash')}); delete that folder to remake it (stage "
                    "commands also take --overwrite)"
                )
            shutil.rmtree(root)
        elif root.exists() and any(root.iterdir()):
            # never delete a folder that is not a store, --overwrite or not: it may hold anything
            raise DatacentricError(f"{root} exists and is not a store; choose another output folder or empty it")
        root.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format_version": FORMAT_VERSION,
            "dataset": info.dataset,
            "stage": info.stage,
            "class_names": list(info.class_names),
            "num_classes": len(info.class_names),
            "config": info.config,
            "config_hash": info.config_hash,
            "seed": info.seed,
            "package_version": __version__,
            "complete": False,
            "num_shards": None,
            "shards": {},
            "extra": {},
        }
        write_json_atomic(manifest_path, manifest)
        return cls(root, require_complete=False)

    def _remove_stale_temporaries(self) -> None:
        """Delete temporary shard files left by writers that were killed (their process is gone)."""
        for tmp in self.root.glob(".*.tmp-*"):
            pid = int(tmp.name.rsplit("-", 1)[1]) if tmp.name.rsplit("-", 1)[1].isdigit() else 0
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                tmp.unlink(missing_ok=True)
            except PermissionError:
                pass

    @contextlib.contextmanager
    def _locked_manifest(self) -> Iterator[dict]:
        """Read-modify-write the manifest under an exclusive lock (several writer processes may share a store)."""
        with open(self.root / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                manifest = self._read_manifest()
                yield manifest
                write_json_atomic(self.root / MANIFEST, manifest)
                self.manifest = manifest
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_manifest(self) -> dict:
        try:
            manifest = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError) as error:
            raise DatacentricError(f"cannot read {self.root / MANIFEST}: {error}") from None
        problem = manifest_problem(manifest)
        if problem:
            raise DatacentricError(f"{self.root / MANIFEST} is damaged ({problem}): delete {self.root} and re-run the "
                                   "stage that made it")
        return manifest

    def recorded_shards(self) -> set[int]:
        """Shard ids the manifest records now (re-read: other processes may be writing)."""
        self.manifest = self._read_manifest()
        return {int(i) for i in self.manifest["shards"]}

    def has_shard(self, shard_id: int) -> bool:
        """True when the shard is recorded and its file still matches its checksum.

        A recorded shard whose file is missing or changed is reported and dropped from the
        manifest, so the stage regenerates it instead of using it.
        """
        self.manifest = self._read_manifest()
        entry = self.manifest["shards"].get(str(shard_id))
        if entry is None:
            return False
        path = self.root / entry["file"]
        if path.is_file() and sha256_file(path) == entry["sha256"]:
            return True
        problem = "fails its checksum" if path.is_file() else "is missing"
        print(f"warning: {path} {problem}; regenerating it", file=sys.stderr)
        with self._locked_manifest() as manifest:
            manifest["shards"].pop(str(shard_id), None)
            manifest["complete"] = False
        return False

    def write_shard(self, shard_id: int, samples: Samples, info: dict | None = None) -> None:
        """Validate and atomically write one shard, then record it (with the stage's small per-shard
        `info`, if any) in the manifest."""
        if self.manifest.get("format_version") != FORMAT_VERSION:
            raise DatacentricError(f"{self.root} is a format-{self.manifest.get('format_version')} store; "
                                   f"this version writes format {FORMAT_VERSION}: delete the folder to remake it")
        samples.validate(self.num_classes)
        name = shard_name(shard_id)
        with atomic_path(self.root / name) as tmp:  # a full disk (OSError or h5py's RuntimeError): one line
            with h5py.File(tmp, "w") as h5:
                self._fill_shard(h5, shard_id, samples)
        digest = sha256_file(self.root / name)
        with self._locked_manifest() as manifest:
            manifest["shards"][str(shard_id)] = {"file": name, "count": len(samples), "sha256": digest,
                                                 **({"info": info} if info else {})}

    def _fill_shard(self, h5: h5py.File, shard_id: int, samples: Samples) -> None:
        count = len(samples)
        # At most 1 MiB per chunk, HDF5's default chunk cache: a read of scattered rows then decompresses each
        # chunk once, not once per row (256 CIFAR images are 0.75 MiB; a 224-px image is 0.14 MiB).
        per_chunk = rows_within(CHUNK_BYTES, IMAGE_CHUNK, samples.images.shape[1:])
        chunk = (max(1, min(count, per_chunk)),) + samples.images.shape[1:]
        h5.create_dataset("images", data=samples.images, chunks=chunk, compression="lzf")
        h5.create_dataset("labels", data=np.asarray(samples.labels, np.int64))
        h5.create_dataset("source_index", data=np.asarray(samples.source_index, np.int64))
        h5.create_dataset("kind", data=np.char.encode(np.asarray(samples.kind, str), "ascii").astype(f"S{KIND_WIDTH}"))
        h5.create_dataset(
            "corruption",
            data=np.char.encode(np.asarray(samples.corruption, str), "ascii").astype(f"S{CORRUPTION_WIDTH}"),
        )
        h5.create_dataset("severity", data=np.asarray(samples.severity, np.int8))
        h5.create_dataset("l2", data=np.asarray(samples.l2, np.float32))
        h5.create_dataset("linf", data=np.asarray(samples.linf, np.float32))
        if samples.soft_labels is not None:
            h5.create_dataset("soft_labels", data=np.asarray(samples.soft_labels, np.float32))
        for name, (_, dtype) in PROVENANCE_DEFAULTS.items():
            h5.create_dataset(name, data=np.asarray(getattr(samples, name), dtype))
        m = self.manifest
        h5.attrs.update(
            {
                "format_version": FORMAT_VERSION,
                "dataset": m["dataset"],
                "stage": m["stage"],
                "class_names": json.dumps(m["class_names"]),
                "config": json.dumps(m["config"], sort_keys=True),
                "config_hash": m["config_hash"],
                "seed": m["seed"],
                "package_version": __version__,
                "shard_id": shard_id,
            }
        )

    def finish(self, num_shards: int, **extra: Any) -> None:
        """Mark the store complete once shards 0..num_shards-1 are all recorded."""
        with self._locked_manifest() as manifest:
            missing = [i for i in range(num_shards) if str(i) not in manifest["shards"]]
            if missing:
                raise DatacentricError(f"store {self.root} lacks shards {missing[:10]}; re-run the stage")
            manifest["num_shards"] = num_shards
            manifest["complete"] = True
            manifest["extra"].update(extra)

    # ---- reading -------------------------------------------------------------------------

    @property
    def info(self) -> StoreInfo:
        m = self.manifest
        return StoreInfo(m["dataset"], m["stage"], tuple(m["class_names"]), m["config"], m["seed"])

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest["class_names"])

    @property
    def num_classes(self) -> int:
        return int(self.manifest["num_classes"])

    @property
    def shard_ids(self) -> list[int]:
        return sorted(int(i) for i in self.manifest["shards"])

    def __len__(self) -> int:
        return sum(entry["count"] for entry in self.manifest["shards"].values())

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the stored images, read from the first shard's header."""
        if not self.shard_ids:
            raise DatacentricError(f"store {self.root} holds no samples")
        with h5py.File(self.shard_path(self.shard_ids[0]), "r") as h5:
            return tuple(int(n) for n in h5["images"].shape[1:])

    @property
    def has_soft_labels(self) -> bool:
        """Do the samples carry soft label rows (read from the first shard's header)?"""
        if not self.shard_ids:
            return False
        with h5py.File(self.shard_path(self.shard_ids[0]), "r") as h5:
            return "soft_labels" in h5

    def shard_path(self, shard_id: int) -> Path:
        return self.root / self.manifest["shards"][str(shard_id)]["file"]

    def verify(self) -> None:
        """Check every shard against its recorded sha256."""
        for shard_id in self.shard_ids:
            self._verified_bytes(shard_id)

    def _verified_bytes(self, shard_id: int) -> bytes:
        entry = self.manifest["shards"][str(shard_id)]
        path = self.root / entry["file"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise DatacentricError(f"cannot read shard {path}: {error.strerror}; re-run the command that made the "
                                   f"store (it regenerates missing shards), or delete {self.root} and re-run it") from None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise DatacentricError(
                f"shard {path} fails its checksum (truncated or tampered); re-run the command that made the store "
                f"(it regenerates bad shards), or delete {self.root} and re-run it"
            )
        return data

    def _verified_shards(self, ids: list[int]) -> Iterator[h5py.File]:
        """Open shards in order from verified in-memory bytes; the next shard is read and hashed on a
        thread (file reads and sha256 release the GIL) while the caller decodes this one."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self._verified_bytes, ids[0]) if ids else None
            for position in range(len(ids)):
                data = pending.result()
                if position + 1 < len(ids):
                    pending = pool.submit(self._verified_bytes, ids[position + 1])
                with h5py.File(io.BytesIO(data), "r") as h5:
                    yield checked_shard(h5, self.root / self.manifest["shards"][str(ids[position])]["file"])

    def iter_shards(self) -> Iterator[Samples]:
        """Each shard's samples in shard order, one in memory at a time (checksums verified): for work that
        streams through a store larger than memory."""
        ids = self.shard_ids
        if not ids:
            raise DatacentricError(f"store {self.root} holds no samples")
        for h5 in self._verified_shards(ids):
            yield read_samples(h5)

    def load(self) -> Samples:
        """Every shard in shard order, concatenated."""
        return Samples.concat(list(self.iter_shards()))

    def read(self, positions: np.ndarray) -> Samples:
        """The samples at `positions` (0..len-1, any order, repeats allowed), reading only the shards they lie in:
        memory follows the positions asked for, not the store. Each shard's checksum is verified once per Store."""
        positions = np.asarray(positions, np.int64).reshape(-1)
        ids = self.shard_ids
        starts = np.concatenate([[0], np.cumsum([self.manifest["shards"][str(i)]["count"] for i in ids])])
        if not len(positions) or positions.min() < 0 or positions.max() >= starts[-1]:
            raise DatacentricError(f"store {self.root}: positions must be 1+ values in 0..{starts[-1] - 1}")
        shard_of = np.searchsorted(starts, positions, side="right") - 1
        pieces, where = [], []
        for k in np.unique(shard_of):
            rows = np.flatnonzero(shard_of == k)
            local, inverse = np.unique(positions[rows] - starts[k], return_inverse=True)
            pieces.append(self._read_rows(ids[k], local).select(inverse))
            where.append(rows)
        return Samples.concat(pieces).select(np.argsort(np.concatenate(where), kind="stable"))

    def column(self, name: str) -> np.ndarray:
        """One per-sample field (labels, source_index, kind, ...) of every shard, without reading any image."""
        values = []
        for shard_id in self.shard_ids:
            with self._open_verified(shard_id) as h5:
                values.append(h5[name][:].astype(str) if h5[name].dtype.kind == "S" else h5[name][:])
        return np.concatenate(values)

    @contextlib.contextmanager
    def _open_verified(self, shard_id: int) -> Iterator[h5py.File]:
        """A shard's file, opened after one checksum check per Store (raises on a missing or changed shard)."""
        verified = self.__dict__.setdefault("_verified_ids", set())
        if shard_id not in verified:
            self._verified_bytes(shard_id)
            verified.add(shard_id)
        path = self.shard_path(shard_id)
        with h5py.File(path, "r") as h5:
            yield checked_shard(h5, path)

    def _read_rows(self, shard_id: int, rows: np.ndarray) -> Samples:
        """Rows (sorted, unique) of one shard."""
        with self._open_verified(shard_id) as h5:
            return read_samples(h5, rows)

    def load_images_labels(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Fast path: only images, labels and soft labels, straight into preallocated arrays."""
        ids = self.shard_ids
        if not ids:
            raise DatacentricError(f"store {self.root} holds no samples")
        total = len(self)
        images = labels = soft = None
        offset = 0
        for h5 in self._verified_shards(ids):
            count = h5["labels"].shape[0]
            if images is None:
                images = np.empty((total,) + h5["images"].shape[1:], np.uint8)
                labels = np.empty(total, np.int64)
                if "soft_labels" in h5:
                    soft = np.empty((total, h5["soft_labels"].shape[1]), np.float32)
            h5["images"].read_direct(images, dest_sel=np.s_[offset : offset + count])
            h5["labels"].read_direct(labels, dest_sel=np.s_[offset : offset + count])
            if soft is not None:
                h5["soft_labels"].read_direct(soft, dest_sel=np.s_[offset : offset + count])
            offset += count
        return images, labels, soft


def checked_shard(h5: h5py.File, where: Path) -> h5py.File:
    """The open shard, once its datasets are plain ones this format writes: no external storage or virtual
    sources (they would read another file's bytes into the store) and uint8 images."""
    for name, dataset in h5.items():
        if not isinstance(dataset, h5py.Dataset) or dataset.external or dataset.is_virtual:
            raise DatacentricError(f"shard {where} has a dataset '{name}' that is not stored in the shard itself; "
                                   "this store was not written by datacentric: delete it")
    if "images" not in h5 or h5["images"].dtype != np.uint8:
        raise DatacentricError(f"shard {where} holds no uint8 images; this store was not written by datacentric")
    return h5


def read_samples(h5: h5py.File, rows: np.ndarray | None = None) -> Samples:
    """Decode one open shard file (or its `rows`: sorted, unique) into `Samples`. For rows, only the image chunks
    that hold them are read; the per-sample fields are small and read whole."""
    def field(name: str) -> np.ndarray:
        values = h5[name][:]
        return values if rows is None else values[rows]

    return Samples(
        images=h5["images"][:] if rows is None else _image_rows(h5["images"], rows),
        labels=field("labels"),
        source_index=field("source_index"),
        kind=field("kind").astype(str),
        corruption=field("corruption").astype(str),
        severity=field("severity"),
        l2=field("l2"),
        linf=field("linf"),
        soft_labels=field("soft_labels") if "soft_labels" in h5 else None,
        **{name: field(name) for name in PROVENANCE_DEFAULTS if name in h5},  # absent in version 1
    )


def _image_rows(images: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
    """images[rows], one slice per chunk that holds any of them: h5py's point selection costs far more per row."""
    per_chunk = images.chunks[0] if images.chunks else max(1, images.shape[0])
    out = np.empty((len(rows),) + images.shape[1:], images.dtype)
    chunk_of = rows // per_chunk
    for chunk in np.unique(chunk_of):
        wanted = np.flatnonzero(chunk_of == chunk)
        start = int(chunk) * per_chunk
        out[wanted] = images[start: start + per_chunk][rows[wanted] - start]
    return out


def write_store(root: str | Path, info: StoreInfo, samples: Samples, *, shard_size: int, overwrite: bool = False,
                progress: bool = False, replace_stale: bool = False) -> Store:
    """Write an in-memory batch as a complete store, resuming shards already written with this config."""
    return write_store_from(root, info, len(samples), samples.select, shard_size=shard_size, overwrite=overwrite,
                            progress=progress, replace_stale=replace_stale)


def write_store_from(root: str | Path, info: StoreInfo, count: int, read: Callable[[np.ndarray], Samples], *,
                     shard_size: int, overwrite: bool = False, progress: bool = False, replace_stale: bool = False
                     ) -> Store:
    """Write `count` samples as a complete store, asking `read(positions)` for one shard's samples at a time (so
    memory follows the shard size), resuming shards already written with this config."""
    store = Store.create(root, info, overwrite=overwrite, replace_stale=replace_stale)
    plan = shard_plan(count, shard_size)
    with bar(total=len(plan), desc=f"write {Path(root).name}", unit="shard", enabled=progress) as progress_bar:
        for shard_id, positions in enumerate(plan):
            if not store.has_shard(shard_id):
                store.write_shard(shard_id, read(positions))
            progress_bar.update()
    store.finish(len(plan))
    return store


def read_concatenated(stores: list[Store], positions: np.ndarray) -> Samples:
    """Samples at `positions` of the stores laid end to end (store 0's samples first); hard labels become
    one-hot rows where some stores have soft labels and others not."""
    starts = np.concatenate([[0], np.cumsum([len(store) for store in stores])])
    owner = np.searchsorted(starts, positions, side="right") - 1
    pieces, where = [], []
    for k in np.unique(owner):
        rows = np.flatnonzero(owner == k)
        pieces.append(stores[k].read(positions[rows] - starts[k]))
        where.append(rows)
    merged = Samples.concat(pieces, num_classes=stores[0].num_classes)
    if any(store.has_soft_labels for store in stores):  # every shard alike, whichever stores it draws from
        merged = merged.with_soft_labels(stores[0].num_classes)
    return merged.select(np.argsort(np.concatenate(where), kind="stable"))
