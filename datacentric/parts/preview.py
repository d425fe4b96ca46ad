"""The parts' preview grid: one row per part of a run, one image per class, captioned with what made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datacentric.core.grid import save_grid
from datacentric.data.store import Store


def caption(samples, i: int, class_names: list[str]) -> str:
    """Class, then on a second line the provenance that applies: the corruption, target class, mixup weight,
    or budget drawn (ASCII: the default bitmap font has no Greek letters)."""
    text = class_names[int(samples.labels[i])]
    if samples.corruption[i]:
        return f"{text}\n{samples.corruption[i]}"
    if samples.target_class[i] >= 0:
        return f"{text}\n-> {class_names[int(samples.target_class[i])]}"
    if samples.mix_lambda[i] < 1:
        return f"{text}\nmix {samples.mix_lambda[i]:.2f}"
    if np.isfinite(samples.budget[i]):
        return f"{text}\neps {samples.budget[i]:.2g}"
    return text


def across_classes(labels: np.ndarray, count: int) -> np.ndarray:
    """Up to `count` indices, the first image of each class in class order, then the next of each, and so on:
    a class-sorted store shows every class, not its first class only."""
    order = np.argsort(labels, kind="stable")
    rank = np.empty(len(labels), dtype=np.int64)  # an image's position among the images of its class
    starts = np.searchsorted(labels[order], labels[order], side="left")
    rank[order] = np.arange(len(labels)) - starts
    return np.lexsort((labels, rank))[:count]


def preview_parts(parts_dir: Path, names: list[str], out: Path, *, count: int = 10) -> None:
    """Write `out` with one row per non-empty part store under `parts_dir`."""
    rows, labels, captions = [], [], []
    for name in names:
        folder = parts_dir / name
        if not (folder / "manifest.json").exists() or not len(Store(folder)):
            continue
        store = Store(folder)
        samples = store.load()
        shown = across_classes(np.asarray(samples.labels), count)
        rows.append([samples.images[i] for i in shown])
        labels.append(f"{name} ({store.manifest['config']['generator']})")
        captions.append([caption(samples, i, store.class_names) for i in shown])
    if rows:
        save_grid(rows, out, row_labels=labels, cell_labels=captions)
