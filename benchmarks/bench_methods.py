"""bench-methods: every training method against `standard`, on the same images, model, epochs and test set.

Each method trains cifar_resnet8 with its CPU recipe (`cpu` for standard, `cpu-<method>` otherwise, all
8 epochs from pipelines/recipes.toml) on the CPU default's 10,000-image stratified training subset (seed
0) of the prepared CIFAR-10, then is measured on 1,000 test images: clean accuracy, white-box PGD-10 and
FGSM accuracy (L∞ 8/255, on the model itself), and accuracy under Gaussian noise (σ 0.08 and 0.10,
CIFAR-10-C's severities 3 and 5). Cost: wall time and image passes relative to `standard`, measured in
this run. Prints one table (markdown) and writes it to data/bench/methods.json.
Run: make bench-methods   [METHODS=standard,pgd_at to run some; DEVICE=cuda]
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch

from datacentric.attacks.evaluation import fgsm, pgd
from datacentric.attacks.transfer import attack_images
from datacentric.core import paths
from datacentric.core.device import resolve
from datacentric.core.io import write_json_atomic
from datacentric.data.split import split_indices
from datacentric.data.stages import prepare
from datacentric.data.store import Store
from datacentric.models import create
from datacentric.models.predict import accuracy
from datacentric.training.config import load_recipe
from datacentric.training.trainer import train

ARCH, SUBSET, TEST, SEED = "cifar_resnet8", 10_000, 1_000, 0
METHODS = ("standard", "pgd_at", "iat", "mtlat", "gnt", "speckle", "ant")
NOISE_SIGMAS = (0.08, 0.10)


def recipe_for(method: str):
    return load_recipe("cpu" if method == "standard" else f"cpu-{method}")


def measure(model, images: np.ndarray, labels: np.ndarray, device: torch.device) -> dict:
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    index = np.arange(len(images))
    result = {"clean": accuracy(model, x, y, device=device)}
    for name, config in (("pgd10", pgd(8 / 255, 10, "linf")), ("fgsm", fgsm(8 / 255))):
        attacked = attack_images(model, images, labels, index, seed=SEED, config=config, device=device,
                                 require_perturbed=False).images
        result[name] = accuracy(model, torch.from_numpy(attacked), y, device=device)
    generator = torch.Generator().manual_seed(SEED)
    for sigma in NOISE_SIGMAS:
        noisy = (x.float() / 255 + sigma * torch.randn(x.shape, generator=generator)).clamp(0, 1)
        result[f"noise{sigma}"] = accuracy(model, torch.round(noisy * 255).to(torch.uint8), y, device=device)
    return result


def main() -> None:
    device = resolve(os.environ.get("DEVICE", "auto"))
    chosen = os.environ.get("METHODS", ",".join(METHODS)).split(",")
    prepared = paths.prepared_dir("cifar10")
    prepare("cifar10", prepared, paths.raw_dir(), progress=False)
    train_samples, test_samples = Store(prepared / "train").load(), Store(prepared / "test").load()
    subset = split_indices(train_samples.labels, [1.0], seed=SEED, stratify=True, limit=SUBSET, parts=("all",))["all"]
    images, labels = torch.from_numpy(train_samples.images[subset]), torch.from_numpy(train_samples.labels[subset])
    test_images, test_labels = test_samples.images[:TEST], test_samples.labels[:TEST]
    rows = {}
    for method in chosen:
        config = recipe_for(method)
        torch.manual_seed(config.seed)
        started = time.perf_counter()
        metrics = paths.data_dir() / "bench" / f"methods-{method}.jsonl"
        metrics.parent.mkdir(parents=True, exist_ok=True)
        model = train(create(ARCH, 10), images, labels, config, device=device, metrics=metrics, progress=False)
        seconds = time.perf_counter() - started
        lines = [json.loads(line) for line in metrics.read_text().splitlines()]
        rows[method] = {"seconds": seconds, "forward_images": sum(r["forward_images"] for r in lines),
                        "backward_images": sum(r["backward_images"] for r in lines),
                        **measure(model.eval(), test_images, test_labels, device)}
        print(f"{method}: {json.dumps({k: round(v, 2) for k, v in rows[method].items()})}", file=sys.stderr, flush=True)
    base = rows.get("standard")
    header = ["method", "clean", "PGD-10", "FGSM", *(f"noise σ {s}" for s in NOISE_SIGMAS), "time ×", "passes ×"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, row in rows.items():
        ratio = (lambda key: f"{row[key] / base[key]:.2f}") if base else (lambda key: "–")
        lines.append(f"| {method} | {row['clean']:.1f} | {row['pgd10']:.1f} | {row['fgsm']:.1f} | "
                     + " | ".join(f"{row[f'noise{s}']:.1f}" for s in NOISE_SIGMAS)
                     + f" | {ratio('seconds')} | {ratio('forward_images')} |")
    print(f"{ARCH}, {SUBSET} training images, 8 epochs (CPU recipes), {TEST} test images, device {device}")
    print("\n".join(lines))
    out = paths.data_dir() / "bench" / "methods.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out, {"device": str(device), "rows": rows})


if __name__ == "__main__":
    main()
