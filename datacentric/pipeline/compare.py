"""`compare`: every method on one subset, target zoo and benchmark, with its cost (pipelines/compare-*.toml).

An arm is either a data-centric set (the enhanced store of a pipeline in pipelines/, built by its own
run folder, so `make enhance` runs of the same pipeline are reused) or a training recipe (a training
method) applied to the clean subset; `standard` is the clean subset with the base pipeline's recipe.
All arms share the base pipeline's subset, surrogates, evaluation ensemble, independent attacker,
target zoo, epochs and benchmark; models come from the content-keyed model cache when they exist.
Stages: data → train → benchmark → report, each resumable; outputs in data/runs/<compare name>/.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from datacentric.benchmark.compare_report import STANDARD, write
from datacentric.core.errors import DatacentricError
from datacentric.core.io import write_json_atomic
from datacentric.core.tomlconfig import apply_overrides, find_pipeline, from_dict, read_toml
from datacentric.models.saved import Member
from datacentric.pipeline.config import RUN_NAME, PipelineConfig, load_pipeline, with_seed
from datacentric.pipeline.layout import RunLayout
from datacentric.pipeline.runner import Run
from datacentric.pipeline.runner import run as run_pipeline
from datacentric.pipeline.stages import Sync, benchmark_sets, run_stages, select, train_zoos
from datacentric.training.config import load_recipe, load_zoo
from datacentric.training.methods import method_class
from datacentric.training.stage import zoo_jobs

STAGES = ("data", "train", "benchmark", "report")


@dataclass(frozen=True)
class Arm:
    """One method in the comparison: a data-centric set (`data`) or a training recipe (`recipe`), not both."""

    name: str
    data: str | None = None  # a pipeline TOML in pipelines/ whose enhanced set the target zoo trains on
    recipe: str | None = None  # a recipe of pipelines/recipes.toml (a training method) on the clean subset
    epochs: int | None = None  # this arm's target epochs (None: the comparison's), e.g. for equal image passes

    @property
    def kind(self) -> str:
        return "data" if self.data else "training" if self.recipe else "baseline"


@dataclass(frozen=True)
class CompareConfig:
    name: str
    base: str  # the pipeline TOML whose subset, models around the targets, target zoo and benchmark every arm shares
    arms: tuple[Arm, ...]
    seed: int = 0
    epochs: int | None = None  # target epochs for every arm (None: the base pipeline's)
    folder: str = ""  # the comparison file's folder: `base` and arms' `data` are looked up there first
    overrides: tuple[str, ...] = ()  # the command line's `--set key=value`, recorded with the run


def load_compare(path: Path, overrides: tuple[str, ...] = ()) -> CompareConfig:
    """Read and check a comparison TOML: arm names, their pipelines and recipes, and that every data arm's
    pipeline shares the base's subset, target zoo and attacker (else the arms would not be comparable)."""
    table = apply_overrides(read_toml(path), overrides, str(path))
    for key in ("folder", "overrides"):
        if key in table:
            raise DatacentricError(f"{path}: `{key}` is set by the command, not in the file")
    table["overrides"] = tuple(overrides)
    arms = table.pop("arms", None)
    if not isinstance(arms, list) or not arms or not all(isinstance(a, dict) for a in arms):
        raise DatacentricError(f"{path}: [[arms]] must be a non-empty list of tables")
    table["arms"] = tuple(from_dict(Arm, a, f"{path} arm '{a.get('name', '?')}'") for a in arms)
    table.setdefault("name", Path(path).stem)
    table["folder"] = str(Path(path).parent)
    config = from_dict(CompareConfig, table, str(path))
    names = [a.name for a in config.arms]
    if not RUN_NAME.match(config.name) or len(set(names)) != len(names) or STANDARD not in names:
        raise DatacentricError(f"{path}: needs a valid name and distinct arm names including '{STANDARD}', got {names}")
    base = base_pipeline(config)
    for arm in config.arms:
        if not RUN_NAME.match(arm.name) or (arm.data and arm.recipe):
            raise DatacentricError(f"{path} arm '{arm.name}': a folder-safe name, and `data` or `recipe`, not both")
        if arm.epochs is not None and arm.epochs < 1:
            raise DatacentricError(f"{path} arm '{arm.name}': epochs must be at least 1, got {arm.epochs}")
        if arm.recipe:
            load_recipe(arm.recipe)
        if arm.data:
            check_shared(base, load_pipeline(find_pipeline(arm.data, config.folder)), f"{path} arm '{arm.name}'")
    return config


def base_pipeline(config: CompareConfig) -> PipelineConfig:
    return with_seed(load_pipeline(find_pipeline(config.base, config.folder)), config.seed)


def check_shared(base: PipelineConfig, other: PipelineConfig, where: str) -> None:
    """A data arm's pipeline must draw the same subset and use the same models around the targets and benchmark."""
    subset = lambda c: (c.dataset, c.prepare, c.split.limit, c.split.stratify, c.attacker)  # noqa: E731
    for section, same in (("split", subset(base) == subset(other)), ("evaluation", base.evaluation == other.evaluation),
                          ("benchmark", base.benchmark == other.benchmark)):
        if not same:
            raise DatacentricError(f"{where}: its pipeline's [{section}] differs from the base pipeline's; arms must "
                                   "share the subset, attacker, evaluation ensemble and benchmark")
    if base.targets.zoo != other.targets.zoo:
        raise DatacentricError(f"{where}: its target zoo differs from the base pipeline's")


