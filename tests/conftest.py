"""Shared fixtures: the offline real data in ../shared/data, and an isolated data directory per test."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DATACENTRIC_SHARED_DATA", REPO.parent / "shared" / "data"))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the offline datasets are expected in {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def cifar4k(shared_data) -> tuple[np.ndarray, np.ndarray]:
    """The first 4,000 original CIFAR-10 training images (pixel-exact) and labels."""
    with np.load(shared_data / "cifar10-lossless-4k.npz") as npz:
        return npz["x"], npz["y"].astype(np.int64)


@pytest.fixture()
def data_dir(tmp_path, monkeypatch) -> Path:
    """A fresh data directory for the CLI's default paths."""
    monkeypatch.setenv("DATACENTRIC_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture()
def cifar_npz(tmp_path, cifar4k) -> Path:
    """A small real CIFAR-10 dataset as an .npz source: 3,000 training and 1,000 test images."""
    x, y = cifar4k
    path = tmp_path / "cifar-small.npz"
    np.savez(path, x_train=x[:3000], y_train=y[:3000], x_test=x[3000:], y_test=y[3000:],
             class_names=np.array(CIFAR10_CLASSES))
    return path


@pytest.fixture(scope="session")
def trained_models(cifar4k):
    """Three small models trained 3 epochs on the first 2,000 lossless CIFAR images (seconds each):
    two for an attack ensemble, one held out."""
    import torch

    from datacentric.config import TrainConfig
    from datacentric.models import create
    from datacentric.training.trainer import train

    x, y = torch.from_numpy(cifar4k[0][:2000]), torch.from_numpy(cifar4k[1][:2000])
    models = {}
    for arch, seed in (("cifar_vgg_small", 1), ("cifar_resnet8", 2), ("cifar_mobilenetv2_small", 3)):
        torch.manual_seed(seed)
        model = create(arch, 10)
        config = TrainConfig(epochs=3, batch_size=32, lr=0.02, warmup_epochs=0, crop_padding=0, seed=seed)
        models[arch] = train(model, x, y, config, device=torch.device("cpu"), progress=False).eval()
    return models
