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
import time
from dataclasses import dataclass
from pathlib import Path

from datacentric import paths
from datacentric.config import from_dict, load_recipe, load_zoo, pipelines_dir, read_toml
from datacentric.data.store import write_json_atomic
from datacentric.errors import DatacentricError
from datacentric.pipeline.config import RUN_NAME, PipelineConfig, load_pipeline, with_seed
from datacentric.pipeline.runner import Run, run as run_pipeline

STAGES = ("data", "train", "benchmark", "report")
STANDARD = "standard"  # the arm every other is measured against (mCE, ΔR)


@dataclass(frozen=True)
class Arm:
    """One method in the comparison: a data-centric set (`data`) or a training recipe (`recipe`), not both."""

    name: str
    data: str | None = None  # a pipeline TOML in pipelines/ whose enhanced set the target zoo trains on
    recipe: str | None = None  # a recipe of pipelines/recipes.toml (a training method) on the clean subset

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


def load_compare(path: Path) -> CompareConfig:
    """Read and check a comparison TOML: arm names, their pipelines and recipes, and that every data arm's
    pipeline shares the base's subset, target zoo and attacker (else the arms would not be comparable)."""
    table = read_toml(path)
    arms = table.pop("arms", None)
    if not isinstance(arms, list) or not arms or not all(isinstance(a, dict) for a in arms):
        raise DatacentricError(f"{path}: [[arms]] must be a non-empty list of tables")
    table["arms"] = tuple(from_dict(Arm, a, f"{path} arm '{a.get('name', '?')}'") for a in arms)
    table.setdefault("name", Path(path).stem)
    config = from_dict(CompareConfig, table, str(path))
    names = [a.name for a in config.arms]
    if not RUN_NAME.match(config.name) or len(set(names)) != len(names) or STANDARD not in names:
        raise DatacentricError(f"{path}: needs a valid name and distinct arm names including '{STANDARD}', got {names}")
    base = base_pipeline(config)
    for arm in config.arms:
        if not RUN_NAME.match(arm.name) or (arm.data and arm.recipe):
            raise DatacentricError(f"{path} arm '{arm.name}': a folder-safe name, and `data` or `recipe`, not both")
        if arm.recipe:
            load_recipe(arm.recipe)
        if arm.data:
            check_shared(base, load_pipeline(pipelines_dir() / arm.data), f"{path} arm '{arm.name}'")
    return config


def base_pipeline(config: CompareConfig) -> PipelineConfig:
    return with_seed(load_pipeline(pipelines_dir() / config.base), config.seed)


def check_shared(base: PipelineConfig, other: PipelineConfig, where: str) -> None:
    """A data arm's pipeline must draw the same subset and use the same models around the targets and benchmark."""
    subset = lambda c: (c.dataset, c.split.limit, c.split.stratify, c.attacker)  # noqa: E731
    for section, same in (("split", subset(base) == subset(other)), ("evaluation", base.evaluation == other.evaluation),
                          ("benchmark", base.benchmark == other.benchmark)):
        if not same:
            raise DatacentricError(f"{where}: its pipeline's [{section}] differs from the base pipeline's; arms must "
                                   "share the subset, attacker, evaluation ensemble and benchmark")
    if base.targets.zoo != other.targets.zoo:
        raise DatacentricError(f"{where}: its target zoo differs from the base pipeline's")


