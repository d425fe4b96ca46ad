"""Every source format prepares into the same kind of store: flat ImageFolder (held-out test split), data.npy +
label.npy, Hugging Face datasets (saved to disk and Parquet), resized on request, one shard at a time."""

import numpy as np
import pytest
from PIL import Image

from datacentric.core.errors import DatacentricError
from datacentric.data.arrays import NpyRows
from datacentric.data.source import held_out_positions
from datacentric.data.sources import load_path
from datacentric.data.stages import PrepareSettings, dataset_name, prepare


def write_flat(root, images, labels, names=None):
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / (names[label] if names else f"class{label}")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:04d}.png")
    return root


def test_the_held_out_split_is_stratified_seeded_and_disjoint():
    labels = np.repeat(np.arange(5), [10, 20, 30, 3, 1])
    train, test = held_out_positions(labels, 0.2, seed=4)
    assert not set(train) & set(test) and len(train) + len(test) == len(labels)
    assert [int((labels[test] == c).sum()) for c in range(5)] == [2, 4, 6, 1, 0]  # a lone image stays in train
    again, other = held_out_positions(labels, 0.2, seed=4), held_out_positions(labels, 0.2, seed=5)
    assert np.array_equal(again[1], test) and not np.array_equal(other[1], test)


def test_a_flat_imagefolder_gets_a_held_out_test_split(tmp_path, cifar4k):
    x, y = cifar4k
    data = load_path(write_flat(tmp_path / "flat", x[:100], y[:100]), test_fraction=0.25, seed=1)
    assert data.class_names == sorted(f"class{c}" for c in set(y[:100].tolist()))
    assert len(data.train) + len(data.test) == 100 and data.held_out == {"test_fraction": 0.25, "seed": 1,
                                                                        "stratified": True}
    pixels = {image.tobytes() for image in x[:100]}
    assert all(image.tobytes() in pixels for image in data.test_images)  # PNG is lossless


def test_an_npy_pair_with_one_hot_rows(tmp_path, cifar4k):
    x, y = cifar4k
    np.save(tmp_path / "data.npy", x[:50])
    np.save(tmp_path / "label.npy", np.eye(10, dtype=np.float32)[y[:50]])
    data = load_path(tmp_path)
    assert data.class_names == [str(i) for i in range(10)] and len(data.train) + len(data.test) == 50
    assert np.array_equal(np.sort(np.concatenate([data.train_labels, data.test_labels])), np.sort(y[:50]))
    assert dataset_name(str(tmp_path / "data.npy")) == tmp_path.name
    np.save(tmp_path / "label.npy", np.full((50, 10), 0.1, np.float32))
    with pytest.raises(DatacentricError, match="soft label rows"):
        load_path(tmp_path)


def hf_dataset(images, labels, names):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"img": datasets.Image(), "label": datasets.ClassLabel(names=names)})
    return datasets.Dataset.from_dict({"img": [Image.fromarray(i) for i in images], "label": labels.tolist()},
                                      features=features)


def test_huggingface_on_disk_and_parquet(tmp_path, cifar4k, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    x, y = cifar4k
    names = [f"c{i}" for i in range(10)]
    dataset = hf_dataset(x[:60], y[:60], names)
    from datasets import DatasetDict

    DatasetDict({"train": dataset.select(range(40)), "test": dataset.select(range(40, 60))}).save_to_disk(
        str(tmp_path / "saved"))
    saved = load_path(tmp_path / "saved")
    assert saved.class_names == names and np.array_equal(saved.train_images, x[:40])
    assert np.array_equal(saved.test_labels, y[40:60])
    (tmp_path / "parquet" / "data").mkdir(parents=True)  # a hub repository's layout: data/<split>-*.parquet
    dataset.select(range(40)).to_parquet(str(tmp_path / "parquet" / "data" / "train-00000-of-00001.parquet"))
    dataset.select(range(40, 60)).to_parquet(str(tmp_path / "parquet" / "data" / "test-00000-of-00001.parquet"))
    parquet = load_path(tmp_path / "parquet")
    assert np.array_equal(parquet.test_images, x[40:60]) and parquet.class_names == names


def test_mixed_sizes_are_one_error_before_anything_is_written_and_image_size_resizes_them(tmp_path, cifar4k):
    x, y = cifar4k
    root = write_flat(tmp_path / "mixed", x[:40], y[:40])
    Image.fromarray(x[40]).resize((48, 40)).convert("L").save(root / "class0" / "grey-and-larger.png")
    with pytest.raises(DatacentricError, match="differ in size.*image_size"):
        prepare(str(root), tmp_path / "prepared", tmp_path / "raw", progress=False)
    assert not (tmp_path / "prepared" / "train").exists()
    stores = prepare(str(root), tmp_path / "prepared", tmp_path / "raw", settings=PrepareSettings(image_size=24),
                     shard_size=16, progress=False)
    train = stores["train"]
    assert train.image_shape == (24, 24, 3) and train.manifest["num_shards"] == -(-len(train) // 16) >= 2  # by shard
    assert train.manifest["config"]["image_size"] == 24 and "bicubic" in train.manifest["config"]["resize"]
    again = prepare(str(root), tmp_path / "prepared", tmp_path / "raw", settings=PrepareSettings(image_size=24),
                    shard_size=16, progress=False)
    assert again["train"].manifest["config_hash"] == train.manifest["config_hash"]  # reused, not remade
    with pytest.raises(DatacentricError, match="other data"):
        prepare(str(root), tmp_path / "prepared", tmp_path / "raw", settings=PrepareSettings(image_size=32),
                progress=False)


@pytest.mark.parametrize("grey", [False, True])
def test_npy_rows_read_what_numpy_reads_in_any_order(tmp_path, cifar4k, grey):
    x = cifar4k[0][:300, :, :, 0] if grey else cifar4k[0][:300]
    np.save(tmp_path / "data.npy", x)
    rows = NpyRows(tmp_path / "data.npy")
    expected = x[..., None] if grey else x
    assert rows.shape == expected.shape and len(rows) == 300
    positions = np.array([299, 0, 1, 2, 7, 7, 150, 3, 298])  # runs, repeats, both ends, out of order
    assert np.array_equal(rows[positions], expected[positions])
    with open(tmp_path / "data.npy", "r+b") as file:  # cut short after opening: one error, never short rows
        file.truncate(rows.offset + 10 * rows.row_bytes)
    with pytest.raises(DatacentricError, match="shorter than its header"):
        rows[np.array([20])]
