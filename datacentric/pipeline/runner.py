"""`enhance`: prepare → split → surrogates → parts → assemble → train → benchmark → report → export.

The runner knows stages, not methods: the enhanced set is the pipeline's list of parts, each made by
a registered generator (parts/registry.py) through the shared transform loop. Every stage writes
through stores or saved models that resume, so a killed run re-run with the same config reuses all
finished work and ends with the same result; a store or model of the run made with another config
(the TOML was edited) is made again. Outputs go to data/runs/<pipeline name>/ (`RunLayout`). Under
torchrun or a Slurm array every rank runs this, each doing its share (pipeline/stages.py).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from datacentric.benchmark import report
from datacentric.benchmark.build import check_size
from datacentric.core import device as devices
from datacentric.core import paths
from datacentric.core.errors import DatacentricError
from datacentric.core.io import write_json_atomic
from datacentric.core.randomness import copy_seed
from datacentric.data.export import EXPORTERS
from datacentric.data.split import DEFAULT_PARTS
from datacentric.data.stages import dataset_name, prepare, split, split_config, split_is_stale, write_reserve
from datacentric.data.store import Store, StoreInfo, read_concatenated, shard_size_for, write_store_from
from datacentric.parts.preview import preview_parts
from datacentric.parts.registry import PartContext, generator_class
from datacentric.parts.transform import default_workers, progress_line, transform_with_workers
from datacentric.pipeline.config import PartSpec, PipelineConfig, ZooSettings
from datacentric.pipeline.layout import RunLayout
from datacentric.pipeline.stages import BenchSpec, Sync, benchmark_sets, run_stages, select, train_zoos
from datacentric.training.config import load_zoo
from datacentric.training.stage import ZooJob, require_training_data, zoo_jobs

STAGES = ("prepare", "split", "surrogates", "parts", "assemble", "train", "benchmark", "report", "export")


class Run:
    """One pipeline run: its layout, its part graph, and its stages as methods (each this rank's share)."""

    def __init__(self, config: PipelineConfig, sync: Sync | None = None, *, force: bool = False):
        self.config = config
        self.force = force  # remake split folders made with another config (and so everything made from them)
        self.layout = RunLayout.named(config.name)
        self.root = self.layout.root
        self.sync = sync or Sync(self.root)
        self.device = devices.resolve(config.device)
        self.prepared = paths.prepared_dir(dataset_name(config.dataset, config.prepare.image_size or None))
        self.parts_list = config.enhanced_parts()
        # Surrogates configured exactly like the targets would be the baseline models again, byte for
        # byte: train them once, in models/baseline, and attack with those.
        same_as_targets = config.surrogates == config.targets
        self.surrogate_dir = self.layout.models("baseline" if same_as_targets else "surrogates")

    # ---- the part graph --------------------------------------------------------------------

    def part_input(self, part: PartSpec) -> Path:
        return self.layout.split(part.name) if part.share is not None else self.layout.part(part.input)

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

    def clean_source(self, part: PartSpec) -> Path:
        """The split store holding the clean images a part was made from (through any chain of inputs)."""
        by_name = {p.name: p for p in self.parts_list}
        while part.input is not None:
            part = by_name[part.input]
        return self.layout.split(part.name)

    def trained_sets(self) -> dict[str, Path]:
        """Model folder name → the store its zoo trains on: baseline, enhanced, and one per ablated part."""
        return {"baseline": self.layout.subset, "enhanced": self.layout.enhanced,
                **{f"without-{name}": self.layout.ablation(name) for name in self.config.ablation}}

    def seen_corruptions(self) -> set[str]:
        """Corruption functions the enhanced set contains: the benchmark splits P_cor by them."""
        seen = set()
        for part in self.parts_list:
            if (self.layout.part(part.name) / "manifest.json").exists():
                seen |= generator_class(part.generator).seen_corruptions(part.settings)
        return seen

    def jobs(self, settings: ZooSettings, store: Path, out: Path, *, pipeline_seed: bool = True) -> list[ZooJob]:
        """The members of a zoo to train on `store` into `out`; the pipeline's seed shifts the recipe's unless
        `pipeline_seed` is off (the independent attacker: one for every seed)."""
        recipe = settings.train_config()
        if pipeline_seed:
            recipe = dataclasses.replace(recipe, seed=recipe.seed + self.config.seed)
        return zoo_jobs(store, load_zoo(settings.zoo), recipe, out)

    def split_plans(self) -> dict[Path, dict]:
        """The run's split folders and the config each is made with (the prepared training store must exist)."""
        c = self.config
        source = Store(self.prepared / "train")
        sliced = [p for p in self.parts_list if p.share is not None]
        common = dict(stratify=c.split.stratify, limit=c.split.limit, shard_size=shard_size_for(source.image_shape),
                      reserve=c.attacker.reserve if c.attacker else 0)
        return {self.layout.split_dir: split_config(source, [p.share for p in sliced],
                                                    parts=tuple(p.name for p in sliced), **common),
                self.layout.subset_dir: split_config(source, [1.0, 0.0, 0.0], parts=DEFAULT_PARTS, **common)}

    def refuse_stale_splits(self) -> None:
        """One error line naming every split folder that another config (seed, limit, ratio, reserve, parts or
        prepared data) made, unless `force`: remaking them changes the subset and everything made from it."""
        try:
            plans = self.split_plans()
        except DatacentricError:
            return  # not prepared yet: nothing to compare
        stale = [str(folder) for folder, config in plans.items() if split_is_stale(folder, config, self.config.seed)]
        if stale and not self.force:
            raise DatacentricError(f"{' and '.join(stale)} hold a split made with another config (seed, limit, ratio, "
                                   "reserve, parts or the prepared data): re-run with --force to make them again, "
                                   "and everything made from them, or delete them")

    def bench_spec(self, surrogates: list[Path]) -> BenchSpec:
        """The benchmark of this run's test split, evaluation ensemble and attacker."""
        return BenchSpec(self.prepared / "test", self.layout.models("evaluation"), self.config.benchmark,
                         tuple(surrogates), self.layout.models("attacker") if self.config.attacker else None)

    # ---- stages ----------------------------------------------------------------------------

    def stages(self) -> dict:
        return {name: getattr(self, f"stage_{name}") for name in STAGES}

    def stage_prepare(self) -> None:
        if self.sync.leader:
            prepare(self.config.dataset, self.prepared, paths.raw_dir(), settings=self.config.prepare, replace_stale=True,
                    progress=False)
            check_size(self.config.benchmark, self.prepared / "test")  # before any work a too-small split would waste

    def stage_split(self) -> None:
        if not self.sync.leader:
            return
        self.refuse_stale_splits()  # the prepared data may have changed in the stage before
        c = self.config
        sliced = [p for p in self.parts_list if p.share is not None]
        reserve = c.attacker.reserve if c.attacker else 0
        common = dict(seed=c.seed, stratify=c.split.stratify, limit=c.split.limit, reserve=reserve, progress=False,
                      overwrite=self.force)
        split(self.prepared / "train", self.layout.split_dir, [p.share for p in sliced],
              parts=tuple(p.name for p in sliced), **common)
        split(self.prepared / "train", self.layout.subset_dir, [1.0, 0.0, 0.0], **common)
        if reserve:  # the independent attacker's training images: the same for every seed
            write_reserve(self.prepared / "train", self.layout.reserve, reserve)

    def stage_surrogates(self) -> None:
        require_training_data(self.layout.subset)
        jobs = []
        if self.needs_surrogates():
            jobs += self.jobs(self.config.surrogates, self.layout.subset, self.surrogate_dir)
        jobs += self.jobs(self.config.evaluation, self.layout.subset, self.layout.models("evaluation"))
        if self.config.attacker:  # seed-independent: every seed's run copies the same models from the model cache
            jobs += self.jobs(self.config.attacker.zoo_settings(), self.layout.reserve, self.layout.models("attacker"),
                              pipeline_seed=False)
        train_zoos(jobs, self.sync, self.device)

    def stage_parts(self) -> None:
        for part in self.ordered_parts():
            source = self.part_input(part)
            if len(Store(source)) == 0:
                continue  # a zero share: nothing to make
            needs = generator_class(part.generator).needs_surrogates
            for copy, name in enumerate(part.copy_names()):  # each frozen copy from its own seed
                context = PartContext(seed=copy_seed(self.config.seed, copy), device=self.device,
                                      surrogates=self.surrogate_dir if needs else None,
                                      holdout=self.layout.models("evaluation") if needs else None)
                started = time.perf_counter()
                transform_with_workers(part.workers or default_workers(part.generator, self.device),
                                       input_store=source, out_dir=self.layout.part(name), generator=part.generator,
                                       settings=part.settings, context=context, soft_label=part.soft_label,
                                       progress=True, replace_stale=True)
                self.sync()  # every rank's shards written: the last one to finish completed the store
                seconds = time.perf_counter() - started
                store = Store(self.layout.part(name))
                line = progress_line(store)
                self.sync.say(f"  part {name} ({part.generator}, {len(store)} images, {seconds:.1f} s)"
                              + (f": {line}" if line else ""))
                if self.sync.leader:
                    self.record_part_cost(name, store, seconds)

    def record_part_cost(self, name: str, store: Store, seconds: float) -> None:
        """parts/costs.json: the seconds that made each part's store (kept while the store is the same)."""
        path = self.layout.part_costs
        costs = json.loads(path.read_text()) if path.is_file() else {}
        if costs.get(name, {}).get("config_hash") != store.manifest["config_hash"]:
            costs[name] = {"config_hash": store.manifest["config_hash"], "seconds": seconds, "images": len(store)}
            write_json_atomic(path, costs)

    def stage_assemble(self) -> None:
        """The enhanced store: the assembled parts' outputs (every frozen copy), shuffled; the size of the subset
        when no part has copies. For each ablated part, the same set with that part's output (each copy) replaced
        by its clean source images."""
        if not self.sync.leader:
            return
        variants = {self.layout.enhanced: None, **{self.layout.ablation(name): name for name in self.config.ablation}}
        for folder, ablated in variants.items():
            paths_ = [self.clean_source(p) if p.name == ablated else self.layout.part(name)
                      for p in self.assembled_parts() for name in p.copy_names()]
            stores = [Store(path) for path in paths_ if (path / "manifest.json").exists()]
            stores = [s for s in stores if len(s)]
            if not stores:
                raise DatacentricError("the enhanced set has no samples: every part is empty")
            order = np.random.default_rng(self.config.seed).permutation(sum(len(s) for s in stores))
            config = {"parts": {s.root.name: s.manifest["config_hash"] for s in stores}}
            copies = {p.name: p.copies for p in self.assembled_parts() if p.copies > 1}
            if copies:  # absent otherwise, so the hashes of sets made before copies existed hold
                config["copies"] = copies
            if ablated:
                config["ablated"] = ablated
            info = StoreInfo(self.config.dataset, "assemble", tuple(stores[0].class_names), config, self.config.seed)
            write_store_from(folder, info, len(order), lambda rows, s=stores: read_concatenated(s, order[rows]),
                             shard_size=shard_size_for(stores[0].image_shape), replace_stale=True)  # shard by shard

    def stage_train(self) -> None:
        jobs = [job for name, store in self.trained_sets().items()
                for job in self.jobs(self.config.targets, store, self.layout.models(name))]
        train_zoos(jobs, self.sync, self.device)

    def stage_benchmark(self) -> None:
        sets = self.trained_sets()
        seen = self.seen_corruptions()  # the baseline's P_cor is split like the enhanced set's, to compare them
        by_set = benchmark_sets(self.bench_spec([self.surrogate_dir] if self.needs_surrogates() else []),
                                self.layout.bench, {name: self.layout.models(name) for name in sets},
                                [member.name for member in load_zoo(self.config.targets.zoo)],
                                {name: seen for name in sets}, reference="baseline", seed=self.config.seed,
                                sync=self.sync, device=self.device)
        if by_set is not None:
            results = {member: {name: by_set[name][member] for name in by_set} for member in by_set["baseline"]}
            write_json_atomic(self.layout.results, results, sort_keys=False)

    def stage_report(self) -> None:
        if not self.sync.leader:
            return
        results = json.loads(self.layout.results.read_text())
        context = {"pipeline": dataclasses.asdict(self.config), "enhanced_store": paths.portable(self.layout.enhanced),
                   "parts": [dataclasses.asdict(p) for p in self.parts_list],
                   "bench": json.loads(self.layout.bench_config.read_text()),
                   "mce_baseline": "the clean-trained model of the same architecture"}
        report.write(report.compare(results, context=context), self.root)
        preview_parts(self.layout.parts_dir, [p.name for p in self.ordered_parts()], self.layout.parts_preview)

    def stage_export(self) -> None:
        if self.sync.leader and self.config.export.format:
            EXPORTERS[self.config.export.format](Store(self.layout.enhanced),
                                                 self.layout.exported(self.config.export.format), overwrite=True)


def run(config: PipelineConfig, *, start: str | None = None, until: str | None = None, force: bool = False) -> Path:
    """Run the stages from `start` to `until` (inclusive); print one line per stage with its time. A config
    whose split differs from the run folder's is refused before anything is written, unless `force`."""
    select(STAGES, start, until)  # a bad --from/--until is refused before anything is written
    pipeline = Run(config, force=force)
    sync = pipeline.sync
    with sync.lock("run folder"):
        if sync.leader:
            pipeline.refuse_stale_splits()
            write_json_atomic(pipeline.layout.config_file, dataclasses.asdict(config), sort_keys=False)
        sync()
        sync.say(devices.arithmetic_line(pipeline.device))
        torch.manual_seed(config.seed)
        total = run_stages(pipeline.stages(), sync, pipeline.layout.timings, start=start, until=until)
    reported = STAGES.index(until or STAGES[-1]) >= STAGES.index("report")
    sync.say(f"done in {total:.1f} s" + (f"; report: {pipeline.layout.report}" if reported else ""))
    return pipeline.root
