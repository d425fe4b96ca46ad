"""The attack stage's I/O: the split's adversarial part in, a store of transfer adversarial examples out.

The work is a list of shards. A process takes the shards whose id ≡ shard_index (mod num_shards);
shard_index and num_shards come from the command line, or from torchrun (RANK, WORLD_SIZE), or from
a Slurm array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT), or default to one process. Shards land
through the store, so any mix of processes and restarts produces the same store; whichever process
finds every shard present marks the store complete and measures the success rates.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.ensemble import Ensemble
from datacentric.attacks.transfer import attack_images, budget_use
from datacentric.data.samples import Samples
from datacentric.data.store import Store, StoreInfo, shard_plan
from datacentric.errors import DatacentricError
from datacentric.models.io import load_model
from datacentric.training.evaluate import predict

DEFAULT_SHARD_SIZE = 500


def load_zoo_dir(folder: Path, device: torch.device) -> tuple[list[torch.nn.Module], list[dict]]:
    """The models of a trained zoo directory (`zoo.json` + one `<member>/model.pt` each)."""
    index = folder / "zoo.json"
    if not index.is_file():
        raise DatacentricError(f"{folder} holds no trained zoo (no zoo.json): train it first")
    members = json.loads(index.read_text())["members"]
    if not members:
        raise DatacentricError(f"{folder}/zoo.json lists no models")
    models = [load_model(folder / member["name"] / "model.pt", device)[0].to(memory_format=torch.channels_last)
              for member in members]
    return models, members


def load_ensemble(folder: Path, device: torch.device) -> tuple[Ensemble, list[dict]]:
    models, members = load_zoo_dir(folder, device)
    return Ensemble(models, [m["weight"] for m in members]), members


def shard_assignment(shard_index: int | None, num_shards: int | None) -> tuple[int, int]:
    """(index, count) from the arguments, torchrun's RANK/WORLD_SIZE, a Slurm array, or (0, 1)."""
    if shard_index is not None or num_shards is not None:
        index, count = shard_index or 0, num_shards or 1
    elif "WORLD_SIZE" in os.environ and "RANK" in os.environ:
        index, count = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    elif "SLURM_ARRAY_TASK_ID" in os.environ and "SLURM_ARRAY_TASK_COUNT" in os.environ:
        first = int(os.environ.get("SLURM_ARRAY_TASK_MIN", 0))
        index, count = int(os.environ["SLURM_ARRAY_TASK_ID"]) - first, int(os.environ["SLURM_ARRAY_TASK_COUNT"])
    else:
        index, count = 0, 1
    if not 0 <= index < count:
        raise DatacentricError(f"shard index {index} is outside 0..{count - 1}")
    return index, count


def auto_batch_size(ensemble: Ensemble, device: torch.device, image_shape: tuple[int, ...]) -> int:
    """The largest power-of-two batch (≤ 1024) whose forward and backward fit on a CUDA device; 64 on a CPU."""
    if device.type != "cuda":
        return 64
    size = 32
    while size < 1024:
        try:
            probe = torch.rand(2 * size * 2, *image_shape, device=device, requires_grad=True)  # 2 norms, 2× headroom
            with torch.autocast("cuda", dtype=torch.bfloat16):
                ensemble(probe.contiguous(memory_format=torch.channels_last)).sum().backward()
            size *= 2
        except torch.cuda.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
    return size


