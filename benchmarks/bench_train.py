"""bench-train: time to accuracy of the training recipes, and the trainer's throughput, side by side in one run.

Part 1, time to accuracy. On a seeded draw of 10,000 and on all 50,000 CIFAR-10 training images (the JPEG
copy, `datacentric prepare cifar10`), each run trains from scratch and is evaluated on the JPEG test copy
(10,000 images, no test-time augmentation) after every epoch; the minutes of training (evaluation excluded)
until it first reaches 60, 70, 80 and 90 % are reported, with its final accuracy with and without the recipe's
test-time augmentation. Runs:
- `fast` recipe on the fast family (cifar_airnet_m);
- `cpu` recipe on the same architecture, for the CPU default's 18 target epochs;
- `cpu` recipe on today's CPU target models, cifar_resnet8 and cifar_vgg_small, 18 epochs;
- `fast` recipe on those two models (every technique but the whitening stem, which they lack);
- `fast-full` (batch 1,024, 10 epochs) on the fast family: the recipe for all 50,000 images.
The ratio line gives the minutes the fast recipe needs to reach each `cpu` run's final accuracy over that run's
minutes (goal ≤ 1/3 on the same architecture family).

Part 2, throughput: training and inference images/s of every fast-family width and today's CPU models
(batch 512, best of 3), and the trainer against a bare PyTorch loop on cifar_resnet8 (goal ≥ 0.9 on CPU).

The CPU's instruction set (AVX2, AVX-512, native bf16) is printed first: results differ by severalfold.
Run: make bench-train   [SIZES=10000 to skip the 50,000-image runs; ONLY=fast,cpu-resnet8 to pick runs;
                         FAST_SET="epochs=5,batch_size=256" to change the `fast` recipe's keys;
                         DEVICE=cuda on a GPU; PART=speed or PART=time for one part]
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from datacentric.core.device import native_bf16, resolve
from datacentric.data.torch_dataset import load_tensors
from datacentric.models import create
from datacentric.models.predict import accuracy
from datacentric.training.augment import crop_flip, draw_augmentation
from datacentric.training.config import TrainConfig, load_recipe
from datacentric.training.trainer import evaluator, train

REPO = Path(__file__).resolve().parents[1]
PREPARED = REPO / "data" / "prepared" / "cifar10"
ARCHIVE = REPO.parent / "shared" / "data" / "cifar10-jpeg-q75.tar.gz"
LOSSLESS = REPO.parent / "shared" / "data" / "cifar10-lossless-4k.npz"
FAST_ARCH = "cifar_airnet_m"
CPU_EPOCHS = 18  # the CPU default's target training with the `cpu` recipe (pipelines/cifar10.toml before `fast`)
RUNS = {  # name: (architecture, recipe, epochs or None for the recipe's own)
    "fast": (FAST_ARCH, "fast", None),
    "cpu-airnet": (FAST_ARCH, "cpu", CPU_EPOCHS),
    "cpu-resnet8": ("cifar_resnet8", "cpu", CPU_EPOCHS),
    "cpu-vgg": ("cifar_vgg_small", "cpu", CPU_EPOCHS),
    "fast-full": (FAST_ARCH, "fast-full", None),  # airbench's batch and 10 epochs: the model for all 50,000 images
    "fast-resnet8": ("cifar_resnet8", "fast", None),  # the techniques on other families (no whitening stem there)
    "fast-vgg": ("cifar_vgg_small", "fast", None),
}
THRESHOLDS = (60, 70, 80, 90)
SPEED_ARCHS = ("cifar_airnet_s", "cifar_airnet_m", "cifar_airnet_l", "cifar_resnet8", "cifar_vgg_small",
               "cifar_resnet20", "cifar_wrn_16_2")


def cpu_line(device: torch.device) -> str:
    flags = set()
    if Path("/proc/cpuinfo").exists():
        for line in open("/proc/cpuinfo"):
            if line.startswith(("flags", "Features")):
                flags = set(line.split(":", 1)[1].split())
                break
    sets = [name for name in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if name in flags] or ["none of AVX2/AVX-512"]
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    return (f"{platform.processor() or platform.machine()}{gpu}: {' '.join(sets)}; native bf16: {native_bf16(device)}; "
            f"{torch.get_num_threads()} threads; torch {torch.__version__}")


def cifar10() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The JPEG copy's 50,000 training and 10,000 test images (prepared once from the offline archive when
    torchvision's files are absent)."""
    if not (PREPARED / "test" / "manifest.json").exists():
        env = {**os.environ, "DATACENTRIC_DATA": str(REPO / "data"), "DATACENTRIC_CIFAR10_ARCHIVE": str(ARCHIVE)}
        subprocess.run([sys.executable, "-m", "datacentric", "prepare", "cifar10"], check=True, env=env)
    train_x, train_y, _ = load_tensors(PREPARED / "train")
    test_x, test_y, _ = load_tensors(PREPARED / "test")
    return train_x, train_y, test_x, test_y


