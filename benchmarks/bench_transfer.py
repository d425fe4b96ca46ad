"""bench-transfer: which of MI, MI+TI, MI+DI, MI+TI+DI transfers, measured on models nobody tuned against.

Attacks the first COUNT images of a finished CPU run's adversarial part with its surrogates, once per
variant and attack seed, at the run's own attack settings (budget, iterations, loss, target) with only
TI and DI switched, and measures each victim on the stored uint8 results: the independent attacker's
models (trained on the reserve, never tuned against: the reference for choosing defaults), the
evaluation ensemble's models (trained like the surrogates: the number earlier tables tuned against),
and the surrogates themselves (white-box, for scale). Per victim: accuracy on the true labels (lower
means more transfer) and, for a targeted attack, the share of images moved to their target class.
Mean and [min, max] over the attack seeds. Prints a markdown table; writes <run>/transfer-<target>.json.

Run: make bench-transfer   [RUN=data/runs/cifar10 COUNT=1000 SEEDS=0,1 TARGET=none|random (default: the run's)]
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.transfer import attack_images
from datacentric.core.io import write_json_atomic
from datacentric.data.store import Store
from datacentric.models.predict import predict
from datacentric.models.saved import load_ensemble, load_zoo_models

VARIANTS = {"MI": (0, 0.0), "MI+TI": (3, 0.0), "MI+DI": (0, 0.7), "MI+TI+DI": (3, 0.7)}  # (TI size, DI probability)
VICTIMS = {"independent": "attacker", "evaluation": "evaluation"}  # source → models/<folder> of the run


def main() -> None:
    run = Path(os.environ.get("RUN", "data/runs/cifar10"))
    count = int(os.environ.get("COUNT", "1000"))
    seeds = [int(s) for s in os.environ.get("SEEDS", "0,1").split(",")]
    pipeline = json.loads((run / "pipeline.json").read_text())
    base = AttackConfig(**{**pipeline["attack"], **({"target": os.environ["TARGET"]} if os.environ.get("TARGET")
                                                     else {})})
    device = torch.device("cpu")
    surrogates, _ = load_ensemble(run / "models" / "surrogates", device)
    victims = {}
    for source, folder in {**VICTIMS, "surrogates": "surrogates"}.items():
        models, members = load_zoo_models(run / "models" / folder, device)
        victims.update({f"{source}: {m['name']}": model for m, model in zip(members, models)})
    samples = Store(run / "split" / "adversarial").load().select(slice(0, count))
    labels = torch.from_numpy(samples.labels)
    clean = {name: float((predict(model, torch.from_numpy(samples.images)) == labels).float().mean() * 100)
             for name, model in victims.items()}
    print(f"{run}: {count} images of the adversarial part; attack {base.combine}, ε∞ {base.linf_eps:.4f}, "
          f"{base.iterations} iterations, loss {base.loss}, target {base.target}; seeds {seeds}")
    results = {"clean": clean, "variants": {}}
    for variant, (ti_size, di_probability) in VARIANTS.items():
        config = dataclasses.replace(base, ti_size=ti_size, di_probability=di_probability)
        per_seed = []
        for seed in seeds:
            start = time.perf_counter()
            out = attack_images(surrogates, samples.images, samples.labels, samples.source_index, seed=seed,
                                config=config, device=device)
            predicted = {name: predict(model, torch.from_numpy(out.images)) for name, model in victims.items()}
            per_seed.append({name: {"accuracy": float((p == labels).float().mean() * 100),
                                    "hit": float((p.numpy() == out.target).mean() * 100) if base.target != "none"
                                    else float("nan")} for name, p in predicted.items()})
            print(f"  {variant} seed {seed}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        results["variants"][variant] = per_seed
    write_json_atomic(run / f"transfer-{base.target}.json", results, sort_keys=False)
    print(table(results))


def spread(values: list[float]) -> str:
    return f"{np.mean(values):.1f} [{min(values):.1f}, {max(values):.1f}]"


def table(results: dict) -> str:
    """Rows: victims, then each source's mean; columns: variants (accuracy on the true label; target hits)."""
    victims = list(results["clean"])
    keys = ("accuracy", "hit") if not all(np.isnan(seed[v]["hit"]) for runs in results["variants"].values()
                                          for seed in runs for v in victims) else ("accuracy",)
    groups = {f"mean, {source}": [v for v in victims if v.startswith(f"{source}:")] for source in
              ("independent", "evaluation", "surrogates")}
    lines = ["| victim | clean | " + " | ".join(f"{v} {'acc' if k == 'accuracy' else k}" for v in results["variants"]
                                               for k in keys) + " |",
             "|---" * (2 + len(keys) * len(results["variants"])) + "|"]
    for name, members in [*[(v, [v]) for v in victims], *groups.items()]:
        cells = [f"{np.mean([results['clean'][m] for m in members]):.1f}"]
        for per_seed in results["variants"].values():
            for key in keys:
                cells.append(spread([np.mean([seed[m][key] for m in members]) for seed in per_seed]))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
