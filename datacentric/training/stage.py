"""The train stage's I/O: a store in, one saved model per zoo member out (with checkpoints and metrics)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path

import torch

from datacentric.config import TrainConfig, ZooMember
from datacentric import paths
from datacentric.data.store import Store, json_digest, sha256_file, write_json_atomic
from datacentric.data.torch_dataset import load_tensors
from datacentric.errors import DatacentricError
from datacentric.models.io import save_model
from datacentric.models.registry import create
from datacentric.training.evaluate import accuracy
from datacentric.training.trainer import evaluator, train


def training_targets(store_path: Path, soft: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images, targets): the store's soft labels where it has them (KL), else int64 labels
    (cross-entropy) unless `soft` asks for one-hot rows."""
    images, labels, soft_labels = load_tensors(store_path)
    if not soft and soft_labels is None:
        return images, labels
    if soft_labels is None:
        soft_labels = torch.nn.functional.one_hot(labels, Store(store_path).num_classes).float()
    return images, soft_labels


def model_identity(store: Store, config: TrainConfig, arch: str) -> dict:
    """Everything that determines a trained model: the store's content hash, the training config, the
    architecture (not paths: a moved or copied data directory still matches)."""
    return {"store_hash": store.manifest["config_hash"], "train_config": dataclasses.asdict(config), "arch": arch}


def cache_dir() -> Path:
    """Trained models shared by every run of this data directory, keyed by their identity's hash."""
    return paths.data_dir() / "cache" / "models"


def _identity_key(identity: dict) -> str:
    return json_digest(identity)[:20]


def _matching(folder: Path, identity: dict) -> bool:
    """Is `folder` a finished model of this identity whose weights still match their checksum?"""
    try:
        recorded = json.loads((folder / "identity.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return ({k: recorded.get(k) for k in identity} == identity and "weights_sha256" in recorded
            and (folder / "model.pt").is_file() and sha256_file(folder / "model.pt") == recorded["weights_sha256"])


def _copy_model(source: Path, target: Path, identity: dict, extra: dict) -> None:
    """model.pt, then identity.json (which makes it count, and keeps the training cost), each written atomically."""
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".model.pt.tmp-{os.getpid()}"
    shutil.copyfile(source / "model.pt", tmp)
    os.replace(tmp, target / "model.pt")
    cost = json.loads((source / "identity.json").read_text()).get("cost")
    write_json_atomic(target / "identity.json", dict(identity, **extra, cost=cost,
                                                     weights_sha256=sha256_file(target / "model.pt")), sort_keys=False)


def training_cost(metrics: Path) -> dict:
    """Wall seconds and image passes of a training run, summed over its metrics lines (one per epoch)."""
    lines = [json.loads(line) for line in metrics.read_text().splitlines() if line]
    return {key: sum(line.get(key, 0) for line in lines) for key in ("seconds", "forward_images", "backward_images")}


def model_cost(folder: Path) -> dict | None:
    """The training cost recorded beside a finished model: in its identity, else from the metrics lines of a
    model trained in place before costs were recorded; None when neither exists."""
    cost = json.loads((folder / "identity.json").read_text()).get("cost")
    if cost is None and (folder / "metrics.jsonl").is_file():
        cost = training_cost(folder / "metrics.jsonl")
    return cost


def train_zoo(store_path: Path, members: list[ZooMember], recipe: TrainConfig, out_dir: Path, *,
              device: torch.device, eval_store: Path | None = None, resume: bool = False,
              progress: bool = True, refuse_stale: bool = False) -> dict[str, Path]:
    """Train every member on the store; returns {member name: saved model path}. `out_dir/zoo.json`
    lists the members and their ensemble weights, so the folder loads as an ensemble.

    A member is reused only when its model.pt was made from a store with the same content hash and the
    same training config, and its weights match the sha256 recorded beside them; otherwise it is
    trained again (or, with `refuse_stale`, refused), and a checkpoint of another identity is never
    resumed. Finished models also go to a cache keyed by identity, so another run of the same data
    directory that needs the same model (the same subset, recipe and seed) copies it instead of training.
    """
    store = Store(store_path)
    eval_data = None
    if eval_store is not None:
        test_images, test_labels, _ = load_tensors(eval_store)
        eval_data = (test_images, test_labels)
    saved, loaded = {}, {}
    for member in members:
        config = dataclasses.replace(recipe, seed=recipe.seed + member.seed, **member.overrides)
        folder = out_dir / member.name
        model_path = folder / "model.pt"
        identity = model_identity(store, config, member.arch)
        where = {"store": str(store_path), "member": member.name}
        cached = cache_dir() / _identity_key(identity)
        if _matching(folder, identity):
            saved[member.name] = model_path
            continue
        if (folder / "identity.json").exists() and not _matching_identity(folder, identity):
            if refuse_stale:
                raise DatacentricError(f"{folder} holds a model trained on another store or with another config; "
                                       "delete that folder, or train into another --out")
            for stale in ("model.pt", "checkpoint.pt", "metrics.jsonl", "identity.json"):
                (folder / stale).unlink(missing_ok=True)
        if eval_data is None and _matching(cached, identity):
            _copy_model(cached, folder, identity, where)
            saved[member.name] = model_path
            continue
        if config.soft_labels not in loaded:  # read (checksums verified) before anything is written
            loaded[config.soft_labels] = training_targets(store_path, config.soft_labels)
        images, targets = loaded[config.soft_labels]
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob(".*.tmp-*"):  # temporaries of a killed or failed write
            stale.unlink(missing_ok=True)
        write_json_atomic(folder / "identity.json", dict(identity, **where), sort_keys=False)
        torch.manual_seed(config.seed)  # weight initialisation
        model = create(member.arch, store.num_classes, in_chans=images.shape[3])
        evaluate = evaluator(*eval_data, config.eval_batch_size) if eval_data else None
        try:
            model = train(model, images, targets, config, device=device, checkpoint=folder / "checkpoint.pt",
                          metrics=folder / "metrics.jsonl", evaluate=evaluate, resume=resume, desc=member.name,
                          progress=progress)
        except ValueError as error:
            raise DatacentricError(f"{member.name}: {error}; delete {folder} to start over") from None
        meta = dict(identity, **where, class_names=store.class_names)
        if eval_data:
            meta["test_acc"] = accuracy(model, *eval_data, batch_size=config.eval_batch_size)
        save_model(model_path, model, arch=member.arch, num_classes=store.num_classes, in_chans=images.shape[3],
                   meta=meta)
        write_json_atomic(folder / "identity.json", dict(identity, **where, cost=training_cost(folder / "metrics.jsonl"),
                                                         weights_sha256=sha256_file(model_path)), sort_keys=False)
        if eval_data is None:
            _copy_model(folder, cached, identity, {})
        saved[member.name] = model_path
    zoo_index = {"store": paths.portable(store_path), "recipe": dataclasses.asdict(recipe),
                 "members": [{"name": m.name, "arch": m.arch, "seed": m.seed, "weight": m.weight} for m in members]}
    write_json_atomic(out_dir / "zoo.json", zoo_index, sort_keys=False)
    return saved


def _matching_identity(folder: Path, identity: dict) -> bool:
    """Was `folder` (possibly unfinished: a checkpoint from a killed run) started with this identity?"""
    try:
        recorded = json.loads((folder / "identity.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return {k: recorded.get(k) for k in identity} == identity