class Comparison:
    """The paths and stages of one comparison run."""

    def __init__(self, config: CompareConfig):
        self.config = config
        self.base = base_pipeline(config)
        self.root = paths.data_dir() / "runs" / (config.name if config.seed == 0 else f"{config.name}-seed{config.seed}")
        self.base_run = Run(self.base)
        self.data_runs = {arm.name: Run(with_seed(load_pipeline(pipelines_dir() / arm.data), config.seed))
                          for arm in config.arms if arm.data}  # each pipeline read once

    def data_run(self, arm: Arm) -> Run:
        return self.data_runs[arm.name]

    def training_store(self, arm: Arm) -> Path:
        return self.data_run(arm).root / "enhanced" if arm.data else self.base_run.root / "subset" / "clean"

    def recipe(self, arm: Arm):
        targets = self.base.targets
        recipe = load_recipe(arm.recipe or targets.recipe, epochs=self.config.epochs or targets.epochs,
                             method=None if arm.recipe else targets.method,
                             method_settings=None if arm.recipe else targets.method_settings)
        return dataclasses.replace(recipe, seed=recipe.seed + self.config.seed)

    # ---- stages ----------------------------------------------------------------------------

    def data(self) -> None:
        """The base pipeline's subset and models around the targets, then each data arm's enhanced set."""
        run_pipeline(self.base, until="surrogates")
        for arm in self.config.arms:
            if arm.data:
                run_pipeline(self.data_run(arm).config, until="assemble")

    def train(self) -> None:
        from datacentric.training.stage import train_zoo

        members = load_zoo(self.base.targets.zoo)
        for arm in self.config.arms:
            started = time.perf_counter()
            train_zoo(self.training_store(arm), members, self.recipe(arm), self.root / "models" / arm.name,
                      device=self.base_run.device, resume=True)
            print(f"  arm {arm.name} ({arm.kind}) trained in {time.perf_counter() - started:.1f} s", flush=True)

    def benchmark(self) -> None:
        from datacentric.benchmark.build import build
        from datacentric.benchmark.run import evaluate_sets

        base = self.base_run
        surrogates = sorted({str(self.data_run(a).surrogate_dir) for a in self.config.arms
                             if a.data and self.data_run(a).needs_surrogates()})
        build(base.prepared / "test", self.root / "bench", base.root / "models" / "evaluation", self.base.benchmark,
              surrogates=[Path(s) for s in surrogates], device=base.device,
              attacker=base.root / "models" / "attacker" if self.base.attacker else None,
              training_zoos=[base.root / "models" / "evaluation"], replace_stale=True)
        results = evaluate_sets({arm.name: self.root / "models" / arm.name for arm in self.config.arms},
                                [member.name for member in load_zoo(self.base.targets.zoo)], self.root / "bench",
                                base.device, seed=self.config.seed,
                                seen={arm.name: self.seen_corruptions(arm) for arm in self.config.arms},
                                reference=STANDARD)
        write_json_atomic(self.root / "results.json", results, sort_keys=False)

    def seen_corruptions(self, arm: Arm) -> set[str]:
        from datacentric.training.methods import method_class

        if arm.data:
            return self.data_run(arm).seen_corruptions()
        recipe = self.recipe(arm)
        return set(method_class(recipe.method).seen_corruptions) if recipe.method else set()

    def costs(self) -> dict[str, dict]:
        """Per arm: seconds to make its data (its parts, and the surrogates where a part attacks them) and
        to train the zoo on it, and the image passes of that training (recorded when each was made)."""
        from datacentric.training.stage import model_cost

        members = load_zoo(self.base.targets.zoo)
        costs = {}
        for arm in self.config.arms:
            data_seconds = 0.0
            if arm.data:
                run = self.data_run(arm)
                parts = json.loads((run.root / "parts" / "costs.json").read_text()) \
                    if (run.root / "parts" / "costs.json").is_file() else {}
                data_seconds = sum(entry["seconds"] for entry in parts.values())
                if run.needs_surrogates():
                    data_seconds += sum((model_cost(run.surrogate_dir / m.name) or {}).get("seconds", 0)
                                        for m in load_zoo(run.config.surrogates.zoo))
            training = [model_cost(self.root / "models" / arm.name / m.name) or {} for m in members]
            costs[arm.name] = {"data_seconds": data_seconds,
                               "train_seconds": sum(t.get("seconds", 0) for t in training),
                               "forward_images": sum(t.get("forward_images", 0) for t in training),
                               "backward_images": sum(t.get("backward_images", 0) for t in training)}
            costs[arm.name]["seconds"] = costs[arm.name]["data_seconds"] + costs[arm.name]["train_seconds"]
        return costs

    def report(self) -> None:
        from datacentric.benchmark.compare_report import write

        results = json.loads((self.root / "results.json").read_text())
        context = {"compare": dataclasses.asdict(self.config), "base": dataclasses.asdict(self.base),
                   "arms": {a.name: {"kind": a.kind, "data": a.data, "recipe": a.recipe} for a in self.config.arms},
                   "bench": json.loads((self.root / "bench" / "bench.json").read_text())}
        write(results, self.costs(), context, self.root)


def run(config: CompareConfig, *, start: str | None = None, until: str | None = None) -> Path:
    """The comparison's stages from `start` to `until`, one line per stage with its time."""
    for name in (start, until):
        if name is not None and name not in STAGES:
            raise DatacentricError(f"unknown stage '{name}'; stages: {', '.join(STAGES)}")
    first, last = STAGES.index(start or STAGES[0]), STAGES.index(until or STAGES[-1])
    comparison = Comparison(config)
    comparison.root.mkdir(parents=True, exist_ok=True)
    write_json_atomic(comparison.root / "config.json", dataclasses.asdict(config), sort_keys=False)
    for name in STAGES[first : last + 1]:
        started = time.perf_counter()
        getattr(comparison, name)()
        print(f"compare stage {name:<10} {time.perf_counter() - started:7.1f} s", flush=True)
    print(f"report: {comparison.root / 'compare.md'}", flush=True)
    return comparison.root
