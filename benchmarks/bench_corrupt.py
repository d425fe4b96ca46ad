"""bench-corrupt: the corrupt stage's core on 2,000 CIFAR-10 images with 1 and with 2 worker processes.

Measures the same work (paper14, one corruption per image, 20 tasks of 100 images) side by side;
prints both throughputs and their ratio (goal >= 1.7 on 2 cores), and checks that both runs
produced the same bytes. Store writes are left out: this measures the corruption engine.
Run: make bench-corrupt
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

import numpy as np

from datacentric.core.parallel import map_unordered
from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.suites import get_suite

COUNT, TASK_SIZE, REPEATS = 2000, 100, 5
ARCHIVE_NPZ = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-lossless-4k.npz"


RUNNER = SuiteRunner(get_suite("paper14"))  # built once; forked workers inherit it


def corrupt_task(task: tuple, seed: int) -> tuple[int, np.ndarray]:
    """One task of the corruption part's core: (task id, images, source indices) → (task id, corrupted images)."""
    task_id, images, source_index = task
    return task_id, RUNNER.corrupt_training(images, source_index, seed)[0]


def run(images: np.ndarray, workers: int) -> tuple[float, np.ndarray]:
    tasks = [(i, images[s:s + TASK_SIZE], np.arange(s, s + TASK_SIZE)) for i, s in enumerate(range(0, len(images),
                                                                                              TASK_SIZE))]
    work = functools.partial(corrupt_task, seed=0)
    start = time.perf_counter()
    results = dict((r[0], r[1]) for r in map_unordered(work, tasks, workers=workers, total=len(images),
                                                         size=lambda t: len(t[1]), desc=f"{workers} worker(s)"))
    elapsed = time.perf_counter() - start
    return elapsed, np.concatenate([results[i] for i in sorted(results)])


def main() -> None:
    with np.load(ARCHIVE_NPZ) as npz:
        images = npz["x"][:COUNT]
    run(images[:TASK_SIZE], 1)  # warm-up: imports and suite construction
    one_times, two_times = [], []
    for _ in range(REPEATS):  # alternate, so drift in the machine's speed hits both sides alike
        one_time, one = run(images, 1)
        two_time, two = run(images, 2)
        assert np.array_equal(one, two), "1 and 2 workers must give the same bytes"
        one_times.append(one_time)
        two_times.append(two_time)
    one_time, two_time = min(one_times), min(two_times)
    print(f"paper14 on {COUNT} CIFAR-10 images (lossless subset), same bytes with 1 and 2 workers, "
          f"best of {REPEATS} alternating runs")
    print(f"1 worker : {one_time:.2f} s  {COUNT / one_time:,.0f} img/s")
    print(f"2 workers: {two_time:.2f} s  {COUNT / two_time:,.0f} img/s")
    print(f"ratio 2/1: {one_time / two_time:.2f}  (goal >= 1.7 on 2 cores)")


if __name__ == "__main__":
    main()
