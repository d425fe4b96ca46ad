"""The corrupt stage's I/O: a part store in, a store of corrupted samples out, shard by shard, in parallel."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.suites import Suite, suite_from_dict
from datacentric.data.samples import Samples, distances
from datacentric.data.store import Store, StoreInfo, shard_plan
from datacentric.parallel import map_unordered

DEFAULT_SHARD_SIZE = 2000

_runners: dict[str, SuiteRunner] = {}  # per process: a suite's corruptions are built once


def _runner(suite_dict: dict) -> SuiteRunner:
    key = repr(suite_dict)
    if key not in _runners:
        _runners[key] = SuiteRunner(suite_from_dict(suite_dict))
    return _runners[key]


def corrupt_task(task: tuple, *, suite_dict: dict, seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """Worker body: (shard id, images, source indices) → (shard id, corrupted images, names, severities)."""
    shard_id, images, source_index = task
    return (shard_id, *_runner(suite_dict).corrupt_training(images, source_index, seed))


def corrupt(input_store: Path, out_dir: Path, suite: Suite, *, seed: int, workers: int,
            shard_size: int = DEFAULT_SHARD_SIZE, overwrite: bool = False, progress: bool = True) -> Store:
    """Corrupt every sample of `input_store` with one corruption of the training suite each."""
    source = Store(input_store)
    samples = source.load()
    config = {"suite": suite.to_dict(), "source_store": str(input_store), "source_hash": source.manifest["config_hash"],
              "shard_size": shard_size}
    info = StoreInfo(source.manifest["dataset"], "corrupt", tuple(source.class_names), config, seed)
    out = Store.create(out_dir, info, overwrite=overwrite)
    plan = shard_plan(len(samples), shard_size)
    pending = [i for i in range(len(plan)) if not out.has_shard(i)]
    done = sum(len(plan[i]) for i in range(len(plan)) if i not in pending)
    tasks = [(i, samples.images[plan[i]], samples.source_index[plan[i]]) for i in pending]
    work = functools.partial(corrupt_task, suite_dict=suite.to_dict(), seed=seed)
    for shard_id, corrupted, names, severities in map_unordered(work, tasks, workers=workers, total=len(samples),
                                                    size=lambda t: len(t[1]), desc="corrupt", initial=done,
                                                    progress=progress):
        part = samples.select(plan[shard_id])
        l2, linf = distances(part.images, corrupted)
        out.write_shard(shard_id, Samples(
            images=corrupted, labels=part.labels, source_index=part.source_index,
            kind=np.full(len(part), "corrupted"), corruption=names, severity=severities,
            l2=l2, linf=linf, soft_labels=part.soft_labels))
    out.finish(len(plan))
    return out
