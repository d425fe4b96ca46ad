"""Which TI kernel transfers best at 32×32? Attack the same images with the same surrogates under
several kernels and measure the error of held-out models on the stored (uint8) results.

Run: .venv/bin/python benchmarks/tune_ti.py SURROGATES_DIR HOLDOUT_DIR STORE [COUNT] [ITERATIONS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.transfer import attack_images
from datacentric.data.store import Store
from datacentric.models.predict import predict
from datacentric.models.saved import load_ensemble, load_zoo_models

KERNELS = [(0, 0.0), (3, 1.0), (5, 1.0), (5, 3.0), (7, 2.0), (7, 3.0)]  # (size, sigma); (5, 3) is the published one


def main() -> None:
    surrogates, holdout, store = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    iterations = int(sys.argv[5]) if len(sys.argv) > 5 else 10
    device = torch.device("cpu")
    samples = Store(store).load().select(slice(0, count))
    ensemble, _ = load_ensemble(surrogates, device)
    held, members = load_zoo_models(holdout, device)
    labels = torch.from_numpy(samples.labels)
    clean = [float((predict(m, torch.from_numpy(samples.images)) != labels).float().mean()) for m in held]
    print(f"{count} images, {iterations} iterations; held-out clean error {np.mean(clean):.3f}")
    print("| combine | TI size | TI sigma | held-out error | surrogate error | seconds |")
    print("|---|---|---|---|---|---|")
    for combine in ("linf", "sum"):
        for size, sigma in KERNELS:
            config = AttackConfig(iterations=iterations, combine=combine, ti_size=size, ti_sigma=sigma or 1.0)
            start = time.perf_counter()
            out = attack_images(ensemble, samples.images, samples.labels, samples.source_index, seed=0,
                                config=config, device=device)
            seconds = time.perf_counter() - start
            adversarial = torch.from_numpy(out.images)
            transfer = np.mean([float((predict(m, adversarial) != labels).float().mean()) for m in held])
            white = float((predict(ensemble, adversarial) != labels).float().mean())
            print(f"| {combine} | {size or 'off'} | {sigma if size else '-'} | {transfer:.3f} | {white:.3f} | "
                  f"{seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main()
