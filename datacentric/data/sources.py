"""Finding a dataset by name or path: torchvision's CIFAR files (or their archive), and every local format.

The formats live in their own modules (folders, arrays, huggingface); this one picks one and gives the
content digest that keeps prepared stores of other data apart.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from torchvision import datasets

from datacentric.core.errors import DatacentricError
from datacentric.core.io import json_digest, sha256_file
from datacentric.data.arrays import is_npy_pair, load_npy_pair, load_npz
from datacentric.data.folders import load_archive, load_imagefolder
from datacentric.data.huggingface import is_saved_dataset, load_huggingface, parquet_files
from datacentric.data.source import DEFAULT_TEST_FRACTION, ArraySplit, SourceData

ARCHIVE_ENV = {"cifar10": "DATACENTRIC_CIFAR10_ARCHIVE", "cifar100": "DATACENTRIC_CIFAR100_ARCHIVE"}


def load_torchvision(name: str, raw_dir: Path, download: bool) -> SourceData:
    """CIFAR-10/100 through torchvision, in its layout under `raw_dir` (downloading when allowed)."""
    cls = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100}[name]
    train = cls(str(raw_dir), train=True, download=download)
    test = cls(str(raw_dir), train=False, download=download)
    return SourceData(ArraySplit(np.ascontiguousarray(train.data), np.asarray(train.targets, np.int64)),
                      ArraySplit(np.ascontiguousarray(test.data), np.asarray(test.targets, np.int64)),
                      list(train.classes), f"torchvision:{name}")


def load_path(path: Path, *, test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> SourceData:
    """Any local source: an ImageFolder tree or archive, an .npz file, a data.npy + label.npy pair, or a
    Hugging Face dataset (saved to disk, or Parquet files). Sources without a test split get a seeded,
    stratified one of `test_fraction`."""
    held_out = dict(test_fraction=test_fraction, seed=seed)
    if str(path).startswith("hf:"):
        return load_huggingface(str(path), **held_out)
    if not path.exists():
        raise DatacentricError(f"{path} does not exist")
    if is_npy_pair(path):
        return load_npy_pair(path, **held_out)
    if is_saved_dataset(path) or parquet_files(path):
        return load_huggingface(str(path), **held_out)
    if path.is_dir():
        return load_imagefolder(path, **held_out)
    if path.suffix == ".npz":
        return load_npz(path, **held_out)
    return load_archive(path, **held_out)


def _torchvision_files_present(name: str, raw_dir: Path) -> bool:
    folder = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}[name]
    return (raw_dir / folder).is_dir()


def _content_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files (relative paths and contents, in name order)."""
    if is_npy_pair(path):  # data.npy names its pair: both files are the content
        folder = path if path.is_dir() else path.parent
        return json_digest({name: sha256_file(folder / name) for name in ("data.npy", "label.npy")})
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


def load_dataset(name: str, raw_dir: Path, *, source: Path | None = None, download: bool = True,
                 test_fraction: float = DEFAULT_TEST_FRACTION, seed: int = 0) -> SourceData:
    """Resolve a dataset name or path to a lazily read source.

    For cifar10/cifar100 the order is: torchvision's files under `raw_dir`, a download through
    torchvision (unless `download` is False), then the archive named by DATACENTRIC_<NAME>_ARCHIVE.
    Any other name must be a path (`load_path`) or `hf:NAME`.
    """
    held_out = dict(test_fraction=test_fraction, seed=seed)
    if source is not None:
        return load_path(source, **held_out)
    if name not in ARCHIVE_ENV:
        path = Path(name)
        if path.exists() or "/" in name or name.startswith("hf:") or \
                name.endswith((".npz", ".tar.gz", ".tgz", ".tar", ".npy", ".parquet")):
            return load_path(path, **held_out)
        raise DatacentricError(
            f"unknown dataset '{name}': use cifar10, cifar100, hf:NAME, or a path to an ImageFolder tree or archive, "
            ".npz, data.npy + label.npy, or a Hugging Face dataset"
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
        return load_path(Path(archive), **held_out)
    raise DatacentricError(
        f"{name} is not available ({download_error}): put torchvision's files under {raw_dir}, allow the download, "
        f"set {ARCHIVE_ENV[name]} to an ImageFolder .tar.gz, or pass --source PATH"
    )