class Comparison:
    """The layout and stages of one comparison run (each stage this rank's share, pipeline/stages.py)."""

    def __init__(self, config: CompareConfig):
        self.config = config
        self.base = base_pipeline(config)
        self.layout = RunLayout.named(config.name if config.seed == 0 else f"{config.name}-seed{config.seed}")
        self.root = self.layout.root
        self.sync = Sync(self.root)
        self.base_run = Run(self.base, self.sync)
        self.data_runs = {arm.name: Run(with_seed(load_pipeline(find_pipeline(arm.data, config.folder)), config.seed), self.sync)
                          for arm in config.arms if arm.data}  # each pipeline read once

    def data_run(self, arm: Arm) -> Run:
        return self.data_runs[arm.name]

    def training_store(self, arm: Arm) -> Path:
        return self.data_run(arm).layout.enhanced if arm.data else self.base_run.layout.subset

    def recipe(self, arm: Arm):
        targets = self.base.targets
        recipe = load_recipe(arm.recipe or targets.recipe, epochs=arm.epochs or self.config.epochs or targets.epochs,
                             method=None if arm.recipe else targets.method,
                             method_settings=None if arm.recipe else targets.method_settings)
        return dataclasses.replace(recipe, seed=recipe.seed + self.config.seed)

    def members(self) -> list[str]:
        return [member.name for member in load_zoo(self.base.targets.zoo)]

    # ---- stages ----------------------------------------------------------------------------

    def stages(self) -> dict:
        return {name: getattr(self, f"stage_{name}") for name in STAGES}

    def stage_data(self) -> None:
        """The base pipeline's subset and models around the targets, then each data arm's enhanced set."""
        run_pipeline(self.base, until="surrogates")
        for arm in self.config.arms:
            if arm.data:
                run_pipeline(self.data_run(arm).config, until="assemble")

    def stage_train(self) -> None:
        members = load_zoo(self.base.targets.zoo)
        jobs = [job for arm in self.config.arms
                for job in zoo_jobs(self.training_store(arm), members, self.recipe(arm), self.layout.models(arm.name))]
        train_zoos(jobs, self.sync, self.base_run.device, on_trained=lambda job, seconds: print(
            f"  arm {job.out_dir.name} {job.member.name} trained in {seconds:.1f} s", flush=True))

    def stage_benchmark(self) -> None:
        surrogates = [Path(s) for s in sorted({str(self.data_run(a).surrogate_dir) for a in self.config.arms
                                               if a.data and self.data_run(a).needs_surrogates()})]
        results = benchmark_sets(self.base_run.bench_spec(surrogates), self.layout.bench,
                                 {arm.name: self.layout.models(arm.name) for arm in self.config.arms}, self.members(),
                                 {arm.name: self.seen_corruptions(arm) for arm in self.config.arms},
                                 reference=STANDARD, seed=self.config.seed, sync=self.sync,
                                 device=self.base_run.device)
        if results is not None:
            write_json_atomic(self.layout.results, results, sort_keys=False)

    def seen_corruptions(self, arm: Arm) -> set[str]:
        if arm.data:
            return self.data_run(arm).seen_corruptions()
        recipe = self.recipe(arm)
        return set(method_class(recipe.method).seen_corruptions) if recipe.method else set()

    def costs(self) -> dict[str, dict]:
        """Per arm: seconds to make its data (its parts, and the surrogates where a part attacks them) and
        to train the zoo on it, and the image passes of that training (recorded when each was made)."""
        costs = {}
        for arm in self.config.arms:
            data_seconds = 0.0
            if arm.data:
                run = self.data_run(arm)
                parts = json.loads(run.layout.part_costs.read_text()) if run.layout.part_costs.is_file() else {}
                data_seconds = sum(entry["seconds"] for entry in parts.values())
                if run.needs_surrogates():
                    data_seconds += sum((Member(run.surrogate_dir / m.name).cost() or {}).get("seconds", 0)
                                        for m in load_zoo(run.config.surrogates.zoo))
            training = [Member(self.layout.models(arm.name) / m).cost() or {} for m in self.members()]
            costs[arm.name] = {"data_seconds": data_seconds,
                               "train_seconds": sum(t.get("seconds", 0) for t in training),
                               "forward_images": sum(t.get("forward_images", 0) for t in training),
                               "backward_images": sum(t.get("backward_images", 0) for t in training)}
            costs[arm.name]["seconds"] = costs[arm.name]["data_seconds"] + costs[arm.name]["train_seconds"]
        return costs

    def stage_report(self) -> None:
        if not self.sync.leader:
            return
        results = json.loads(self.layout.results.read_text())
        context = {"compare": dataclasses.asdict(self.config), "base": dataclasses.asdict(self.base),
                   "arms": {a.name: {"kind": a.kind, "data": a.data, "recipe": a.recipe} for a in self.config.arms},
                   "bench": json.loads(self.layout.bench_config.read_text())}
        write(results, self.costs(), context, self.root)


def run(config: CompareConfig, *, start: str | None = None, until: str | None = None) -> Path:
    """The comparison's stages from `start` to `until`, one line per stage with its time."""
    select(STAGES, start, until)
    comparison = Comparison(config)
    with comparison.sync.lock("comparison folder"):
        if comparison.sync.leader:
            write_json_atomic(comparison.root / "config.json", dataclasses.asdict(config), sort_keys=False)
        comparison.sync()
        run_stages(comparison.stages(), comparison.sync, comparison.layout.timings, label="compare stage",
                   start=start, until=until)
    comparison.sync.say(f"report: {comparison.root / 'compare.md'}")
    return comparison.root
