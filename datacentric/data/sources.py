"""Data sources: torchvision's CIFAR files, ImageFolder trees and archives, and .npz files → uint8 arrays."""

from __future__ import annotations

import io
import os
import tarfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from torchvision import datasets

from datacentric.core.errors import DatacentricError
from datacentric.core.io import json_digest, sha256_file
from datacentric.core.progress import bar

ARCHIVE_ENV = {"cifar10": "DATACENTRIC_CIFAR10_ARCHIVE", "cifar100": "DATACENTRIC_CIFAR100_ARCHIVE"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm")


@dataclass
class SourceData:
    """A labelled dataset in memory: uint8 N×H×W×C images and int64 labels for both splits."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: list[str]
    description: str  # where the data came from, recorded in the store config


def load_torchvision(name: str, raw_dir: Path, download: bool) -> SourceData:
    """CIFAR-10/100 through torchvision, in its layout under `raw_dir` (downloading when allowed)."""
    cls = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100}[name]
    train = cls(str(raw_dir), train=True, download=download)
    test = cls(str(raw_dir), train=False, download=download)
    return SourceData(
        np.ascontiguousarray(train.data), np.asarray(train.targets, np.int64),
        np.ascontiguousarray(test.data), np.asarray(test.targets, np.int64),
        list(train.classes), f"torchvision:{name}",
    )


def _decode(data: bytes, where: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            array = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
    except (UnidentifiedImageError, OSError, ValueError):
        raise DatacentricError(f"{where} is not a readable image") from None
    return array[..., None] if array.ndim == 2 else array


def _stack(images: list[np.ndarray], where: str) -> np.ndarray:
    shapes = {im.shape for im in images}
    if len(shapes) != 1:
        raise DatacentricError(f"images in {where} differ in shape: {sorted(shapes)[:3]}")
    return np.stack(images)


def _assemble(files: dict[tuple[str, str], list[tuple[str, bytes]]], where: str) -> SourceData:
    """Build both splits from {(split, class): [(file name, bytes)]}; classes sorted by name, files by name."""
    class_names = sorted({cls for split, cls in files if split == "train"})
    if not class_names:
        raise DatacentricError(f"{where} has no train/<class>/ images")
    test_classes = sorted({cls for split, cls in files if split == "test"})
    if not test_classes:
        raise DatacentricError(f"{where} has no test/<class>/ images")
    unknown = set(test_classes) - set(class_names)
    if unknown:
        raise DatacentricError(f"{where} has test classes missing from train: {sorted(unknown)}")
    out = {}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for split in ("train", "test"):
            jobs, labels = [], []
            for label, cls in enumerate(class_names):
                for name, data in sorted(files.get((split, cls), [])):
                    jobs.append((data, f"{where}:{split}/{cls}/{name}"))
                    labels.append(label)
            decoded = pool.map(lambda job: _decode(*job), jobs, chunksize=256)
            images = []
            with bar(total=len(jobs), desc=f"decode {split}", mininterval=1.0) as progress:
                for image in decoded:
                    images.append(image)
                    progress.update()
            out[split] = (_stack(images, where), np.asarray(labels, np.int64))
    # the name, not the location: a moved data directory or archive must give the same store hashes
    return SourceData(*out["train"], *out["test"], class_names, f"imagefolder:{Path(where).name}")


def _split_class(relative: str) -> tuple[str, str, str] | None:
    """('train'|'test', class, file) for paths like [prefix/]train/<class>/<file>, else None."""
    parts = Path(relative).parts
    for i, part in enumerate(parts[:-2]):
        if part in ("train", "test") and len(parts) - i == 3:
            return part, parts[i + 1], parts[i + 2]
    return None


def load_imagefolder(root: Path) -> SourceData:
    files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            found = _split_class(str(path.relative_to(root)))
            if found:
                files.setdefault(found[:2], []).append((found[2], path.read_bytes()))
    return _assemble(files, str(root))


def load_archive(path: Path) -> SourceData:
    """A .tar/.tar.gz of an ImageFolder tree, decoded straight from the stream (nothing unpacked to disk)."""
    files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    try:
        with tarfile.open(path, "r:*") as archive, bar(total=None, desc=f"read {path.name}", unit="file",
                                                          mininterval=1.0) as progress:
            for member in archive:
                progress.update()
                if member.isfile() and Path(member.name).suffix.lower() in IMAGE_SUFFIXES:
                    found = _split_class(member.name)
                    if found:
                        files.setdefault(found[:2], []).append((found[2], archive.extractfile(member).read()))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatacentricError(f"{path} is not a readable tar archive ({reason})") from None
    return _assemble(files, str(path))


def load_npz(path: Path) -> SourceData:
    """x_train, y_train, x_test, y_test (grey N×H×W or N×H×W×C uint8); optional class_names."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zlib.error, EOFError) as error:
        raise DatacentricError(f"{path} is not a readable .npz file ({error})") from None
    missing = {"x_train", "y_train", "x_test", "y_test"} - arrays.keys()
    if missing:
        raise DatacentricError(f"{path} lacks the arrays {sorted(missing)}")
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if images.dtype != np.uint8:
            raise DatacentricError(f"{path}: x_{split} must be uint8, got {images.dtype}")
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or images.shape[3] not in (1, 3):
            raise DatacentricError(f"{path}: x_{split} must be N×H×W or N×H×W×3, got {images.shape}")
        labels = labels.reshape(-1)
        if len(labels) != len(images) or not np.issubdtype(labels.dtype, np.integer):
            raise DatacentricError(f"{path}: y_{split} must hold one integer label per image")
        splits += [np.ascontiguousarray(images), labels.astype(np.int64)]
    if not len(splits[0]) or not len(splits[2]):
        raise DatacentricError(f"{path} holds no {'training' if not len(splits[0]) else 'test'} images")
    labels = np.concatenate([splits[1], splits[3]])
    if len(labels) and labels.min() < 0:
        raise DatacentricError(f"{path}: labels must be non-negative, found {labels.min()}")
    if "class_names" in arrays:
        names = [str(n) for n in arrays["class_names"]]
        if len(labels) and labels.max() >= len(names):
            raise DatacentricError(f"{path}: label {labels.max()} but only {len(names)} class_names")
    else:
        present = np.unique(splits[1])
        if len(present) and present.max() + 1 != len(present):
            missing = sorted(set(range(int(present.max()) + 1)) - set(present.tolist()))
            raise DatacentricError(f"{path}: the training labels skip classes {missing[:10]} (up to {present.max()}); "
                                   "store class_names in the .npz to say how many classes there are")
        names = [str(i) for i in range(len(present))]
        if len(splits[3]) and splits[3].max() >= len(names):
            raise DatacentricError(f"{path}: test label {splits[3].max()} is not a training class")
    return SourceData(*splits, names, f"npz:{path.name}")


def load_path(path: Path) -> SourceData:
    """Any local source: a directory (ImageFolder), a tar archive or an .npz file."""
    if not path.exists():
        raise DatacentricError(f"{path} does not exist")
    if path.is_dir():
        return load_imagefolder(path)
    if path.suffix == ".npz":
        return load_npz(path)
    return load_archive(path)


def _torchvision_files_present(name: str, raw_dir: Path) -> bool:
    folder = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}[name]
    return (raw_dir / folder).is_dir()


