"""The train stage's I/O: a store in, one saved model per zoo member out (with checkpoints and metrics)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import torch

from datacentric.config import TrainConfig, ZooMember
from datacentric.data.store import Store, write_json_atomic
from datacentric.data.torch_dataset import load_tensors
from datacentric.errors import DatacentricError
from datacentric.models.io import save_model
from datacentric.models.registry import create
from datacentric.training.evaluate import accuracy
from datacentric.training.trainer import evaluator, train


def training_targets(store_path: Path, soft: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 images, targets): int64 labels, or float soft labels (one-hot where the store has none)."""
    images, labels, soft_labels = load_tensors(store_path)
    if not soft:
        return images, labels
    if soft_labels is None:
        soft_labels = torch.nn.functional.one_hot(labels, Store(store_path).num_classes).float()
    return images, soft_labels


def train_zoo(store_path: Path, members: list[ZooMember], recipe: TrainConfig, out_dir: Path, *,
              device: torch.device, eval_store: Path | None = None, resume: bool = False,
              progress: bool = True) -> dict[str, Path]:
    """Train every member on the store; returns {member name: saved model path}. `out_dir/zoo.json`
    lists the members and their ensemble weights, so the folder loads as an ensemble.

    A member whose model.pt exists with the same store and config is skipped, so a zoo run
    resumes member by member (and, with `resume`, epoch by epoch inside a member).
    """
    store = Store(store_path)
    eval_data = None
    if eval_store is not None:
        test_images, test_labels, _ = load_tensors(eval_store)
        eval_data = (test_images, test_labels)
    saved = {}
    for member in members:
        config = dataclasses.replace(recipe, seed=recipe.seed + member.seed, **member.overrides)
        folder = out_dir / member.name
        model_path = folder / "model.pt"
        identity = {"store": str(store_path), "store_hash": store.manifest["config_hash"],
                    "train_config": dataclasses.asdict(config), "arch": member.arch}
        if model_path.exists() and json.loads((folder / "identity.json").read_text()) == identity:
            saved[member.name] = model_path
            continue
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / "identity.json", identity, sort_keys=False)
        images, targets = training_targets(store_path, config.soft_labels)
        torch.manual_seed(config.seed)  # weight initialisation
        model = create(member.arch, store.num_classes, in_chans=images.shape[3])
        evaluate = evaluator(*eval_data, config.eval_batch_size) if eval_data else None
        try:
            model = train(model, images, targets, config, device=device, checkpoint=folder / "checkpoint.pt",
                          metrics=folder / "metrics.jsonl", evaluate=evaluate, resume=resume, desc=member.name,
                          progress=progress)
        except ValueError as error:
            raise DatacentricError(f"{member.name}: {error}; drop --resume to start over") from None
        meta = dict(identity, member=member.name, class_names=store.class_names)
        if eval_data:
            meta["test_acc"] = accuracy(model, *eval_data, batch_size=config.eval_batch_size)
        save_model(model_path, model, arch=member.arch, num_classes=store.num_classes, in_chans=images.shape[3],
                   meta=meta)
        saved[member.name] = model_path
    zoo_index = {"store": str(store_path), "recipe": dataclasses.asdict(recipe),
                 "members": [{"name": m.name, "arch": m.arch, "seed": m.seed, "weight": m.weight} for m in members]}
    write_json_atomic(out_dir / "zoo.json", zoo_index, sort_keys=False)
    return saved
