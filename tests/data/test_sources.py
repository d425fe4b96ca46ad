import tarfile

import numpy as np
import pytest
from PIL import Image

from datacentric.core.errors import DatacentricError
from datacentric.data.sources import load_dataset, load_path


def write_tree(root, images, labels, names, split):
    for i, (image, label) in enumerate(zip(images, labels)):
        folder = root / split / names[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{i:04d}.png")


def test_imagefolder_tree_and_its_archive_give_the_same_arrays(tmp_path, cifar4k):
    x, y = cifar4k
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    write_tree(tmp_path / "tree", x[:60], y[:60], names, "train")
    write_tree(tmp_path / "tree", x[60:80], y[60:80], names, "test")
    tree = load_path(tmp_path / "tree")
    assert tree.class_names == sorted(set(names[c] for c in y[:60]))
    order = np.argsort(y[:60], kind="stable")  # class-major, files in name order
    remap = {names.index(n): i for i, n in enumerate(tree.class_names)}
    np.testing.assert_array_equal(tree.train_images, x[:60][order])  # PNG is lossless
    np.testing.assert_array_equal(tree.train_labels, [remap[c] for c in y[:60][order]])
    with tarfile.open(tmp_path / "tree.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "tree", arcname="cifar")
    packed = load_path(tmp_path / "tree.tar.gz")
    np.testing.assert_array_equal(packed.train_images, tree.train_images)
    np.testing.assert_array_equal(packed.test_labels, tree.test_labels)


def test_npz_grey_and_colour(tmp_path, shared_data):
    grey = load_path(shared_data / "mnist.npz")
    assert grey.train_images.shape == (60000, 28, 28, 1) and grey.test_images.shape == (10000, 28, 28, 1)
    assert grey.class_names == [str(i) for i in range(10)]
    rgb = tmp_path / "rgb.npz"
    np.savez(rgb, x_train=np.zeros((4, 5, 5, 3), np.uint8), y_train=[0, 1, 2, 1],
             x_test=np.zeros((2, 5, 5, 3), np.uint8), y_test=[0, 2])
    assert load_path(rgb).train_images.shape == (4, 5, 5, 3)


@pytest.mark.parametrize("make, message", [
    (lambda p: p, "does not exist"),
    (lambda p: (p.write_bytes(b"not an archive at all"), p)[1], "not a readable tar archive"),
    (lambda p: (p.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 40), p)[1], "not a readable tar archive"),
])
def test_bad_local_sources(tmp_path, make, message):
    with pytest.raises(DatacentricError, match=message):
        load_path(make(tmp_path / "input.tar.gz"))


def test_truncated_archive(tmp_path, shared_data):
    truncated = tmp_path / "cut.tar.gz"
    truncated.write_bytes((shared_data / "cifar10-jpeg-q75.tar.gz").read_bytes()[:200_000])
    with pytest.raises(DatacentricError, match="not a readable tar archive"):
        load_path(truncated)


def test_npz_with_wrong_dtype_or_missing_keys(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((2, 4, 4), np.float32), y_train=[0, 1], x_test=np.zeros((1, 4, 4), np.uint8),
             y_test=[0])
    with pytest.raises(DatacentricError, match="uint8"):
        load_path(bad)
    np.savez(bad, x_train=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DatacentricError, match="lacks the arrays"):
        load_path(bad)


def test_offline_without_any_source_names_the_ways_to_provide_data(tmp_path, monkeypatch):
    monkeypatch.delenv("DATACENTRIC_CIFAR10_ARCHIVE", raising=False)
    with pytest.raises(DatacentricError, match="DATACENTRIC_CIFAR10_ARCHIVE.*--source"):
        load_dataset("cifar10", tmp_path / "raw", download=False)
    with pytest.raises(DatacentricError, match="unknown dataset"):
        load_dataset("imagenet-9000", tmp_path / "raw")
