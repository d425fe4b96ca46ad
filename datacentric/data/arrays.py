"""Array sources: an .npz file (x_train, y_train, x_test, y_test; or image, label) or a data.npy + label.npy pair.

The pair is the Tianchi competition's submission format (uint8 N×H×W×C images, hard labels or one-hot
rows) and has no test split: a seeded, stratified one is held out (`hold_out`). Its images are read a shard
at a time (`NpyRows`), so it never has to fit in memory.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

from datacentric.core.errors import DatacentricError
from datacentric.data.source import ArraySplit, SourceData, hold_out


def _images(images: np.ndarray, where: str) -> np.ndarray:
    if images.dtype != np.uint8:
        raise DatacentricError(f"{where} must be uint8, got {images.dtype}")
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[3] not in (1, 3):
        raise DatacentricError(f"{where} must be N×H×W or N×H×W×3, got {images.shape}")
    return images


def _hard_labels(labels: np.ndarray, count: int, where: str) -> np.ndarray:
    """Integer labels, or one-hot rows as their class; soft rows are refused (a store's source is hard-labelled)."""
    if labels.ndim == 2 and labels.shape[0] == count:
        if not (np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=1) == 1)):
            raise DatacentricError(f"{where} holds soft label rows; prepare takes hard labels (or one-hot rows)")
        return labels.argmax(axis=1).astype(np.int64)
    labels = labels.reshape(-1)
    if len(labels) != count or not np.issubdtype(labels.dtype, np.integer):
        raise DatacentricError(f"{where} must hold one integer label per image")
    if len(labels) and labels.min() < 0:
        raise DatacentricError(f"{where}: labels must be non-negative, found {labels.min()}")
    return labels.astype(np.int64)


def _class_names(train_labels: np.ndarray, width: int, where: str) -> list[str]:
    """'0', '1', ...: as many classes as one-hot rows are wide, else as the training labels reach."""
    present = np.unique(train_labels)
    if width:
        return [str(i) for i in range(width)]
    if len(present) and present.max() + 1 != len(present):
        missing = sorted(set(range(int(present.max()) + 1)) - set(present.tolist()))
        raise DatacentricError(f"{where}: the training labels skip classes {missing[:10]} (up to {present.max()}); "
                               "store class_names in the .npz to say how many classes there are")
    return [str(i) for i in range(len(present))]


def load_npz(path: Path, *, test_fraction: float, seed: int) -> SourceData:
    """x_train, y_train, x_test, y_test (grey N×H×W or N×H×W×C uint8); optional class_names. Or one split as
    `image` and `label` (the generated-data format of Gowal et al. 2021, and `export --format npz`), from
    which a seeded, stratified test split of `test_fraction` is held out."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zlib.error, EOFError) as error:
        raise DatacentricError(f"{path} is not a readable .npz file ({error})") from None
    if {"image", "label"} <= arrays.keys() and "x_train" not in arrays:
        images = _images(arrays["image"], f"{path}: image")
        if not len(images):
            raise DatacentricError(f"{path} holds no images")
        labels = _hard_labels(arrays["label"], len(images), f"{path}: label")
        names = [str(n) for n in arrays["class_names"]] if "class_names" in arrays else \
            _class_names(labels, arrays["soft_label"].shape[1] if "soft_label" in arrays else 0, str(path))
        return hold_out(ArraySplit(np.ascontiguousarray(images), labels), names, f"npz:{path.name}",
                        fraction=test_fraction, seed=seed)
    missing = {"x_train", "y_train", "x_test", "y_test"} - arrays.keys()
    if missing:
        raise DatacentricError(f"{path} lacks the arrays {sorted(missing)} (or `image` and `label` for one split)")
    splits = {}
    for split in ("train", "test"):
        images = _images(arrays[f"x_{split}"], f"{path}: x_{split}")
        if not len(images):
            raise DatacentricError(f"{path} holds no {'training' if split == 'train' else 'test'} images")
        splits[split] = ArraySplit(np.ascontiguousarray(images),
                                   _hard_labels(arrays[f"y_{split}"], len(images), f"{path}: y_{split}"))
    if "class_names" in arrays:
        names = [str(n) for n in arrays["class_names"]]
        top = max(splits["train"].labels.max(), splits["test"].labels.max())
        if top >= len(names):
            raise DatacentricError(f"{path}: label {top} but only {len(names)} class_names")
    else:
        names = _class_names(splits["train"].labels, 0, str(path))
        if splits["test"].labels.max() >= len(names):
            raise DatacentricError(f"{path}: test label {splits['test'].labels.max()} is not a training class")
    return SourceData(splits["train"], splits["test"], names, f"npz:{path.name}")


def is_npy_pair(path: Path) -> bool:
    """A folder holding data.npy and label.npy, or the path of such a data.npy."""
    folder = path if path.is_dir() else path.parent
    return (path.is_dir() or path.name == "data.npy") and (folder / "data.npy").is_file() and \
        (folder / "label.npy").is_file()


class NpyRows:
    """Rows of an .npy file read on demand with `os.pread` (contiguous positions in one call): unlike a memory
    map, the pages read are not kept mapped, so reading a file larger than memory shard by shard holds one
    shard. Grey N×H×W files read as N×H×W×1."""

    def __init__(self, path: Path):
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)  # header only: shape, dtype, data offset
        self.path, self.dtype, self.offset = path, mapped.dtype, mapped.offset
        self.shape = mapped.shape + ((1,) if mapped.ndim == 3 else ())
        self.ndim = len(self.shape)
        self.row_bytes = int(np.prod(self.shape[1:])) * self.dtype.itemsize
        if mapped.ndim > 1 and not mapped.flags.c_contiguous:
            raise DatacentricError(f"{path} is stored in Fortran order; save it with numpy's default (C) order")

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, positions) -> np.ndarray:
        positions = np.asarray(positions, np.int64).reshape(-1)
        out = np.empty((len(positions),) + self.shape[1:], self.dtype)
        order = np.argsort(positions, kind="stable")
        ordered = positions[order]
        runs = np.split(np.arange(len(ordered)), np.flatnonzero(np.diff(ordered) != 1) + 1)
        with open(self.path, "rb") as file:
            for run in (r for r in runs if len(r)):
                start, count = int(ordered[run[0]]), len(run)
                data = os.pread(file.fileno(), count * self.row_bytes, self.offset + start * self.row_bytes)
                if len(data) != count * self.row_bytes:
                    raise DatacentricError(f"{self.path} is shorter than its header says (truncated?)")
                out[order[run]] = np.frombuffer(data, self.dtype).reshape((count,) + self.shape[1:])
        return out


def load_npy_pair(path: Path, *, test_fraction: float, seed: int) -> SourceData:
    """data.npy (read shard by shard, `NpyRows`) and label.npy, with a held-out test split."""
    folder = path if path.is_dir() else path.parent
    try:
        images = NpyRows(folder / "data.npy")
        labels = np.load(folder / "label.npy", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatacentricError(f"{folder}: data.npy and label.npy are not readable .npy files ({error})") from None
    images = _images(images, f"{folder / 'data.npy'}")
    hard = _hard_labels(labels, len(images), f"{folder / 'label.npy'}")
    names = _class_names(hard, labels.shape[1] if labels.ndim == 2 else 0, str(folder / "label.npy"))
    return hold_out(ArraySplit(images, hard), names, f"npy:{folder.name}", fraction=test_fraction, seed=seed)
