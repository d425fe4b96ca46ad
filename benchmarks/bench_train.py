"""bench-train: the trainer's images/s against a bare PyTorch loop on the same model, data and device.

Both sides: cifar_resnet8, 4,000 real CIFAR-10 images (lossless subset) as a uint8 tensor, batch
128, SGD with momentum, random crop + flip on the device, 2 epochs, alternating 3 times (best
of 3). The bare loop is the minimum a person would write; the trainer adds the lr schedule,
metrics, checkpoints and progress bar. Ratio = trainer images/s ÷ bare images/s (goal ≥ 0.9 on
CPU, ≥ 1.5 on a GPU where bf16 + channels_last pay off). The trainer runs twice: as configured
(bf16 autocast where the device computes bf16 natively) and with `bf16=False`, so the share of the
ratio that bf16 buys is visible.
Run: make bench-train   [DEVICE=cuda to measure on a GPU]
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from datacentric.core.device import native_bf16, resolve
from datacentric.models import create
from datacentric.training.augment import crop_flip, draw_augmentation
from datacentric.training.config import TrainConfig
from datacentric.training.trainer import train

ARCH, EPOCHS, BATCH, REPEATS = "cifar_resnet8", 2, 128, 3
LOSSLESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-lossless-4k.npz"


def bare_loop(images: torch.Tensor, labels: torch.Tensor, device: torch.device) -> float:
    """A plain fp32 loop: NCHW float batches cut from a CPU tensor, moved to the device each step."""
    torch.manual_seed(0)
    model = create(ARCH, 10).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    data = images.permute(0, 3, 1, 2).float().div(255)
    start, seen = time.perf_counter(), 0
    for epoch in range(EPOCHS):
        generator = torch.Generator().manual_seed(epoch)
        order = torch.randperm(len(data), generator=generator)
        offsets, flips = draw_augmentation(len(data), 4, generator)
        for step in range(len(data) // BATCH):
            index = order[step * BATCH : (step + 1) * BATCH]
            batch = crop_flip(data[index], offsets[index], flips[index], 4, True).to(device)
            loss = F.cross_entropy(model(batch), labels[index].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(index)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def trainer(images: torch.Tensor, labels: torch.Tensor, device: torch.device, bf16: bool = True) -> float:
    torch.manual_seed(0)
    model = create(ARCH, 10)
    config = TrainConfig(epochs=EPOCHS, batch_size=BATCH, lr=0.05, warmup_epochs=0, bf16=bf16)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        train(model, images, labels, config, device=device, checkpoint=Path(folder) / "c.pt",
              metrics=Path(folder) / "m.jsonl", progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
    return EPOCHS * (len(images) // BATCH) * BATCH / elapsed


def main() -> None:
    device = resolve(os.environ.get("DEVICE", "auto"))
    with np.load(LOSSLESS) as npz:
        images, labels = torch.from_numpy(npz["x"]), torch.from_numpy(npz["y"].astype(np.int64))
    bare, ours, fp32 = [], [], []
    for _ in range(REPEATS):
        bare.append(bare_loop(images, labels, device))
        ours.append(trainer(images, labels, device))
        fp32.append(trainer(images, labels, device, bf16=False))
    print(f"{ARCH}, {len(images)} CIFAR-10 images, batch {BATCH}, {EPOCHS} epochs, device {device}, "
          f"{torch.get_num_threads()} threads, best of {REPEATS}, native bf16: {native_bf16(device)}")
    print(f"bare PyTorch loop      : {max(bare):8.1f} img/s")
    print(f"datacentric train      : {max(ours):8.1f} img/s")
    print(f"datacentric train, fp32: {max(fp32):8.1f} img/s")
    print(f"ratio                  : {max(ours) / max(bare):.2f}  (goal >= 0.9 on CPU, >= 1.5 on a GPU)")
    print(f"ratio, fp32 trainer    : {max(fp32) / max(bare):.2f}")


if __name__ == "__main__":
    main()
