"""`enhance`: prepare → split → surrogates → attack → corrupt → assemble → train → benchmark → report.

Every stage writes through stores or saved models that resume, so a killed run re-run with the
same config reuses all finished work and ends with the same result. Outputs go to
data/runs/<pipeline name>/.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from datacentric import device as devices
from datacentric import paths
from datacentric.config import load_recipe, load_zoo
from datacentric.data.samples import Samples
from datacentric.data.split import parse_ratio
from datacentric.data.store import Store, StoreInfo, write_json_atomic, write_store
from datacentric.errors import DatacentricError
from datacentric.pipeline.config import PipelineConfig

STAGES = ("prepare", "split", "surrogates", "attack", "corrupt", "assemble", "train", "benchmark", "report", "export")


class Run:
    """The paths of one pipeline run, and its stages as methods."""

    def __init__(self, config: PipelineConfig):
        self.config = config
        self.root = paths.data_dir() / "runs" / config.name
        self.device = devices.resolve(config.device)
        self.prepared = paths.prepared_dir(config.dataset)
        # Surrogates configured exactly like the targets would be the baseline models again, byte for
        # byte: train them once, in models/baseline, and attack with those.
        same_as_targets = config.surrogates == config.targets
        self.surrogate_dir = self.root / "models" / ("baseline" if same_as_targets else "surrogates")

    # ---- stages ----------------------------------------------------------------------------

    def prepare(self) -> None:
        from datacentric.data.stages import prepare

        prepare(self.config.dataset, self.prepared, paths.raw_dir())

    def split(self) -> None:
        from datacentric.data.stages import split

        c = self.config
        ratio = parse_ratio(c.split.ratio)
        common = dict(seed=c.seed, stratify=c.split.stratify, limit=c.split.limit, progress=False)
        split(self.prepared / "train", self.root / "split", ratio, **common)
        # the whole subset as one clean store: the baseline's training set and the surrogates' data
        split(self.prepared / "train", self.root / "subset", [1.0, 0.0, 0.0], **common)

    def _train(self, settings, store: Path, out: Path, *, eval_store: Path | None = None) -> None:
        from datacentric.training.stage import train_zoo

        recipe = load_recipe(settings.recipe, epochs=settings.epochs)
        recipe = dataclasses.replace(recipe, seed=recipe.seed + self.config.seed)
        train_zoo(store, load_zoo(settings.zoo), recipe, out, device=self.device, eval_store=eval_store, resume=True)

    def surrogates(self) -> None:
        from datacentric.attacks.surrogates import require_training_data

        require_training_data(self.root / "subset" / "clean")
        self._train(self.config.surrogates, self.root / "subset" / "clean", self.surrogate_dir)
        self._train(self.config.evaluation, self.root / "subset" / "clean", self.root / "models" / "evaluation")

    def attack(self) -> None:
        from datacentric.attacks.stage import attack

        c = self.config
        part = self.root / "split" / "adversarial"
        if len(Store(part)) == 0:
            return
        config = dataclasses.replace(c.attack, batch_size=64 if self.device.type == "cpu" else c.attack.batch_size)
        store = attack(part, self.root / "parts" / "adversarial", self.surrogate_dir, config,
                       seed=c.seed, device=self.device, holdout=self.root / "models" / "evaluation")
        extra = store.manifest["extra"]
        print(f"  attack: surrogate ensemble error {extra['whitebox_error']['ensemble']['adversarial']:.3f} "
              f"(clean {extra['whitebox_error']['ensemble']['clean']:.3f}); held-out error "
              + ", ".join(f"{k} {v['adversarial']:.3f} (clean {v['clean']:.3f})"
                          for k, v in extra.get("transfer_error", {}).items())
              + f"; budget use {extra['budget_use']}", file=sys.stderr)

    def corrupt(self) -> None:
        from datacentric.corruptions.suites import load_suite
        from datacentric.corruptions.stage import corrupt
        from datacentric.parallel import default_workers

        part = self.root / "split" / "corrupted"
        if len(Store(part)) == 0:
            return
        c = self.config
        corrupt(part, self.root / "parts" / "corrupted", load_suite(c.corrupt.suite), seed=c.seed,
                workers=c.corrupt.workers or default_workers(), progress=False)

    def assemble(self) -> None:
        """The enhanced store: clean part + adversarial and corrupted outputs, shuffled, same size as the subset."""
        pieces = [self.root / "split" / "clean", self.root / "parts" / "adversarial", self.root / "parts" / "corrupted"]
        stores = [Store(p) for p in pieces if (p / "manifest.json").exists() and len(Store(p))]
        samples = Samples.concat([s.load() for s in stores])
        order = np.random.default_rng(self.config.seed).permutation(len(samples))
        config = {"parts": {str(s.root): s.manifest["config_hash"] for s in stores}}
        info = StoreInfo(self.config.dataset, "assemble", tuple(stores[0].class_names), config, self.config.seed)
        write_store(self.root / "enhanced", info, samples.select(order), shard_size=5000, progress=False)

    def train(self) -> None:
        for name, store in (("baseline", self.root / "subset" / "clean"), ("enhanced", self.root / "enhanced")):
            self._train(self.config.targets, store, self.root / "models" / name)

    def benchmark(self) -> None:
        from datacentric.benchmark.build import build
        from datacentric.benchmark.run import add_corruption_errors, evaluate
        from datacentric.models.io import load_model

        build(self.prepared / "test", self.root / "bench", self.root / "models" / "evaluation", self.config.benchmark,
              surrogates=[self.surrogate_dir], device=self.device)
        results = {}
        members = load_zoo(self.config.targets.zoo)
        with tqdm(total=2 * len(members), desc="benchmark", unit="model", file=sys.stderr, dynamic_ncols=True) as bar:
            for member in members:
                by_set = {}
                for name in ("baseline", "enhanced"):
                    model, _ = load_model(self.root / "models" / name / member.name / "model.pt", self.device)
                    by_set[name] = evaluate(model, self.root / "bench", self.device, seed=self.config.seed,
                                            training_suite=self.config.corrupt.suite)
                    bar.update(1)
                add_corruption_errors(by_set["enhanced"], by_set["baseline"])
                add_corruption_errors(by_set["baseline"], by_set["baseline"])
                results[member.name] = by_set
        write_json_atomic(self.root / "results.json", results, sort_keys=False)

    def report(self) -> None:
        from datacentric.benchmark import report

        results = json.loads((self.root / "results.json").read_text())
        context = {"pipeline": dataclasses.asdict(self.config), "enhanced_store": str(self.root / "enhanced"),
                   "bench": json.loads((self.root / "bench" / "bench.json").read_text()),
                   "mce_baseline": "the clean-trained model of the same architecture"}
        report.write(report.compare(results, context=context), self.root)

    def export(self) -> None:
        from datacentric.data.export import export_competition

        if self.config.export.format == "competition":
            export_competition(Store(self.root / "enhanced"), self.root / "submission", overwrite=True)


def run(config: PipelineConfig, *, start: str | None = None, until: str | None = None) -> Path:
    """Run the stages from `start` to `until` (inclusive); print one line per stage with its time."""
    for name in (start, until):
        if name is not None and name not in STAGES:
            raise DatacentricError(f"unknown stage '{name}'; stages: {', '.join(STAGES)}")
    first = STAGES.index(start) if start else 0
    last = STAGES.index(until) if until else len(STAGES) - 1
    pipeline = Run(config)
    pipeline.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(pipeline.root / "pipeline.json", dataclasses.asdict(config), sort_keys=False)
    torch.manual_seed(config.seed)
    began = time.perf_counter()
    # a partial re-run (--from/--until, or resuming after a kill) updates the stages it ran and keeps the rest
    timings_path = pipeline.root / "timings.json"
    timings = json.loads(timings_path.read_text())["stages"] if timings_path.exists() else {}
    for name in STAGES[first : last + 1]:
        started = time.perf_counter()
        getattr(pipeline, name)()
        timings[name] = time.perf_counter() - started
        print(f"stage {name:<10} {timings[name]:7.1f} s", flush=True)
        write_json_atomic(timings_path, {"stages": timings, "total": sum(timings.values())})
    total = time.perf_counter() - began
    print(f"done in {total:.1f} s; report: {pipeline.root / 'report.md'}", flush=True)
    return pipeline.root
