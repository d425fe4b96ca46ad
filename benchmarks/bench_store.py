"""bench-store: loading a store into a training tensor vs. making the same tensor from an in-memory array.

Both sides end in the tensor training uses (float32 N×C×H×W in [0, 1]); the store side also reads
every shard from disk and verifies its sha256. Ratio = in-memory time / store time (1.0 = free).
Run: make bench-store  [DATACENTRIC_DATA=... to choose the prepared CIFAR-10 copy]
"""

from __future__ import annotations

import time

import torch

from datacentric.core import paths
from datacentric.data.store import Store
from datacentric.data.tensors import to_float
from datacentric.data.torch_dataset import load_tensors

REPEATS = 5


def best_time(fn) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    root = paths.prepared_dir("cifar10") / "train"
    if not (root / "manifest.json").exists():
        raise SystemExit(f"{root} is missing: run `datacentric prepare cifar10` first")
    in_memory = Store(root).load_images_labels()[0]
    count = len(in_memory)
    memory_time = best_time(lambda: to_float(in_memory))
    store_time = best_time(lambda: to_float(load_tensors(root)[0]))
    raw_time = best_time(lambda: load_tensors(root))
    print(f"store: {root} ({count} images, {torch.get_num_threads()} torch threads, best of {REPEATS})")
    print(f"in-memory uint8 array → training tensor : {memory_time:.3f} s  ({count / memory_time:,.0f} img/s)")
    print(f"store → training tensor (verified)      : {store_time:.3f} s  ({count / store_time:,.0f} img/s)")
    print(f"store → uint8 tensor only (verified)    : {raw_time:.3f} s  ({count / raw_time:,.0f} img/s)")
    print(f"ratio (in-memory time / store time)      : {memory_time / store_time:.2f}  (goal >= 0.5)")


if __name__ == "__main__":
    main()
