"""Each export read back by the library that consumes it: numpy for .npz, Hugging Face `datasets` for save_to_disk and
Parquet, torchvision for the ImageFolder tree; and a Hugging Face export prepares again into the same images."""

import dataclasses

import numpy as np
import pytest

from datacentric.data.export import EXPORTERS
from datacentric.data.samples import Samples
from datacentric.data.stages import prepare
from datacentric.data.store import StoreInfo, write_store

NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.fixture()
def store(tmp_path, cifar4k):
    """A mixed store over three shards: clean images and mixed ones with soft labels and partners."""
    x, y = cifar4k
    samples = Samples.clean(x[:30], y[:30], np.arange(100, 130))
    soft = np.eye(10, dtype=np.float32)[y[:30]]
    soft[20:] = 0.5 * soft[20:] + 0.5 * np.eye(10, dtype=np.float32)[y[:10]]
    kind = samples.kind.copy()
    kind[20:] = "mixup"
    partner = np.full(30, -1, np.int64)
    partner[20:] = np.arange(100, 110)
    samples = dataclasses.replace(samples, kind=kind, soft_labels=soft, partner_index=partner)
    return write_store(tmp_path / "store", StoreInfo("cifar10", "assemble", NAMES, {}, 0), samples, shard_size=12)


def test_npz_reads_back_with_numpy(tmp_path, store):
    EXPORTERS["npz"](store, tmp_path / "out")
    samples = store.load()
    with np.load(tmp_path / "out" / "data.npz") as npz:  # how the generated-data training code reads it
        assert np.array_equal(npz["image"], samples.images) and npz["image"].dtype == np.uint8
        assert np.array_equal(npz["label"], samples.labels)
        np.testing.assert_array_equal(npz["soft_label"], samples.soft_labels)
        assert npz["class_names"].tolist() == list(NAMES)
    again = prepare(str(tmp_path / "out" / "data.npz"), tmp_path / "prepared", tmp_path / "raw", progress=False)
    assert again["train"].class_names == list(NAMES)
    both = np.concatenate([again["train"].load().images, again["test"].load().images])
    assert sorted(map(bytes, both)) == sorted(map(bytes, samples.images))


@pytest.mark.parametrize("format", ["hf", "parquet"])
def test_huggingface_exports_read_back_with_datasets_and_prepare_again(tmp_path, store, format, monkeypatch):
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    EXPORTERS[format](store, tmp_path / "out")
    if format == "hf":
        loaded = datasets.load_from_disk(str(tmp_path / "out"))
    else:
        loaded = datasets.load_dataset("parquet", data_dir=str(tmp_path / "out" / "data"),
                                       cache_dir=str(tmp_path / "hf-cache"))["train"]
    samples = store.load()
    assert np.array_equal(np.stack([np.asarray(image) for image in loaded["image"]]), samples.images)
    assert loaded.features["label"].names == list(NAMES) and loaded["label"] == samples.labels.tolist()
    assert loaded["kind"] == samples.kind.tolist() and loaded["source_index"] == samples.source_index.tolist()
    assert loaded["partner_index"] == samples.partner_index.tolist()
    np.testing.assert_allclose(np.array(loaded["soft_label"]), samples.soft_labels)
    again = prepare(str(tmp_path / "out"), tmp_path / "prepared", tmp_path / "raw", progress=False)
    both = np.concatenate([again["train"].load().images, again["test"].load().images])
    assert sorted(map(bytes, both)) == sorted(map(bytes, samples.images))  # the same pixels, all of them


def test_imagefolder_reads_back_with_torchvision(tmp_path, store):
    from torchvision.datasets import ImageFolder

    EXPORTERS["imagefolder"](store, tmp_path / "out")
    folder = ImageFolder(str(tmp_path / "out"))
    samples = store.load()
    assert len(folder) == len(samples) and sorted(folder.classes) == sorted(NAMES)
    pixels = {image.tobytes(): label for image, label in zip(samples.images, samples.labels)}
    for path, label in folder.samples:
        image = np.asarray(folder.loader(path))
        assert NAMES[pixels[image.tobytes()]] == folder.classes[label]
