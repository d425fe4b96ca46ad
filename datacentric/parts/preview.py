"""The parts' preview grid: one row per part of a run, its first images, captioned with what made them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datacentric.core.grid import save_grid
from datacentric.data.store import Store


def caption(samples, i: int, class_names: list[str]) -> str:
    """Class, then the provenance that applies: target class, mixup λ, or budget drawn."""
    text = class_names[int(samples.labels[i])][:5]
    if samples.target_class[i] >= 0:
        text += f">{class_names[int(samples.target_class[i])][:4]}"
    elif samples.mix_lambda[i] < 1:
        text += f" λ{samples.mix_lambda[i]:.2f}"
    elif np.isfinite(samples.budget[i]):
        text += f" {samples.budget[i]:.2g}"
    return text


def preview_parts(parts_dir: Path, names: list[str], out: Path, *, count: int = 8) -> None:
    """Write `out` with one row per non-empty part store under `parts_dir`."""
    rows, labels, captions = [], [], []
    for name in names:
        folder = parts_dir / name
        if not (folder / "manifest.json").exists() or not len(Store(folder)):
            continue
        store = Store(folder)
        samples = store.load()
        shown = min(count, len(samples))
        rows.append([samples.images[i] for i in range(shown)])
        labels.append(f"{name} ({store.manifest['config']['generator']})")
        captions.append([caption(samples, i, store.class_names) for i in range(shown)])
    if rows:
        save_grid(rows, out, row_labels=labels, cell_labels=captions)
