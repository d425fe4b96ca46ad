"""Exports of a store: the competition's data.npy + label.npy, or an ImageFolder tree of PNGs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from datacentric.core.errors import DatacentricError
from datacentric.core.io import json_digest, sha256_file, write_text_atomic
from datacentric.core.paths import plain_name
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


def export_imagefolder(store: Store, out: Path, *, overwrite: bool = False) -> int:
    samples = store.load()
    names = store.class_names
    unsafe = [name for name in names if not plain_name(name)]
    if unsafe:  # class names become folder names: none may leave the export folder
        raise DatacentricError(f"class names {unsafe[:3]} cannot be folder names; export --format competition instead")

    def fill(folder: Path) -> None:
        for name in names:
            (folder / name).mkdir()
        for i in range(len(samples)):
            image = samples.images[i]
            Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).save(
                folder / names[samples.labels[i]] / f"{samples.source_index[i]:06d}-{samples.kind[i]}-{i}.png")

    _write_atomically(out, overwrite, fill)
    return len(samples)
