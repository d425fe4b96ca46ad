"""Where each stage reads and writes by default, under one data directory (./data or $DATACENTRIC_DATA)."""

from __future__ import annotations

import os
from pathlib import Path

from datacentric.core.errors import DatacentricError


def plain_name(name: str) -> bool:
    """A single file or folder name: no separator, no '..', not absolute, no NUL (it cannot leave its folder)."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
            and "\0" not in name and Path(name).name == name)


def checked_name(name: str, what: str) -> str:
    """`name` if it is a plain name (a folder it names stays inside its parent), else one error line."""
    if not plain_name(name):
        raise DatacentricError(f"{what} {name!r} must be a plain name: no '/', no '..' (it names a folder)")
    return name


def data_dir() -> Path:
    return Path(os.environ.get("DATACENTRIC_DATA", "data"))


def raw_dir() -> Path:
    return data_dir() / "raw"


def prepared_dir(dataset: str) -> Path:
    return data_dir() / "prepared" / checked_name(dataset, "dataset name")


def split_dir(dataset: str) -> Path:
    return data_dir() / "splits" / checked_name(dataset, "dataset name")


def parts_dir(dataset: str) -> Path:
    """Outputs of the stages that transform a split's parts (corrupt, attack)."""
    return data_dir() / "parts" / checked_name(dataset, "dataset name")


def portable(path: str | Path) -> str:
    """A path as recorded in configs: relative to the data directory when inside it, so that a copied,
    moved or symlinked data directory gives the same config hashes (and resumes)."""
    try:
        return str(Path(path).resolve().relative_to(data_dir().resolve()))
    except ValueError:
        return str(Path(path).resolve())


def inside(parent: Path, child: Path) -> bool:
    """Does `child` stay inside `parent` (after resolving '..' and links)?"""
    try:
        Path(child).resolve().relative_to(Path(parent).resolve())
        return True
    except ValueError:
        return False
