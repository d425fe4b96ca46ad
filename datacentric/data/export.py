"""Exports of a store, each written whole or not at all (`_write_atomically`), shard by shard where the format allows:

    competition  data.npy + label.npy (the Tianchi competition's submission: 32×32, at most 50,000)
    imagefolder  <class>/<source index>-<kind>-<i>.png
    npz          data.npz with `image` (uint8 N×H×W×C) and `label` (int64 N), as the generated-data training code of
                 Gowal et al. 2021, Rebuffi et al. 2021 and Wang et al. 2023 reads it (`soft_label` too where
                 present, and `class_names`)
    hf           a Hugging Face dataset (`save_to_disk`): an Image column, a ClassLabel and per-sample provenance
    parquet      the same dataset as Parquet in a hub repository's layout (data/train-00000-of-00001.parquet)
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from datacentric.core.errors import DatacentricError
from datacentric.core.io import json_digest, sha256_file, write_text_atomic
from datacentric.core.paths import plain_name
from datacentric.data.huggingface import require_datasets
from datacentric.data.samples import PROVENANCE_DEFAULTS
from datacentric.data.store import Store

COMPETITION_MAX_SAMPLES = 50_000
COMPETITION_IMAGE_SHAPE = (32, 32, 3)


def competition_arrays(images: np.ndarray, labels: np.ndarray, soft_labels: np.ndarray | None,
                       num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """data (uint8 N×32×32×3) and label (float32 N×K, rows summing to 1), checked against the competition's rules."""
    if len(images) > COMPETITION_MAX_SAMPLES:
        raise DatacentricError(f"the competition allows at most {COMPETITION_MAX_SAMPLES} samples, store has {len(images)}")
    if images.dtype != np.uint8 or images.shape[1:] != COMPETITION_IMAGE_SHAPE:
        raise DatacentricError(f"the competition needs uint8 N×32×32×3 images, store has {images.dtype} {images.shape}")
    if soft_labels is None:
        soft_labels = np.eye(num_classes, dtype=np.float32)[labels]
    if soft_labels.min() < 0 or not np.all(np.isfinite(soft_labels)):
        raise DatacentricError("the competition needs finite labels >= 0")
    row_sums = soft_labels.sum(axis=1, keepdims=True)
    if row_sums.min() <= 0:
        raise DatacentricError("every label row needs a positive sum")
    return images, (soft_labels / row_sums).astype(np.float32)


MARKER = ".datacentric-export"  # the files an export wrote, with their checksums: --overwrite replaces those alone


