"""Dataset cards: what an (enhanced) store holds and how it was made, as card.md with figures."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import h5py
import numpy as np
import torch

from datacentric.core.grid import pyplot, save_figure
from datacentric.core.io import write_text_atomic
from datacentric.data.inspect import preview, summarize
from datacentric.data.store import Store
from datacentric.parts.provenance import part_stores


def _provenance(store: Store) -> dict:
    """The store's own config and, for an assembled store, the manifests of the stores it was made from."""
    parts = {}
    for name, part in part_stores(store).items():
        parts[name] = {"missing": True} if part is None else {
            "store": str(part.root), "stage": part.manifest["stage"], "config_hash": part.manifest["config_hash"],
            "seed": part.manifest["seed"], "extra": part.manifest["extra"]}
    return {"stage": store.manifest["stage"], "config_hash": store.manifest["config_hash"],
            "seed": store.manifest["seed"], "package_version": store.manifest["package_version"],
            "versions": {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
                         "h5py": h5py.__version__}, "parts": parts}


def write_card(store_path: Path, out: Path) -> None:
    plt = pyplot()

    store = Store(store_path)
    samples = store.load()
    summary = summarize(store, samples)
    provenance = _provenance(store)
    out.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for axis, norm in zip(axes, ("l2", "linf")):
        for kind in sorted(summary["kinds"]):
            values = getattr(samples, norm)[samples.kind == kind]
            if values.max() > 0:
                axis.hist(values, bins=40, alpha=0.6, label=kind)
        axis.set_xlabel(f"{norm} distance from the source image ([0, 1] pixels)")
        axis.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, out / "norms.png")
    plt.close(figure)
    preview(store, samples, out / "examples.png", count=40, columns=10)
    transfer = {path: part["extra"].get("transfer_error") for path, part in provenance["parts"].items()
                if part.get("extra", {}).get("transfer_error")}
    lines = [f"# Dataset card: {store_path}", "",
             f"{summary['samples']} samples of {summary['dataset']}, images "
             f"{'×'.join(map(str, summary['image_shape']))}, stage `{summary['stage']}`.", "",
             "## Counts", "", "| kind | samples |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(summary["kinds"].items())]
    lines += ["", "| class | samples |", "|---|---|"] + [f"| {k} | {v} |" for k, v in summary["classes"].items()]
    if summary["corruptions"]:
        lines += ["", "| corruption | samples |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(summary["corruptions"].items())]
    lines += ["", "## Perturbation norms", "", "![norms](norms.png)", ""]
    for kind, norms in summary["norms"].items():
        lines.append(f"- {kind}: L2 mean {norms['l2']['mean']:.3f} (max {norms['l2']['max']:.3f}), "
                     f"L∞ mean {norms['linf']['mean']:.4f} (max {norms['linf']['max']:.4f})")
    lines += ["", "## Examples", "", "![examples](examples.png)", "", "## Transfer success on held-out models", ""]
    lines += [f"- `{path}`: " + ", ".join(f"{name} error {v['adversarial']:.3f} (clean {v['clean']:.3f})"
                                            for name, v in rates.items()) for path, rates in transfer.items()] or \
        ["- not measured: no part of this store was attacked with held-out models beside it (a pipeline's "
         "attack stage measures its evaluation ensemble; `datacentric attack --holdout ZOO` does the same)"]
    lines += ["", "## Provenance", "", "```json", json.dumps(provenance, indent=1, sort_keys=True), "```", ""]
    write_text_atomic(out / "card.md", "\n".join(lines))
