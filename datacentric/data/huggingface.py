"""Hugging Face datasets as a source (the optional `datacentric[hf]` extra): a `save_to_disk` folder, Parquet
files (a hub repository's data/ layout), or `hf:NAME` from the hub (with a network).

The image column is the one of feature type Image, the label column the one of type ClassLabel (its names
become the class names) or an integer column named label/labels. The splits are `train` and `test` (or
`validation` when there is no test); a dataset with one split gets a seeded stratified test split held out.
Images are read one shard at a time from the Arrow files, never all at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datacentric.core import paths
from datacentric.core.errors import DatacentricError
from datacentric.data.source import EncodedSplit, SourceData, hold_out

EXTRA = "pip install 'datacentric[hf]'"
TEST_SPLITS = ("test", "validation", "valid", "val")


def require_datasets():
    try:
        import datasets
    except ImportError:
        raise DatacentricError(f"reading a Hugging Face dataset needs the `datasets` package: {EXTRA}") from None
    return datasets


def is_saved_dataset(path: Path) -> bool:
    return path.is_dir() and ((path / "dataset_dict.json").is_file() or (path / "state.json").is_file())


def parquet_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix == ".parquet" else []
    return sorted(path.rglob("*.parquet")) if path.is_dir() else []


def _columns(dataset, where: str) -> tuple[str, str, list[str] | None]:
    """(image column, label column, class names or None) from the features' types."""
    datasets = require_datasets()
    features = dataset.features
    images = [name for name, feature in features.items() if isinstance(feature, datasets.Image)]
    labels = [name for name, feature in features.items() if isinstance(feature, datasets.ClassLabel)]
    if not labels:
        labels = [name for name in ("label", "labels") if name in features
                  and getattr(features[name], "dtype", "").startswith(("int", "uint"))]
    if not images or not labels:
        raise DatacentricError(f"{where} needs an Image column and a ClassLabel (or integer label) column; it has "
                               f"{dict((k, type(v).__name__) for k, v in features.items())}")
    names = features[labels[0]].names if isinstance(features[labels[0]], datasets.ClassLabel) else None
    return images[0], labels[0], names


def _split(dataset, image_column: str, label_column: str, where: str) -> EncodedSplit:
    datasets = require_datasets()
    raw = dataset.cast_column(image_column, datasets.Image(decode=False))  # bytes or a path, decoded by us

    def fetch(position: int):
        cell = raw[position][image_column]
        return cell["bytes"] if cell.get("bytes") else Path(cell["path"])

    labels = np.asarray(dataset[label_column], np.int64)
    return EncodedSplit(fetch, [f"{where}[{i}]" for i in range(len(labels))], labels)


def load_huggingface(path_or_name: str, *, test_fraction: float, seed: int) -> SourceData:
    """A saved dataset, Parquet files, or `hf:NAME` (downloaded to Hugging Face's cache)."""
    datasets = require_datasets()
    path = Path(path_or_name)
    try:
        if path_or_name.startswith("hf:"):
            loaded = datasets.load_dataset(path_or_name[3:])
            description = f"hf:{path_or_name[3:]}"
        elif is_saved_dataset(path):
            loaded = datasets.load_from_disk(str(path))
            description = f"hf-disk:{path.name}"
        else:
            files = parquet_files(path)
            by_split: dict[str, list[str]] = {}
            for file in files:
                name = file.name.split("-")[0].split(".")[0]
                by_split.setdefault(name if name in ("train", *TEST_SPLITS) else "train", []).append(str(file))
            # datasets converts Parquet to Arrow files in a cache: the data directory's, not the user's home
            loaded = datasets.load_dataset("parquet", data_files=by_split, cache_dir=str(paths.raw_dir() / "hf-cache"))
            description = f"hf-parquet:{path.stem}"
    except (OSError, ValueError, FileNotFoundError) as error:
        raise DatacentricError(f"{path_or_name} is not a readable Hugging Face dataset ({error})") from None
    if isinstance(loaded, datasets.Dataset):
        loaded = datasets.DatasetDict({"train": loaded})
    if "train" not in loaded:
        raise DatacentricError(f"{path_or_name} has no train split (it has {sorted(loaded)})")
    image_column, label_column, names = _columns(loaded["train"], path_or_name)
    train = _split(loaded["train"], image_column, label_column, f"{path_or_name}:train")
    if names is None:
        names = [str(i) for i in range(int(train.labels.max()) + 1)]
    test_name = next((name for name in TEST_SPLITS if name in loaded), None)
    if test_name is None:
        return hold_out(train, list(names), description, fraction=test_fraction, seed=seed)
    test = _split(loaded[test_name], image_column, label_column, f"{path_or_name}:{test_name}")
    if len(test.labels) and test.labels.max() >= len(names):
        raise DatacentricError(f"{path_or_name}: test label {test.labels.max()} is not a training class")
    return SourceData(train, test, list(names), description)