def entry_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (relative paths and contents); a link is never followed."""
    if path.is_symlink():
        raise DatacentricError(f"{path} is a link, which no export writes; move it away first")
    if path.is_file():
        return sha256_file(path)
    return json_digest({str(p.relative_to(path)): entry_digest(p) for p in sorted(path.rglob("*"))
                        if p.is_symlink() or p.is_file()})


def _written(folder: Path, names: list[str]) -> dict[str, str]:
    return {name: entry_digest(folder / name) for name in names}


def _previous_export(out: Path) -> list[str]:
    """The names a previous export wrote in `out`, each checked: a plain name inside `out` whose content still
    has the checksum the export recorded. Anything else is refused before a file is touched."""
    marker = out / MARKER
    if not marker.exists():
        return []
    try:
        recorded = json.loads(marker.read_text())["files"]
        if not isinstance(recorded, dict):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise DatacentricError(f"{marker} is not a marker this version wrote; nothing was replaced: move the files "
                               f"of {out} away (or delete it) to export there") from None
    names = []
    for name, digest in recorded.items():
        if not plain_name(name):
            raise DatacentricError(f"{marker} names {name!r}, which is not a file of {out}; nothing was replaced")
        target = out / name
        if not (target.exists() or target.is_symlink()):
            continue  # removed by hand since: nothing to replace
        if entry_digest(target) != digest:
            raise DatacentricError(f"{target} changed since an export wrote it; nothing was replaced: move it away")
        names.append(name)
    return names


def _remove(target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink()


def _write_atomically(out: Path, overwrite: bool, fill) -> None:
    """Fill a temporary sibling directory, then move its files into `out`. An existing `out` is refused
    unless `overwrite`, and then only the files a previous export wrote (listed in its marker, with their
    checksums, each verified) are replaced: anything else in the folder stays. A failed export leaves nothing."""
    if out.exists() and not out.is_dir():
        raise DatacentricError(f"{out} exists and is not a folder")
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise DatacentricError(f"{out} exists; pass --overwrite to replace the files an export wrote there")
    previous = _previous_export(out) if out.exists() else []
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        fill(tmp)
        written = sorted(p.name for p in tmp.iterdir())
        marker = json.dumps({"files": _written(tmp, written)}, indent=1, sort_keys=True)
        if not out.exists():
            (tmp / MARKER).write_text(marker)
            os.replace(tmp, out)
            return
        clash = [name for name in written if (out / name).exists() and name not in previous]
        if clash:
            raise DatacentricError(f"{out} holds {clash[:5]}, which no export wrote; move them away first")
        for name in previous:
            _remove(out / name)
        for name in written:
            os.replace(tmp / name, out / name)
        write_text_atomic(out / MARKER, marker)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def export_competition(store: Store, out: Path, *, overwrite: bool = False) -> int:
    images, labels, soft = store.load_images_labels()
    data, label = competition_arrays(images, labels, soft, store.num_classes)

    def fill(folder: Path) -> None:
        np.save(folder / "data.npy", data)
        np.save(folder / "label.npy", label)

    _write_atomically(out, overwrite, fill)
    return len(data)


def _pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)


def export_imagefolder(store: Store, out: Path, *, overwrite: bool = False) -> int:
    names = store.class_names
    unsafe = [name for name in names if not plain_name(name)]
    if unsafe:  # class names become folder names: none may leave the export folder
        raise DatacentricError(f"class names {unsafe[:3]} cannot be folder names; export --format competition instead")

    def fill(folder: Path) -> None:
        for name in names:
            (folder / name).mkdir()
        i = 0
        for shard in store.iter_shards():
            for image, label, index, kind in zip(shard.images, shard.labels, shard.source_index, shard.kind):
                _pil(image).save(folder / names[label] / f"{index:06d}-{kind}-{i}.png")
                i += 1

    _write_atomically(out, overwrite, fill)
    return len(store)


def _npy_member(archive: zipfile.ZipFile, name: str, dtype: np.dtype, shape: tuple, chunks) -> None:
    """One .npy member of an .npz written chunk by chunk (the header first, from the known shape)."""
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_2_0(member, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                      "fortran_order": False, "shape": shape})
        for chunk in chunks:
            member.write(np.ascontiguousarray(chunk, dtype=dtype).tobytes())


def export_npz(store: Store, out: Path, *, overwrite: bool = False) -> int:
    count, shape = len(store), store.image_shape

    def fill(folder: Path) -> None:
        with zipfile.ZipFile(folder / "data.npz", "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
            _npy_member(archive, "image", np.uint8, (count, *shape), (s.images for s in store.iter_shards()))
            _npy_member(archive, "label", np.int64, (count,), (s.labels for s in store.iter_shards()))
            if store.has_soft_labels:
                _npy_member(archive, "soft_label", np.float32, (count, store.num_classes),
                            (s.soft_labels for s in store.iter_shards()))
            names = np.asarray(store.class_names, dtype=str)  # a fixed-width string array: no pickle needed
            _npy_member(archive, "class_names", names.dtype, names.shape, [names])

    _write_atomically(out, overwrite, fill)
    return count


def huggingface_dataset(store: Store, cache: Path):
    """The store as a `datasets.Dataset` built shard by shard: image (PNG), label (ClassLabel with the store's class
    names), the part (`kind`), the source image and every provenance field; `soft_label` where the store has one."""
    datasets = require_datasets()
    first = next(store.iter_shards())
    columns = {"image": datasets.Image(), "label": datasets.ClassLabel(names=store.class_names),
               "kind": datasets.Value("string"), "source_index": datasets.Value("int64"),
               "corruption": datasets.Value("string"), "severity": datasets.Value("int8"),
               "l2": datasets.Value("float32"), "linf": datasets.Value("float32"),
               **{name: datasets.Value(np.dtype(dtype).name) for name, (_, dtype) in PROVENANCE_DEFAULTS.items()}}
    if first.soft_labels is not None:
        columns["soft_label"] = datasets.Sequence(datasets.Value("float32"), length=first.soft_labels.shape[1])

    def rows(root: str, content: str):  # `content` (the manifest's hash of shard checksums) keys HF's cache
        for shard in Store(root).iter_shards():
            for i in range(len(shard)):
                buffer = io.BytesIO()
                _pil(shard.images[i]).save(buffer, format="PNG")
                row = {"image": {"bytes": buffer.getvalue(), "path": None}, "label": int(shard.labels[i]),
                       "kind": str(shard.kind[i]), "source_index": int(shard.source_index[i]),
                       "corruption": str(shard.corruption[i]), "severity": int(shard.severity[i]),
                       "l2": float(shard.l2[i]), "linf": float(shard.linf[i]),
                       **{name: getattr(shard, name)[i].item() for name in PROVENANCE_DEFAULTS}}
                if shard.soft_labels is not None:
                    row["soft_label"] = shard.soft_labels[i].tolist()
                yield row

    content = json_digest({key: entry["sha256"] for key, entry in store.manifest["shards"].items()})
    return datasets.Dataset.from_generator(rows, features=datasets.Features(columns), cache_dir=str(cache),
                                           gen_kwargs={"root": str(store.root), "content": content})


def _export_huggingface(store: Store, out: Path, overwrite: bool, write: Callable) -> int:
    with tempfile.TemporaryDirectory(prefix=".hf-cache-", dir=out.parent if out.parent.exists() else None) as cache:
        dataset = huggingface_dataset(store, Path(cache))
        _write_atomically(out, overwrite, lambda folder: write(dataset, folder))
    return len(store)


def export_hf(store: Store, out: Path, *, overwrite: bool = False) -> int:
    return _export_huggingface(store, out, overwrite, lambda dataset, folder: dataset.save_to_disk(str(folder)))


def export_parquet(store: Store, out: Path, *, overwrite: bool = False) -> int:
    def write(dataset, folder: Path) -> None:
        (folder / "data").mkdir()
        dataset.to_parquet(str(folder / "data" / "train-00000-of-00001.parquet"))

    return _export_huggingface(store, out, overwrite, write)


EXPORTERS: dict[str, Callable[..., int]] = {  # format name → export(store, out, overwrite=) → samples written
    "competition": export_competition, "imagefolder": export_imagefolder, "npz": export_npz, "hf": export_hf,
    "parquet": export_parquet,
}
