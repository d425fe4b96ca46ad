"""The train stage's I/O: a store in, one saved model per zoo member out (with checkpoints and metrics), and
the model cache that lets every run of a data directory reuse a model of the same identity."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import torch

from datacentric.core import paths
from datacentric.core.errors import DatacentricError
from datacentric.core.io import json_digest
from datacentric.data.store import Store
from datacentric.data.torch_dataset import load_tensors
from datacentric.models.architectures import build
from datacentric.models.external import checkpoint_model
from datacentric.models.loading import describe
from datacentric.models.predict import accuracy
from datacentric.models.saved import Member, save_model, training_cost, write_zoo_index
from datacentric.training.config import TrainConfig, ZooMember
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


def require_training_data(store_path: Path) -> None:
    """Refuse any store that is not the prepared training split or a part of its split (surrogates and
    held-out models train on clean training data only, never on test data)."""
    manifest = Store(store_path).manifest
    from_train = (manifest["stage"] == "prepare" and manifest["config"].get("split") == "train") or \
        manifest["stage"] == "split"
    if not from_train:
        raise DatacentricError(f"{store_path} is not clean training data; surrogates and held-out models train "
                               "only on the prepared training split (or a part of its split)")


def model_identity(store: Store, config: TrainConfig, arch: str) -> dict:
    """Everything that determines a trained model: the store's content hash, the training config, the
    architecture (not paths: a moved or copied data directory still matches)."""
    return {"store_hash": store.manifest["config_hash"], "train_config": dataclasses.asdict(config), "arch": arch}


def cache_dir() -> Path:
    """Trained models shared by every run of this data directory, keyed by their identity's hash."""
    return paths.data_dir() / "cache" / "models"


@dataclass(frozen=True)
class ZooJob:
    """One member of one zoo to train: the unit the stage loop hands to a rank."""

    store: Path
    member: ZooMember
    recipe: TrainConfig
    out_dir: Path
    eval_store: Path | None = None

    @property
    def config(self) -> TrainConfig:
        return dataclasses.replace(self.recipe, seed=self.recipe.seed + self.member.seed, **self.member.overrides)


def zoo_jobs(store: Path, members: list[ZooMember], recipe: TrainConfig, out_dir: Path,
             eval_store: Path | None = None) -> list[ZooJob]:
    return [ZooJob(Path(store), member, recipe, Path(out_dir), eval_store) for member in members]


def train_member(job: ZooJob, *, device: torch.device, resume: bool = False, progress: bool = True,
                 refuse_stale: bool = False) -> Path:
    """Train one member (or reuse it); returns its model path.

    A member is reused only when its model.pt was made from a store with the same content hash and the
    same training config, and its weights match the sha256 recorded beside them; otherwise it is
    trained again (or, with `refuse_stale`, refused), and a checkpoint of another identity is never
    resumed. Finished models also go to a cache keyed by identity, so another run of the same data
    directory that needs the same model (the same subset, recipe and seed) copies it instead of training.
    """
    store, config, member = Store(job.store), job.config, job.member
    folder = Member(job.out_dir / member.name)
    if member.checkpoint:
        return adopt_checkpoint(job, folder, store)
    identity = model_identity(store, config, member.arch)
    record = dict(identity, store=paths.portable(job.store), member=member.name)  # portable: a moved run matches
    cached = Member(cache_dir() / json_digest(identity)[:20])
    if folder.finished_with(identity):
        return folder.model
    if folder.identity_file.exists() and not folder.started_with(identity):
        if refuse_stale:
            raise DatacentricError(f"{folder.folder} holds a model trained on another store or with another config; "
                                   "delete that folder, or train into another --out")
        folder.clear()
    if job.eval_store is None and cached.finished_with(identity):
        cached.copy_to(folder, record)
        return folder.model
    images, targets = training_targets(job.store, config.soft_labels)  # checksums verified before any write
    eval_data = load_tensors(job.eval_store)[:2] if job.eval_store is not None else None
    folder.begin(record)
    torch.manual_seed(config.seed)  # weight initialisation
    model = build(member.arch, store.num_classes, in_chans=images.shape[3])
    evaluate = evaluator(*eval_data, config.eval_batch_size, tta=config.tta) if eval_data else None
    try:
        model = train(model, images, targets, config, device=device, checkpoint=folder.checkpoint,
                      metrics=folder.metrics, evaluate=evaluate, resume=resume, desc=member.name, progress=progress)
    except ValueError as error:
        raise DatacentricError(f"{member.name}: {error}; delete {folder.folder} to start over") from None
    meta = dict(record, class_names=store.class_names)
    if eval_data:
        meta["test_acc"] = accuracy(model, *eval_data, batch_size=config.eval_batch_size, tta=config.tta)
        meta["test_tta"] = config.tta
    save_model(folder.model, model, arch=member.arch, num_classes=store.num_classes, in_chans=images.shape[3],
               meta=meta)
    folder.finish(record, training_cost(folder.metrics))
    if job.eval_store is None:
        folder.copy_to(cached, identity)
    return folder.model


def adopt_checkpoint(job: ZooJob, folder: Member, store: Store) -> Path:
    """A checkpoint member: the model from elsewhere, copied into the zoo as a model file (nothing trained; the
    checkpoint's sha256 is its identity, so a changed file is copied again)."""
    identity = {"checkpoint": describe(job.member.checkpoint), "arch": job.member.arch}
    if folder.finished_with(identity):
        return folder.model
    folder.clear()
    model, recipe = checkpoint_model(job.member.checkpoint)
    height, width, channels = store.image_shape
    with torch.no_grad():
        classes = int(model.eval()(torch.zeros(1, channels, height, width)).shape[1])
    if classes != store.num_classes:
        raise DatacentricError(f"checkpoint {job.member.checkpoint.split(',')[0]} has {classes} classes, the store "
                               f"{store.num_classes}")
    folder.begin(identity)
    save_model(folder.model, model, arch=job.member.arch, num_classes=classes, in_chans=channels,
               meta=dict(identity, class_names=store.class_names), external=recipe)
    folder.finish(identity, None)
    return folder.model


def write_zoo(store: Path, members: list[ZooMember], recipe: TrainConfig, out_dir: Path) -> None:
    """zoo.json once every member is trained: the folder then loads as an ensemble."""
    write_zoo_index(out_dir, store=store, recipe=dataclasses.asdict(recipe),
                    members=[{"name": m.name, "arch": m.arch, "seed": m.seed, "weight": m.weight} for m in members])


def train_zoo(store_path: Path, members: list[ZooMember], recipe: TrainConfig, out_dir: Path, *,
              device: torch.device, eval_store: Path | None = None, resume: bool = False,
              progress: bool = True, refuse_stale: bool = False) -> dict[str, Path]:
    """Train every member on the store (`train_member`); returns {member name: saved model path}."""
    saved = {job.member.name: train_member(job, device=device, resume=resume, progress=progress,
                                           refuse_stale=refuse_stale)
             for job in zoo_jobs(store_path, members, recipe, out_dir, eval_store)}
    write_zoo(store_path, members, recipe, out_dir)
    return saved
