"""Mean absolute pixel change (0–255) and one-core speed of every corruption of every suite, on real
CIFAR-10 images (the lossless 4k subset): the numbers behind docs/CORRUPTIONS.md.

Run: .venv/bin/python benchmarks/corruption_stats.py [N_IMAGES]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.suites import SUITES

LOSSLESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-lossless-4k.npz"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with np.load(LOSSLESS) as npz:
        images = npz["x"][:count]
    index = np.arange(count)
    for suite in SUITES.values():
        runner = SuiteRunner(suite)
        print(f"\n## {suite.name} ({count} images)\n")
        rows: dict[str, list[str]] = {}
        speeds: dict[str, float] = {}
        for name, severity in runner.appliers:
            start = time.perf_counter()
            out = runner.corrupt_assigned(images, index, np.full(count, name), np.full(count, severity), seed=0)
            speeds[name] = count / (time.perf_counter() - start)
            rows.setdefault(name, []).append(f"{np.abs(out.astype(np.float32) - images).mean():.1f}")
        header = "| corruption | mean abs change | img/s (1 core) |" if suite.kind == "training" else \
            "| corruption | s1 | s2 | s3 | s4 | s5 | img/s at s5 (1 core) |"
        print(header)
        print("|" + "---|" * (header.count("|") - 1))
        for name, values in rows.items():
            print(f"| {name} | {' | '.join(values)} | {speeds[name]:,.0f} |")


if __name__ == "__main__":
    main()
