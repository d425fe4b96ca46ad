"""`inspect`: what a store holds (counts per kind, class and corruption; distance summary) and a preview grid."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from datacentric.core.grid import save_grid
from datacentric.data.samples import Samples
from datacentric.data.store import Store


def summarize(store: Store, samples: Samples) -> dict:
    names = store.class_names
    summary = {
        "path": str(store.root),
        "dataset": store.manifest["dataset"],
        "stage": store.manifest["stage"],
        "samples": len(samples),
        "image_shape": list(samples.images.shape[1:]),
        "soft_labels": samples.soft_labels is not None,
        "config_hash": store.manifest["config_hash"],
        "kinds": dict(Counter(samples.kind.tolist())),
        "classes": {names[c]: int(n) for c, n in zip(*np.unique(samples.labels, return_counts=True))},
        "corruptions": dict(Counter(samples.corruption[samples.corruption != ""].tolist())),
        "norms": {},
    }
    for kind in sorted(summary["kinds"]):
        mask = samples.kind == kind
        summary["norms"][kind] = {
            norm: {"min": float(values.min()), "mean": float(values.mean()), "max": float(values.max())}
            for norm, values in (("l2", samples.l2[mask]), ("linf", samples.linf[mask]))
        }
    return summary


def format_summary(summary: dict) -> str:
    lines = [
        f"store       {summary['path']}  ({summary['dataset']}, stage {summary['stage']}, hash {summary['config_hash']})",
        f"samples     {summary['samples']}  images {'×'.join(map(str, summary['image_shape']))}"
        f"  soft labels: {'yes' if summary['soft_labels'] else 'no'}",
        "kinds       " + ", ".join(f"{k} {n}" for k, n in sorted(summary["kinds"].items())),
        "classes     " + ", ".join(f"{k} {n}" for k, n in summary["classes"].items()),
    ]
    if summary["corruptions"]:
        lines.append("corruptions " + ", ".join(f"{k} {n}" for k, n in sorted(summary["corruptions"].items())))
    for kind, norms in summary["norms"].items():
        lines.append(
            f"norms       {kind:<12} L2 {norms['l2']['min']:.3f}/{norms['l2']['mean']:.3f}/{norms['l2']['max']:.3f}"
            f"  Linf {norms['linf']['min']:.4f}/{norms['linf']['mean']:.4f}/{norms['linf']['max']:.4f}  (min/mean/max)"
        )
    return "\n".join(lines)


def preview(store: Store, samples: Samples, out: Path, *, count: int = 32, seed: int = 0, columns: int = 8) -> None:
    """A grid of `count` random samples captioned with class and kind (or corruption)."""
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(samples), size=min(count, len(samples)), replace=False))
    names = store.class_names
    rows, captions = [], []
    for start in range(0, len(chosen), columns):
        picked = chosen[start : start + columns]
        rows.append([samples.images[i] for i in picked])
        captions.append([f"{names[samples.labels[i]]}\n{samples.corruption[i] or samples.kind[i]}" for i in picked])
    save_grid(rows, out, cell_labels=captions)
