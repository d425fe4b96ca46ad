"""Where each stage reads and writes by default, under one data directory (./data or $DATACENTRIC_DATA)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("DATACENTRIC_DATA", "data"))


def raw_dir() -> Path:
    return data_dir() / "raw"


def prepared_dir(dataset: str) -> Path:
    return data_dir() / "prepared" / dataset


def split_dir(dataset: str) -> Path:
    return data_dir() / "splits" / dataset


def parts_dir(dataset: str) -> Path:
    """Outputs of the stages that transform a split's parts (corrupt, attack)."""
    return data_dir() / "parts" / dataset