def time_to_accuracy(name: str, data: tuple, count: int, device: torch.device) -> dict:
    arch, recipe, epochs = RUNS[name]
    train_x, train_y, test_x, test_y = data
    chosen = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(0))[:count]
    overrides = fast_overrides() if recipe == "fast" else {}
    config = load_recipe(recipe, **{"epochs": epochs, **overrides})
    torch.manual_seed(config.seed)
    model = create(arch, 10)
    with tempfile.TemporaryDirectory() as folder:
        metrics = Path(folder) / "metrics.jsonl"
        model = train(model, train_x[chosen], train_y[chosen], config, device=device, metrics=metrics,
                      evaluate=evaluator(test_x, test_y, 1000), desc=name)
        records = [json.loads(line) for line in metrics.read_text().splitlines()]
    elapsed = np.cumsum([record["seconds"] for record in records]) / 60
    reached = {t: next((float(m) for m, r in zip(elapsed, records) if r["test_acc"] >= t), None) for t in THRESHOLDS}
    curve = [(float(m), r["test_acc"]) for m, r in zip(elapsed, records)]
    return {"run": name, "arch": arch, "recipe": recipe, "images": count, "epochs": config.epochs,
            "minutes": float(elapsed[-1]), "reached": reached, "curve": curve, "final": records[-1]["test_acc"],
            "tta": config.tta, "final_tta": accuracy(model, test_x, test_y, batch_size=1000, tta=config.tta),
            "images_per_s": float(np.mean([r["images_per_s"] for r in records])), "bf16": records[-1]["bf16"]}


def fast_overrides() -> dict:
    """FAST_SET="epochs=5,batch_size=256,lr=0.75": recipe keys the `fast` runs change (TOML values)."""
    text = os.environ.get("FAST_SET", "")
    return tomllib.loads("\n".join(text.split(","))) if text else {}


def minutes_to(result: dict, target: float) -> float | None:
    return next((minutes for minutes, acc in result["curve"] if acc >= target), None)


def report_time(results: list[dict]) -> None:
    print("\nTime to accuracy on the JPEG test copy (no test-time augmentation; minutes of training):")
    print(f"{'run':12s} {'arch':16s} {'images':>6s} {'ep':>3s} {'img/s':>6s}" +
          "".join(f" {f'{t}%':>6s}" for t in THRESHOLDS) + f" {'final':>6s} {'+TTA':>6s} {'total':>6s}")
    for r in results:
        cells = "".join(f" {r['reached'][t]:6.1f}" if r["reached"][t] is not None else f" {'-':>6s}" for t in THRESHOLDS)
        tta = f"{r['final_tta']:6.2f}" if r["tta"] != "none" else f"{'':6s}"
        print(f"{r['run']:12s} {r['arch']:16s} {r['images']:6d} {r['epochs']:3d} {r['images_per_s']:6.0f}{cells} "
              f"{r['final']:6.2f} {tta} {r['minutes']:6.1f}")
    for fast in (r for r in results if r["recipe"] == "fast"):
        for other in (r for r in results if r["recipe"] == "cpu" and r["images"] == fast["images"]
                      and r["arch"] == fast["arch"]):
            reached = minutes_to(fast, other["final"])
            if reached is None:
                print(f"{fast['images']} images: {fast['run']} never reached {other['run']}'s final {other['final']:.2f} %")
            else:
                print(f"{fast['images']} images, {fast['arch']}: {fast['run']} reaches {other['run']}'s final "
                      f"{other['final']:.2f} % in {reached:.1f} min vs {other['minutes']:.1f}: ratio "
                      f"{reached / other['minutes']:.2f} (goal <= 0.33)")


