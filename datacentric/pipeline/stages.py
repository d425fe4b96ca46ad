"""The one stage loop that `enhance` (runner.py) and `compare` (compare.py) both run in, and the two pieces of
work they share: training zoos and benchmarking trained sets.

Every rank (torchrun, a Slurm array, or one process: core/ranks.py) runs the same loop. A stage does this
rank's share of its work (parts: shards; training: zoo members; benchmark: models) or, when its work is one
whole-store write, leaves it to the leader; the ranks meet at a barrier after every stage. Each share is a
pure function of (rank, world) over a list every rank builds the same way, and every output goes through a
store or a saved model, so N ranks give byte-identical results to one process.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import torch

from datacentric.benchmark.build import BenchConfig, build
from datacentric.benchmark.run import collect_results, evaluate_models, model_jobs
from datacentric.core.errors import DatacentricError
from datacentric.core.io import exclusive, write_json_atomic
from datacentric.core.ranks import Ranks
from datacentric.training.stage import ZooJob, train_member, write_zoo


@dataclass
class Sync:
    """This rank's place in a run: its share of the work, and barriers in the run folder."""

    root: Path
    ranks: Ranks = field(default_factory=Ranks.from_env)

    def __call__(self) -> None:
        self.ranks.barrier(self.root)

    @property
    def leader(self) -> bool:
        return self.ranks.leader

    @contextlib.contextmanager
    def lock(self, what: str) -> Iterator[None]:
        """The run folder's lock, held by the leader for the whole run (the other ranks of its launch share it)."""
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            held = exclusive(self.root, what) if self.leader else contextlib.nullcontext()
            held.__enter__()
        except BaseException:
            self.ranks.fail(self.root)  # the other ranks stop instead of waiting for this one
            raise
        try:
            yield
        except BaseException:
            self.ranks.fail(self.root)
            raise
        finally:
            held.__exit__(None, None, None)

    def say(self, line: str) -> None:
        """A log line, once per run (from the leader)."""
        if self.leader:
            print(line, flush=True)

    def say_rank(self, line: str) -> None:
        """A log line about this rank's share, when there are several ranks."""
        if self.ranks.world > 1:
            print(f"  rank {self.ranks.rank + 1}/{self.ranks.world}: {line}", flush=True)


def select(stages: tuple[str, ...], start: str | None, until: str | None) -> tuple[str, ...]:
    """The stages from `start` to `until` (inclusive), with one error line for an unknown or reversed pair."""
    for name in (start, until):
        if name is not None and name not in stages:
            raise DatacentricError(f"unknown stage '{name}'; stages: {', '.join(stages)}")
    first = stages.index(start) if start else 0
    last = stages.index(until) if until else len(stages) - 1
    if first > last:
        raise DatacentricError(f"--from {stages[first]} comes after --until {stages[last]}: no stage would run")
    return stages[first : last + 1]


def run_stages(stages: dict[str, Callable[[], None]], sync: Sync, timings_file: Path, *, label: str = "stage",
               start: str | None = None, until: str | None = None) -> float:
    """Run the stages from `start` to `until` in order on this rank, a barrier after each; print one line per
    stage with its time and keep them in `timings_file` (a partial re-run updates the stages it ran and keeps
    the rest). Returns the seconds taken."""
    chosen = select(tuple(stages), start, until)
    began = time.perf_counter()
    timings = json.loads(timings_file.read_text())["stages"] if timings_file.exists() else {}
    for name in chosen:
        started = time.perf_counter()
        try:
            stages[name]()
        except FileNotFoundError as error:
            sync.ranks.fail(sync.root)
            if error.filename is None or sync.root not in Path(error.filename).parents:
                raise
            raise DatacentricError(f"stage {name} needs {error.filename}, which an earlier stage writes: run without "
                                   "--from, or from an earlier stage") from None
        except BaseException:
            sync.ranks.fail(sync.root)  # the other ranks stop at their next barrier instead of waiting for this one
            raise
        sync()
        timings[name] = time.perf_counter() - started
        sync.say(f"{label} {name:<10} {timings[name]:7.1f} s")
        if sync.leader:
            write_json_atomic(timings_file, {"stages": timings, "total": sum(timings.values())})
    return time.perf_counter() - began


def train_zoos(jobs: list[ZooJob], sync: Sync, device: torch.device, *, on_trained: Callable[[ZooJob, float], None]
               | None = None) -> None:
    """Train every job's member (this rank's share), then write each zoo's index once all are trained."""
    for job in sync.ranks.mine(jobs):
        started = time.perf_counter()
        train_member(job, device=device, resume=True)
        sync.say_rank(f"trained {job.out_dir.name}/{job.member.name}")
        if on_trained is not None:
            on_trained(job, time.perf_counter() - started)
    sync()
    if sync.leader:
        zoos: dict[Path, list[ZooJob]] = {}
        for job in jobs:
            zoos.setdefault(job.out_dir, []).append(job)
        for out_dir, members in zoos.items():
            write_zoo(members[0].store, [job.member for job in members], members[0].recipe, out_dir)
    sync()


@dataclass(frozen=True)
class BenchSpec:
    """What a benchmark is built from: the test split, the evaluation ensemble, the surrogate zoos that made
    training data (the evaluation ensemble and attacker must share no model with them) and the independent
    attacker."""

    test_store: Path
    evaluation: Path
    config: BenchConfig
    surrogates: tuple[Path, ...] = ()
    attacker: Path | None = None


def benchmark_sets(spec: BenchSpec, bench_dir: Path, model_dirs: dict[str, Path], members: list[str],
                   seen: dict[str, set[str]], *, reference: str, seed: int, sync: Sync, device: torch.device
                   ) -> dict[str, dict[str, dict]] | None:
    """Build the benchmark (leader), score every trained set's members on it (each rank its share of the
    models), and return results[set][member] on the leader (None on the other ranks)."""
    if sync.leader:
        build(spec.test_store, bench_dir, spec.evaluation, spec.config, surrogates=list(spec.surrogates),
              device=device, attacker=spec.attacker, training_zoos=[spec.evaluation], replace_stale=True)
    sync()
    jobs = model_jobs(model_dirs, members, seen)
    mine = sync.ranks.mine(jobs)
    evaluate_models(mine, bench_dir, device, seed=seed)
    sync.say_rank(f"evaluated {len(mine)} of {len(jobs)} models")
    sync()
    return collect_results(jobs, bench_dir, device, seed=seed, reference=reference) if sync.leader else None