def attack(input_store: Path, out_dir: Path, surrogates: Path, config: AttackConfig, *, seed: int,
           device: torch.device, shard_size: int = DEFAULT_SHARD_SIZE, shard_index: int | None = None,
           num_shards: int | None = None, holdout: Path | None = None, overwrite: bool = False,
           progress: bool = True) -> Store | None:
    """Attack this process's shards; return the store if this process completed it, else None."""
    source = Store(input_store)
    samples = source.load()
    ensemble, members = load_ensemble(surrogates, device)
    surrogate_hashes = [json.loads((surrogates / m["name"] / "identity.json").read_text()) for m in members]
    stage_config = {"attack": dataclasses.asdict(config), "surrogates": members,
                    "surrogate_training": surrogate_hashes, "source_store": str(input_store),
                    "source_hash": source.manifest["config_hash"], "shard_size": shard_size}
    info = StoreInfo(source.manifest["dataset"], "attack", tuple(source.class_names), stage_config, seed)
    out = Store.create(out_dir, info, overwrite=overwrite)
    index, count = shard_assignment(shard_index, num_shards)
    plan = shard_plan(len(samples), shard_size)
    mine = [i for i in range(len(plan)) if i % count == index and not out.has_shard(i)]
    rows_per_image = 2 if config.combine == "sum" else 1
    total = sum(len(plan[i]) for i in mine) * rows_per_image * config.iterations
    with tqdm(total=total, desc=f"attack {index + 1}/{count}" if count > 1 else "attack", unit="img-step",
              unit_scale=True, file=sys.stderr, disable=not progress, position=index if count > 1 else None,
              dynamic_ncols=True) as bar:
        for shard_id in mine:
            part = samples.select(plan[shard_id])
            output = attack_images(ensemble, part.images, part.labels, part.source_index, seed=seed, config=config,
                                   device=device, positions=plan[shard_id], on_batch=bar.update)
            out.write_shard(shard_id, Samples(
                images=output.images, labels=part.labels, source_index=part.source_index,
                kind=np.full(len(part), "adversarial"), corruption=np.full(len(part), ""),
                severity=np.zeros(len(part), np.int8), l2=output.l2, linf=output.linf, soft_labels=part.soft_labels),
                info={"budget_use": budget_use(output, config), "count": len(part)})
    if not set(range(len(plan))) <= out.recorded_shards():
        return None  # another process still has shards to write; it will finish the store
    results = success_rates(out, source, ensemble, members, holdout, device)
    out.finish(len(plan), **results)
    return out


def success_rates(out: Store, source: Store, ensemble: Ensemble, members: list[dict], holdout: Path | None,
                  device: torch.device) -> dict:
    """White-box success on the surrogates and transfer success on held-out models, on the stored images:
    the fraction of samples a model misclassifies (its error on the clean source images beside it)."""
    adversarial, labels, _ = out.load_images_labels()
    clean = torch.from_numpy(source.load_images_labels()[0])
    adversarial, labels = torch.from_numpy(adversarial), torch.from_numpy(labels)

    def rates(model) -> dict:
        return {"adversarial": float((predict(model, adversarial, device=device) != labels).float().mean()),
                "clean": float((predict(model, clean, device=device) != labels).float().mean())}

    results = {"whitebox_error": {"ensemble": rates(ensemble)}}
    for member, model in zip(members, ensemble.models):
        results["whitebox_error"][member["name"]] = rates(model)
    if holdout is not None:
        models, held = load_zoo_dir(holdout, device)
        results["transfer_error"] = {m["name"]: rates(model) for m, model in zip(held, models)}
        results["holdout"] = str(holdout)
    counts = [entry["info"] for entry in out.manifest["shards"].values() if "info" in entry]
    keys = {key for c in counts for key in c["budget_use"]}
    results["budget_use"] = {key: sum(c["budget_use"][key] * c["count"] for c in counts) / sum(c["count"] for c in counts)
                             for key in keys}
    return results


def _worker(arguments: tuple) -> None:
    kwargs, index, count, threads = arguments
    torch.set_num_threads(threads)
    attack(**kwargs, shard_index=index, num_shards=count, progress=True)


def attack_with_workers(workers: int, **kwargs) -> Store | None:
    """Run `attack` in `workers` local processes (CPU), each on its share of the shards; None when this
    process is one share of a distributed run and others still have shards to write."""
    if workers <= 1:
        return attack(**kwargs)
    if kwargs.pop("shard_index", None) is not None or kwargs.pop("num_shards", None) is not None:
        raise DatacentricError("--workers splits the shards itself; give either --workers or --shard-index/--num-shards")
    threads = max(1, torch.get_num_threads() // workers)
    # spawn, not fork: a forked child of a process that has run torch's thread pool can deadlock
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_worker, [(kwargs, i, workers, threads) for i in range(workers)])
    store = Store(kwargs["out_dir"], require_complete=False)
    if not store.manifest.get("complete"):
        raise DatacentricError(f"{kwargs['out_dir']} is incomplete after the workers finished; re-run to resume")
    return store
