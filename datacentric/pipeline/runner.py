"""`enhance`: prepare → split → surrogates → parts → assemble → train → benchmark → report → export.

The runner knows stages, not methods: the enhanced set is the pipeline's list of parts, each made by
a registered generator (parts/registry.py) through the shared transform loop. Every stage writes
through stores or saved models that resume, so a killed run re-run with the same config reuses all
finished work and ends with the same result; a store or model of the run made with another config
(the TOML was edited) is made again. Outputs go to data/runs/<pipeline name>/.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from datacentric import device as devices
from datacentric import paths
from datacentric.config import load_zoo
from datacentric.data.samples import Samples
from datacentric.data.store import DEFAULT_SHARD_SIZE, Store, StoreInfo, write_json_atomic, write_store
from datacentric.errors import DatacentricError
from datacentric.parts.registry import PartContext, generator_class
from datacentric.pipeline.config import PartSpec, PipelineConfig

STAGES = ("prepare", "split", "surrogates", "parts", "assemble", "train", "benchmark", "report", "export")


class Run:
    """The paths of one pipeline run, and its stages as methods."""

    def __init__(self, config: PipelineConfig):
        self.config = config
        self.root = paths.data_dir() / "runs" / config.name
        self.device = devices.resolve(config.device)
        self.prepared = paths.prepared_dir(config.dataset)
        self.parts_list = config.enhanced_parts()
        # Surrogates configured exactly like the targets would be the baseline models again, byte for
        # byte: train them once, in models/baseline, and attack with those.
        same_as_targets = config.surrogates == config.targets
        self.surrogate_dir = self.root / "models" / ("baseline" if same_as_targets else "surrogates")

    # ---- the part graph --------------------------------------------------------------------

    def part_input(self, part: PartSpec) -> Path:
        return self.root / "split" / part.name if part.share is not None else self.root / "parts" / part.input

    def ordered_parts(self) -> list[PartSpec]:
        """Parts in an order where each comes after the part it reads (the config forbids cycles)."""
        done, ordered, pending = set(), [], list(self.parts_list)
        while pending:
            ready = [p for p in pending if p.input is None or p.input in done]
            ordered += ready
            done |= {p.name for p in ready}
            pending = [p for p in pending if p.name not in done]
        return ordered

    def assembled_parts(self) -> list[PartSpec]:
        """The parts whose output enters the enhanced set: those no other part reads (the set keeps its size)."""
        consumed = {p.input for p in self.parts_list}
        return [p for p in self.parts_list if p.name not in consumed]

    def needs_surrogates(self) -> bool:
        return any(generator_class(p.generator).needs_surrogates for p in self.parts_list)

    # ---- stages ----------------------------------------------------------------------------

    def prepare(self) -> None:
        from datacentric.data.stages import prepare

        prepare(self.config.dataset, self.prepared, paths.raw_dir(), progress=False)

    def split(self) -> None:
        from datacentric.data.stages import split, write_reserve

        c = self.config
        sliced = [p for p in self.parts_list if p.share is not None]
        reserve = c.attacker.reserve if c.attacker else 0
        common = dict(seed=c.seed, stratify=c.split.stratify, limit=c.split.limit, reserve=reserve, progress=False)
        split(self.prepared / "train", self.root / "split", [p.share for p in sliced],
              parts=tuple(p.name for p in sliced), **common)
        # the whole subset as one clean store: the baseline's training set and the surrogates' data
        split(self.prepared / "train", self.root / "subset", [1.0, 0.0, 0.0], **common)
        if reserve:  # the independent attacker's training images: the same for every seed
            write_reserve(self.prepared / "train", self.root / "reserve", reserve)

    def _train(self, settings, store: Path, out: Path, *, eval_store: Path | None = None,
               pipeline_seed: bool = True) -> None:
        from datacentric.training.stage import train_zoo

        recipe = settings.train_config()
        if pipeline_seed:
            recipe = dataclasses.replace(recipe, seed=recipe.seed + self.config.seed)
        train_zoo(store, load_zoo(settings.zoo), recipe, out, device=self.device, eval_store=eval_store, resume=True)

    def surrogates(self) -> None:
        from datacentric.attacks.surrogates import require_training_data

        require_training_data(self.root / "subset" / "clean")
        if self.needs_surrogates():
            self._train(self.config.surrogates, self.root / "subset" / "clean", self.surrogate_dir)
        self._train(self.config.evaluation, self.root / "subset" / "clean", self.root / "models" / "evaluation")
        if self.config.attacker:  # seed-independent: every seed's run copies the same models from the model cache
            self._train(self.config.attacker.zoo_settings(), self.root / "reserve", self.root / "models" / "attacker",
                        pipeline_seed=False)

    def parts(self) -> None:
        from datacentric.parts.transform import default_workers, progress_line, transform_with_workers

        for part in self.ordered_parts():
            source = self.part_input(part)
            if len(Store(source)) == 0:
                continue  # a zero share: nothing to make
            needs = generator_class(part.generator).needs_surrogates
            context = PartContext(seed=self.config.seed, device=self.device,
                                  surrogates=self.surrogate_dir if needs else None,
                                  holdout=self.root / "models" / "evaluation" if needs else None)
            started = time.perf_counter()
            store = transform_with_workers(part.workers or default_workers(part.generator, self.device),
                                           input_store=source, out_dir=self.root / "parts" / part.name,
                                           generator=part.generator, settings=part.settings, context=context,
                                           soft_label=part.soft_label, progress=True, replace_stale=True)
            seconds = time.perf_counter() - started
            print(f"  part {part.name} ({part.generator}, {len(store)} images, {seconds:.1f} s)"
                  + (f": {progress_line(store)}" if progress_line(store) else ""), flush=True)
            self.record_part_cost(part.name, store, seconds)

    def record_part_cost(self, name: str, store: Store, seconds: float) -> None:
        """parts/costs.json: the seconds that made each part's store (kept while the store is the same)."""
        path = self.root / "parts" / "costs.json"
        costs = json.loads(path.read_text()) if path.is_file() else {}
        if costs.get(name, {}).get("config_hash") != store.manifest["config_hash"]:
            costs[name] = {"config_hash": store.manifest["config_hash"], "seconds": seconds, "images": len(store)}
            write_json_atomic(path, costs)

    def clean_source(self, part: PartSpec) -> Path:
        """The split store holding the clean images a part was made from (through any chain of inputs)."""
        by_name = {p.name: p for p in self.parts_list}
        while part.input is not None:
            part = by_name[part.input]
        return self.root / "split" / part.name

    def assemble(self) -> None:
        """The enhanced store: the assembled parts' outputs, shuffled; the same size as the subset. For each
        ablated part, the same set with that part's output replaced by its clean source images."""
        variants = {"enhanced": None, **{f"ablation/{name}": name for name in self.config.ablation}}
        for folder, ablated in variants.items():
            paths_ = [self.clean_source(p) if p.name == ablated else self.root / "parts" / p.name
                      for p in self.assembled_parts()]
            stores = [Store(path) for path in paths_ if (path / "manifest.json").exists()]
            stores = [s for s in stores if len(s)]
            if not stores:
                raise DatacentricError("the enhanced set has no samples: every part is empty")
            samples = Samples.concat([s.load() for s in stores], num_classes=stores[0].num_classes)
            order = np.random.default_rng(self.config.seed).permutation(len(samples))
            config = {"parts": {s.root.name: s.manifest["config_hash"] for s in stores}}
            if ablated:
                config["ablated"] = ablated
            info = StoreInfo(self.config.dataset, "assemble", tuple(stores[0].class_names), config, self.config.seed)
            write_store(self.root / folder, info, samples.select(order), shard_size=DEFAULT_SHARD_SIZE,
                        replace_stale=True)

    def trained_sets(self) -> dict[str, Path]:
        """Model folder name → the store its zoo trains on: baseline, enhanced, and one per ablated part."""
        return {"baseline": self.root / "subset" / "clean", "enhanced": self.root / "enhanced",
                **{f"without-{name}": self.root / "ablation" / name for name in self.config.ablation}}

    def train(self) -> None:
        for name, store in self.trained_sets().items():
            self._train(self.config.targets, store, self.root / "models" / name)

    def seen_corruptions(self) -> set[str]:
        """Corruption functions the enhanced set contains: the benchmark splits P_cor by them."""
        seen = set()
        for part in self.parts_list:
            if (self.root / "parts" / part.name / "manifest.json").exists():
                seen |= generator_class(part.generator).seen_corruptions(part.settings)
        return seen

    def benchmark(self) -> None:
        from datacentric.benchmark.build import build
        from datacentric.benchmark.run import evaluate_sets

        build(self.prepared / "test", self.root / "bench", self.root / "models" / "evaluation", self.config.benchmark,
              surrogates=[self.surrogate_dir] if self.needs_surrogates() else [], device=self.device,
              attacker=self.root / "models" / "attacker" if self.config.attacker else None,
              training_zoos=[self.root / "models" / "evaluation"], replace_stale=True)
        seen = self.seen_corruptions()  # the baseline's P_cor is split like the enhanced set's, to compare them
        sets = self.trained_sets()
        by_set = evaluate_sets({name: self.root / "models" / name for name in sets},
                               [member.name for member in load_zoo(self.config.targets.zoo)], self.root / "bench",
                               self.device, seed=self.config.seed, seen={name: seen for name in sets},
                               reference="baseline")
        results = {member: {name: by_set[name][member] for name in by_set} for member in by_set["baseline"]}
        write_json_atomic(self.root / "results.json", results, sort_keys=False)

    def report(self) -> None:
        from datacentric.benchmark import report
        from datacentric.parts.preview import preview_parts

        results = json.loads((self.root / "results.json").read_text())
        context = {"pipeline": dataclasses.asdict(self.config), "enhanced_store": str(self.root / "enhanced"),
                   "parts": [dataclasses.asdict(p) for p in self.parts_list],
                   "bench": json.loads((self.root / "bench" / "bench.json").read_text()),
                   "mce_baseline": "the clean-trained model of the same architecture"}
        report.write(report.compare(results, context=context), self.root)
        preview_parts(self.root / "parts", [p.name for p in self.ordered_parts()], self.root / "parts.png")

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
    if first > last:
        raise DatacentricError(f"--from {STAGES[first]} comes after --until {STAGES[last]}: no stage would run")
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
        try:
            getattr(pipeline, name)()
        except FileNotFoundError as error:
            if error.filename is None or pipeline.root not in Path(error.filename).parents:
                raise
            raise DatacentricError(f"stage {name} needs {error.filename}, which an earlier stage writes: run without "
                                   "--from, or from an earlier stage") from None
        timings[name] = time.perf_counter() - started
        print(f"stage {name:<10} {timings[name]:7.1f} s", flush=True)
        write_json_atomic(timings_path, {"stages": timings, "total": sum(timings.values())})
    total = time.perf_counter() - began
    reported = last >= STAGES.index("report")
    print(f"done in {total:.1f} s" + (f"; report: {pipeline.root / 'report.md'}" if reported else ""), flush=True)
    return pipeline.root
