"""`preview`: one row per corruption (and per severity) applied to the same few images, as a PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datacentric.core.grid import save_grid
from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.suites import Suite


def preview_suite(suite: Suite, images: np.ndarray, out: Path, *, seed: int = 0) -> None:
    runner = SuiteRunner(suite)
    index = np.arange(len(images))
    rows, labels = [list(images)], ["original"]
    for (name, severity) in runner.appliers(min(images.shape[1:3])):
        names = np.full(len(images), name)
        corrupted = runner.corrupt_assigned(images, index, names, np.full(len(images), severity), seed)
        change = np.abs(corrupted.astype(np.float32) - images).mean()
        rows.append(list(corrupted))
        labels.append(f"{name}{f' s{severity}' if severity else ''} ({change:.0f})")
    save_grid(rows, out, row_labels=labels, scale=2)
