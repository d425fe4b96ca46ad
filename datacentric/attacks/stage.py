"""The attack stage's I/O: a part store in, a store of transfer adversarial examples out.

The loop itself is the part generators' shared one (`parts/transform.py`: shards over processes,
torchrun and Slurm, resume); this module loads trained zoos as ensembles and sizes batches.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.ensemble import Ensemble
from datacentric.data.store import Store
from datacentric.device import gpu_autocast
from datacentric.errors import DatacentricError
from datacentric.models.io import load_model
from datacentric.parts.registry import PartContext
from datacentric.parts.transform import DEFAULT_SHARD_SIZE, shard_assignment, transform_with_workers  # noqa: F401  (shard_assignment: re-exported)


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


def auto_batch_size(ensemble: Ensemble, device: torch.device, image_shape: tuple[int, ...]) -> int:
    """The largest power-of-two batch (≤ 1024) whose forward and backward fit on a CUDA device; 64 on a CPU."""
    if device.type != "cuda":
        return 64
    size = 32
    while size < 1024:
        try:
            probe = torch.rand(2 * size * 2, *image_shape, device=device, requires_grad=True)  # 2 norms, 2× headroom
            with gpu_autocast(device):
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
           progress: bool = True, workers: int = 1) -> Store | None:
    """The `transfer_attack` generator over this process's shards (or `workers` local processes); the
    store if complete, else None."""
    context = PartContext(seed=seed, device=device, surrogates=Path(surrogates), holdout=holdout)
    return transform_with_workers(workers, input_store=Path(input_store), out_dir=Path(out_dir),
                                  generator="transfer_attack", settings=config, context=context, shard_size=shard_size,
                                  shard_index=shard_index, num_shards=num_shards, overwrite=overwrite,
                                  progress=progress)
