"""The one sharded, resumable, parallel loop every part generator runs in: a store in, a store out.

The work is a list of shards. A process takes the shards whose id ≡ shard_index (mod num_shards);
shard_index and num_shards come from the caller, or from torchrun (RANK, WORLD_SIZE), or from a
Slurm array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT), or default to one process. `workers` > 1
starts that many local processes, each one such share. Shards land through the store, so any mix of
processes and restarts gives the same store; whichever process finds every shard present marks the
store complete and records the generator's summary.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
from pathlib import Path

import numpy as np
import torch

from datacentric.core.errors import DatacentricError
from datacentric.core.parallel import default_workers as cores
from datacentric.core.parallel import limit_threads
from datacentric.core.progress import bar
from datacentric.core.ranks import shard_assignment
from datacentric.data.samples import Samples
from datacentric.data.store import PART_SHARD_SIZE, Store, StoreInfo, shard_plan
from datacentric.data.view import StoreView
from datacentric.parts.registry import PartContext, create_generator, generator_class


def relabel(samples: Samples, soft_label: tuple[float, float] | None, num_classes: int) -> Samples:
    """A part's label rule: each row becomes on·(its label row) + off, normalised to sum 1
    (for example (0.9, 0.01): 0.9·one-hot + 0.01, a top competition entry's labels)."""
    if soft_label is None:
        return samples
    on, off = soft_label
    soft = samples.with_soft_labels(num_classes).soft_labels * on + off
    return dataclasses.replace(samples, soft_labels=(soft / soft.sum(1, keepdims=True)).astype(np.float32))


def open_part(input_store: Path, out_dir: Path, generator: str, settings, *, context: PartContext,
              soft_label: tuple[float, float] | None = None, shard_size: int = PART_SHARD_SIZE,
              overwrite: bool = False, replace_stale: bool = False):
    """(source store, its samples, the generator, the output store): the output is created, or resumed when
    it was made with the same config (generator, settings, provenance, source, shard size, seed)."""
    source = Store(input_store)
    samples = StoreView(source)  # images read shard by shard, as the generator asks for them
    context = dataclasses.replace(context, workdir=Path(out_dir), num_classes=source.num_classes)
    maker = create_generator(generator, settings, context)
    config = {"generator": generator, "settings": dataclasses.asdict(maker.settings), **maker.provenance(),
              "soft_label": list(soft_label) if soft_label else None, "source_hash": source.manifest["config_hash"],
              "shard_size": shard_size}
    info = StoreInfo(source.manifest["dataset"], "part", tuple(source.class_names), config, context.seed)
    return source, samples, maker, Store.create(out_dir, info, overwrite=overwrite, replace_stale=replace_stale)


def finished(out: Store, count: int) -> bool:
    """Complete, and every shard's file still there with its checksum (a missing one is made again); the shard
    size is the one the part's config records."""
    shards = len(shard_plan(count, out.manifest["config"]["shard_size"]))
    return bool(out.manifest.get("complete")) and all(out.has_shard(i) for i in range(shards))


def transform(input_store: Path, out_dir: Path, generator: str, settings, *, context: PartContext,
              soft_label: tuple[float, float] | None = None, shard_size: int = PART_SHARD_SIZE,
              shard_index: int | None = None, num_shards: int | None = None, overwrite: bool = False,
              replace_stale: bool = False, progress: bool = True) -> Store | None:
    """Run `generator` over this process's shards of `input_store`; return the store once it is complete
    (made now or before with the same config), else None (another share still has shards to write)."""
    source, samples, maker, out = open_part(input_store, out_dir, generator, settings, context=context,
                                            soft_label=soft_label, shard_size=shard_size, overwrite=overwrite,
                                            replace_stale=replace_stale)
    if finished(out, len(samples)):
        return out  # made before with this config: no setup (surrogates, a trained noise generator) to redo
    index, count = shard_assignment(shard_index, num_shards)
    plan = shard_plan(len(samples), shard_size)
    mine = [i for i in range(len(plan)) if i % count == index and not out.has_shard(i)]
    maker.setup(samples)
    with bar(total=sum(len(plan[i]) for i in mine), desc=generator if count == 1 else f"{generator} {index + 1}/{count}",
             enabled=progress) as progress_bar:
        for shard_id in mine:
            part = samples.select(plan[shard_id])
            made = relabel(maker.generate(samples, plan[shard_id]), soft_label, source.num_classes)
            maker.check(part, made)
            out.write_shard(shard_id, made, info=maker.shard_info())
            progress_bar.update(len(part))
    if not set(range(len(plan))) <= out.recorded_shards():
        return None
    out.finish(len(plan), **maker.summary(Store(out_dir, require_complete=False), samples))
    return out


def _worker(arguments: tuple) -> None:
    kwargs, index, count, threads = arguments
    limit_threads(threads)
    transform(**kwargs, shard_index=index, num_shards=count)


def transform_with_workers(workers: int, **kwargs) -> Store | None:
    """`transform` in `workers` local processes, each on its share of the shards; None when this process is
    one share of a distributed run and others still have shards to write. Generators that run numpy code
    only fork (cheap); torch generators spawn, since a forked child of a process that has run torch's
    thread pool can deadlock in it."""
    if workers <= 1:
        return transform(**kwargs)
    if kwargs.pop("shard_index", None) is not None or kwargs.pop("num_shards", None) is not None:
        raise DatacentricError("--workers splits the shards itself; give either --workers or --shard-index/--num-shards")
    rank, world = shard_assignment()  # under torchrun or a Slurm array, this rank's workers split its share
    threads = max(1, torch.get_num_threads() // workers)
    setup_keys = ("input_store", "out_dir", "generator", "settings", "context", "soft_label", "shard_size", "overwrite",
                  "replace_stale")
    _, samples, maker, out = open_part(**{k: v for k, v in kwargs.items() if k in setup_keys})
    if finished(out, len(samples)):
        return out
    maker.setup(samples)  # once, here: a trained noise generator is saved for the workers to load
    kwargs["overwrite"] = False  # the store exists now; the workers resume it
    method = "fork" if generator_class(kwargs["generator"]).forkable else "spawn"
    with multiprocessing.get_context(method).Pool(workers) as pool:
        pool.map(_worker, [(kwargs, rank * workers + i, world * workers, threads) for i in range(workers)])
    store = Store(kwargs["out_dir"], require_complete=False)
    if not store.manifest.get("complete") and world > 1:
        return None  # other ranks still have shards to write
    if not store.manifest.get("complete"):
        raise DatacentricError(f"{kwargs['out_dir']} is incomplete after the workers finished; re-run to resume")
    return store


def default_workers(generator: str, device: torch.device) -> int:
    """Processes for a generator on this machine: all cores for numpy work, one (with all threads) for torch."""
    return cores() if generator_class(generator).process_parallel and device.type == "cpu" else 1


def progress_line(store: Store) -> str:
    """One log line of what a finished part's summary measured."""
    extra = store.manifest.get("extra", {})
    return ", ".join(f"{key} {value:.3f}" if isinstance(value, float) else f"{key} {value}"
                     for key, value in _flatten(extra).items())


def _flatten(values: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float, str)):
            flat[f"{prefix}{key}"] = value
    return flat
