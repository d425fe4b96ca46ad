"""Training speed of every zoo member on this machine: images/s with the trainer, and the implied time
for one epoch of 10,000 and of 50,000 images. Small models run 2 epochs of 1,024 images; full-size
ones 1 epoch of 128 (or 64) images, so their per-epoch times are extrapolations, labelled as such.
Run: .venv/bin/python benchmarks/zoo_epoch_times.py [ZOO ...]   [DEVICE=cuda]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from datacentric.core.device import resolve
from datacentric.core.tomlconfig import pipelines_dir, read_toml
from datacentric.models import ARCHITECTURES, create
from datacentric.training.config import TrainConfig, load_zoo
from datacentric.training.trainer import train

LOSSLESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-lossless-4k.npz"


def speed(arch: str, images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> float:
    small = ARCHITECTURES[arch].scale == "small" or device.type == "cuda"
    count, epochs, batch = (1024, 2, 128) if small else (128 if ARCHITECTURES[arch].reference_params < 2e7 else 64,
                                                          1, 32)
    model = create(arch, 10)
    config = TrainConfig(epochs=epochs, batch_size=batch, warmup_epochs=0)
    start = time.perf_counter()
    train(model, images[:count], labels[:count], config, device=device, progress=False)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return epochs * (count // batch) * batch / (time.perf_counter() - start)


def main() -> None:
    device = resolve(os.environ.get("DEVICE", "auto"))
    zoos = sys.argv[1:] or list(read_toml(pipelines_dir() / "zoos.toml"))
    with np.load(LOSSLESS) as npz:
        images, labels = torch.from_numpy(npz["x"]), torch.from_numpy(npz["y"].astype(np.int64))
    measured: dict[str, float] = {}
    print(f"device {device}, {torch.get_num_threads()} threads")
    print("| zoo | member | train img/s | s per epoch of 10k | s per epoch of 50k |")
    print("|---|---|---|---|---|")
    for zoo in zoos:
        for member in load_zoo(zoo):
            if member.arch not in measured:
                measured[member.arch] = speed(member.arch, images, labels, device)
            rate = measured[member.arch]
            note = "" if ARCHITECTURES[member.arch].scale == "small" or device.type == "cuda" else " (extrapolated)"
            print(f"| {zoo} | {member.arch} | {rate:,.1f} | {10_000 / rate:,.0f}{note} | {50_000 / rate:,.0f}{note} |",
                  flush=True)


if __name__ == "__main__":
    main()