def _content_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (relative paths and contents, in name order)."""
    if path.is_file():
        return sha256_file(path)
    return json_digest({str(p.relative_to(path)): sha256_file(p) for p in sorted(path.rglob("*")) if p.is_file()})


def source_digest(name: str, raw_dir: Path, *, source: Path | None = None) -> str | None:
    """The content identity of the data `load_dataset` would read, without decoding it: the sha256 of the file
    or folder it reads, or None where torchvision will download (its files carry their own checksums). Two
    datasets of the same name but other content must never share prepared stores."""
    if source is not None:
        return _content_digest(Path(source)) if Path(source).exists() else None
    if name not in ARCHIVE_ENV:
        return _content_digest(Path(name)) if Path(name).exists() else None
    if _torchvision_files_present(name, raw_dir):
        return _content_digest(raw_dir / {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}[name])
    archive = os.environ.get(ARCHIVE_ENV[name])
    return _content_digest(Path(archive)) if archive and Path(archive).exists() else None


def load_dataset(name: str, raw_dir: Path, *, source: Path | None = None, download: bool = True) -> SourceData:
    """Resolve a dataset name or path to arrays.

    For cifar10/cifar100 the order is: torchvision's files under `raw_dir`, a download through
    torchvision (unless `download` is False), then the archive named by DATACENTRIC_<NAME>_ARCHIVE.
    Any other name must be a path (ImageFolder directory, .tar.gz or .npz).
    """
    if source is not None:
        return load_path(source)
    if name not in ARCHIVE_ENV:
        path = Path(name)
        if path.exists() or "/" in name or name.endswith((".npz", ".tar.gz", ".tgz", ".tar")):
            return load_path(path)
        raise DatacentricError(
            f"unknown dataset '{name}': use cifar10, cifar100, or a path to an ImageFolder tree, .tar.gz or .npz"
        )
    if _torchvision_files_present(name, raw_dir):
        return load_torchvision(name, raw_dir, download=False)
    if download:
        try:
            return load_torchvision(name, raw_dir, download=True)
        except (OSError, RuntimeError) as error:
            download_error = str(error).splitlines()[0] if str(error) else type(error).__name__
        else:  # pragma: no cover
            download_error = None
    else:
        download_error = "download disabled by --no-download"
    archive = os.environ.get(ARCHIVE_ENV[name])
    if archive:
        return load_path(Path(archive))
    raise DatacentricError(
        f"{name} is not available ({download_error}): put torchvision's files under {raw_dir}, allow the download, "
        f"set {ARCHIVE_ENV[name]} to an ImageFolder .tar.gz, or pass --source PATH"
    )
