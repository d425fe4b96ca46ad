"""Shared fixtures: the offline real data in ../shared/data, and an isolated data directory per test."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from filelock import FileLock

from datacentric.models import create
from datacentric.training.config import TrainConfig
from datacentric.training.trainer import train

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("DATACENTRIC_SHARED_DATA", REPO.parent / "shared" / "data"))
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def pytest_configure(config) -> None:
    """Under pytest-xdist (`make test` runs two workers on two cores), one thread per worker and per process it
    starts: two workers with a thread per core each would oversubscribe the cores."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        torch.set_num_threads(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    assert SHARED_DATA.is_dir(), f"the offline datasets are expected in {SHARED_DATA}"
    return SHARED_DATA


@pytest.fixture(scope="session")
def cifar4k(shared_data) -> tuple[np.ndarray, np.ndarray]:
    """The first 4,000 original CIFAR-10 training images (pixel-exact) and labels."""
    with np.load(shared_data / "cifar10-lossless-4k.npz") as npz:
        return npz["x"], npz["y"].astype(np.int64)


def once_per_session(tmp_path_factory, name: str, make: Callable[[Path], None]) -> Path:
    """A folder that `make(folder)` fills once per test session: under pytest-xdist the first worker to ask makes
    it in the session's shared temporary root and the others wait for it (a lock), instead of each worker paying
    for it again. Users only read it, or copy it before they change anything."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent  # the workers' temporary folders share this parent
    folder, done = root / name, root / f"{name}.done"
    with FileLock(str(root / f"{name}.lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def prepared(tmp_path_factory, shared_data) -> Path:
    """A data directory with CIFAR-10 prepared from the offline archive (JPEG copy), once per session: the
    pipeline tests copy its `prepared/` folder (`tests.helpers.copy_prepared`)."""
    def make(folder: Path) -> None:
        env = {**os.environ, "DATACENTRIC_DATA": str(folder),
               "DATACENTRIC_CIFAR10_ARCHIVE": str(shared_data / "cifar10-jpeg-q75.tar.gz")}
        subprocess.run([sys.executable, "-m", "datacentric", "prepare", "cifar10"], check=True, env=env,
                       capture_output=True)
    return once_per_session(tmp_path_factory, "prepared", make)


def pip_install(target: Path, extras: str = "") -> Path:
    """`pip install <this checkout>[extras]` into a fresh virtual environment at `target`, as a user installs it,
    offline: the environment sees this one's packages through a .pth line, so pip resolves every requirement
    against them (`--no-index`: nothing is downloaded). Installs the checkout's files (tracked and untracked,
    not ignored) copied outside it, so no build output lands in the checkout. Returns its `datacentric`."""
    source = target.parent / f"{target.name}-source"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_symlink() or (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name, follow_symlinks=False)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    python = target / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    outer = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "outer-environment.pth").write_text(outer + "\n")
    result = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
                             "--no-build-isolation", "--quiet", f"{source}{extras}"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return target / "bin" / "datacentric"


@pytest.fixture(scope="session")
def installed(tmp_path_factory) -> Path:
    """The `datacentric` command of a plain `pip install` (no extras) outside the checkout."""
    folder = once_per_session(tmp_path_factory, "install", lambda folder: pip_install(folder / "venv"))
    return folder / "venv" / "bin" / "datacentric"


def enhance_smoke(data: Path, *args: str, command: tuple[str, ...] = (sys.executable, "-m", "datacentric"),
                  pipeline: str | Path = "smoke") -> subprocess.CompletedProcess:
    """`enhance pipelines/<pipeline>.toml` in data directory `data`, as a user runs it (a real process), with one
    thread per process: torchrun's default, so every smoke run, one process or several ranks, has the same
    arithmetic and can be compared byte for byte."""
    env = {**os.environ, "DATACENTRIC_DATA": str(data), "OMP_NUM_THREADS": "1"}
    path = pipeline if isinstance(pipeline, Path) else REPO / "pipelines" / f"{pipeline}.toml"
    result = subprocess.run([*command, "enhance", str(path), *args], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="session")
def smoke_run(prepared, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """The smoke pipeline run once, in one process: (its data directory, the finished process). Tests read it, or
    copy it (`shutil.copytree`) before they change anything."""
    def make(folder: Path) -> None:
        shutil.copytree(prepared / "prepared", folder / "data" / "prepared")
        result = enhance_smoke(folder / "data")
        (folder / "stdout.txt").write_text(result.stdout)
        (folder / "stderr.txt").write_text(result.stderr)
    folder = once_per_session(tmp_path_factory, "smoke", make)
    finished = subprocess.CompletedProcess(["enhance", "smoke"], 0, (folder / "stdout.txt").read_text(),
                                           (folder / "stderr.txt").read_text())
    return folder / "data", finished


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
def trained_weights(cifar4k, tmp_path_factory) -> dict:
    """Three small models trained 3 epochs on the first 2,000 lossless CIFAR images: two for an attack ensemble,
    one held out. fp32 with one thread, whatever the machine: bf16 training (AVX512-BF16 machines) or another
    thread count would train other models, and the attack tests' margins are measured on these."""
    def make(folder: Path) -> None:
        x, y = torch.from_numpy(cifar4k[0][:2000]), torch.from_numpy(cifar4k[1][:2000])
        threads, weights = torch.get_num_threads(), {}
        torch.set_num_threads(1)
        try:
            for arch, seed in (("cifar_vgg_small", 1), ("cifar_resnet8", 2), ("cifar_mobilenetv2_small", 3)):
                torch.manual_seed(seed)
                config = TrainConfig(epochs=3, batch_size=32, lr=0.02, warmup_epochs=0, crop_padding=0, seed=seed,
                                     bf16=False)
                model = train(create(arch, 10), x, y, config, device=torch.device("cpu"), progress=False)
                weights[arch] = model.state_dict()
        finally:
            torch.set_num_threads(threads)
        torch.save(weights, folder / "weights.pt")
    return torch.load(once_per_session(tmp_path_factory, "trained-weights", make) / "weights.pt", weights_only=True)


def fresh_models(weights: dict) -> dict:
    """New models (eval mode) holding the trained weights: no user of them sees another's changes."""
    models = {}
    for arch, state in weights.items():
        models[arch] = create(arch, 10)
        models[arch].load_state_dict(state)
        models[arch].eval()
    return models


@pytest.fixture()
def trained_models(trained_weights) -> dict:
    """Fresh copies of the trained models for each test."""
    return fresh_models(trained_weights)


@pytest.fixture(scope="module")
def module_models(trained_weights) -> dict:
    """Fresh copies of the trained models for a module-scoped fixture (they write them to zoo folders)."""
    return fresh_models(trained_weights)