def throughput(arch: str, device: torch.device, bf16: bool) -> tuple[float, float]:
    """Training and inference images/s of `arch` on one batch of 512 random images (best of 3)."""
    torch.manual_seed(0)
    model = create(arch, 10).to(device, memory_format=torch.channels_last)
    x = torch.rand(512, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (512,), device=device)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    train_times, infer_times = [], []
    for repeat in range(4):
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_times.append(time.perf_counter() - start)
        model.eval()
        start = time.perf_counter()
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            model(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
        infer_times.append(time.perf_counter() - start)
        model.train()
    return 512 / min(train_times[1:]), 512 / min(infer_times[1:])  # the first repeat warms up


def bare_loop(images: torch.Tensor, labels: torch.Tensor, device: torch.device, epochs: int = 2) -> float:
    """A plain fp32 loop on cifar_resnet8: NCHW float batches cut from a CPU tensor, moved to the device."""
    torch.manual_seed(0)
    model = create("cifar_resnet8", 10).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    data = images.permute(0, 3, 1, 2).float().div(255)
    start, seen = time.perf_counter(), 0
    for epoch in range(epochs):
        generator = torch.Generator().manual_seed(epoch)
        order = torch.randperm(len(data), generator=generator)
        offsets, flips = draw_augmentation(len(data), 4, generator)
        for step in range(len(data) // 128):
            index = order[step * 128 : (step + 1) * 128]
            batch = crop_flip(data[index], offsets[index], flips[index], 4, True).to(device)
            loss = F.cross_entropy(model(batch), labels[index].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seen += len(index)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def trainer_speed(images: torch.Tensor, labels: torch.Tensor, device: torch.device, epochs: int = 2) -> float:
    torch.manual_seed(0)
    config = TrainConfig(epochs=epochs, batch_size=128, warmup_epochs=0)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        train(create("cifar_resnet8", 10), images, labels, config, device=device, checkpoint=Path(folder) / "c.pt",
              metrics=Path(folder) / "m.jsonl", progress=False)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return epochs * (len(images) // 128) * 128 / (time.perf_counter() - start)


def report_speed(device: torch.device) -> None:
    bf16 = native_bf16(device)
    print(f"\nThroughput, batch 512, best of 3 (bf16 autocast: {bf16}):")
    print(f"{'arch':18s} {'params':>7s} {'train img/s':>12s} {'infer img/s':>12s}")
    for arch in SPEED_ARCHS:
        params = sum(p.numel() for p in create(arch, 10).parameters()) / 1e6
        train_rate, infer_rate = throughput(arch, device, bf16)
        print(f"{arch:18s} {params:6.2f}M {train_rate:12.0f} {infer_rate:12.0f}")
    with np.load(LOSSLESS) as npz:
        images, labels = torch.from_numpy(npz["x"]), torch.from_numpy(npz["y"].astype(np.int64))
    bare = max(bare_loop(images, labels, device) for _ in range(3))
    ours = max(trainer_speed(images, labels, device) for _ in range(3))
    print(f"trainer vs bare PyTorch loop (cifar_resnet8, 4,000 images, 2 epochs, best of 3): {ours:.0f} vs "
          f"{bare:.0f} img/s, ratio {ours / bare:.2f} (goal >= 0.9 on CPU)")


def main() -> None:
    device = resolve(os.environ.get("DEVICE", "auto"))
    print(cpu_line(device))
    part = os.environ.get("PART", "all")
    if part in ("all", "speed"):
        report_speed(device)
    if part in ("all", "time"):
        data = cifar10()
        sizes = [int(s) for s in os.environ.get("SIZES", "10000,50000").split(",")]
        only = os.environ.get("ONLY", ",".join(RUNS)).split(",")
        if set(only) - set(RUNS):
            raise SystemExit(f"error: ONLY names unknown runs {sorted(set(only) - set(RUNS))}; known: {', '.join(RUNS)}")
        results = []
        for count in sizes:
            for name in only:
                try:
                    results.append(time_to_accuracy(name, data, min(count, len(data[0])), device))
                except ValueError as error:  # the trainer stops on a non-finite loss
                    print(f"{name}, {count} images: {error}", flush=True)
                    continue
                print(json.dumps({k: v for k, v in results[-1].items() if k != "curve"}), flush=True)
        report_time(results)


if __name__ == "__main__":
    main()
