"""Saved models and their folders, written, read, verified and described here only.

A trained zoo is a folder holding `zoo.json` (its members and their ensemble weights, the training store
and recipe) and one folder per member:

    <member>/model.pt        architecture, weights and metadata in one file (`save_model`, `load_model`)
    <member>/identity.json   what made it (store hash, training config, architecture), its cost, and the
                             weights' sha256 once finished: a model counts only when all of it matches
    <member>/checkpoint.pt   the trainer's last epoch (exact resume), its sha256 in checkpoint.pt.sha256
    <member>/metrics.jsonl   one line per epoch
    <member>/evaluations/    saved benchmark results, keyed by content (benchmark/run.py)
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from datacentric.core import paths
from datacentric.core.errors import DatacentricError
from datacentric.core.io import atomic_path, sha256_file, write_json_atomic
from datacentric.data.store import Store
from datacentric.models.architectures import build
from datacentric.models.ensemble import Ensemble
from datacentric.models.external import model_from_recipe

MODEL_FORMAT = "datacentric-model/1"


class NotAModelFile(DatacentricError):
    """A readable checkpoint that `save_model` did not write (models/loading.py then reads it as an external one)."""
ZOO_INDEX = "zoo.json"


def save_model(path: Path, model: nn.Module, *, arch: str, num_classes: int, in_chans: int, meta: dict,
               external: dict | None = None) -> None:
    """Write atomically: a temp file in the same directory, then a rename (a full disk: one error line).
    `external`: the recipe of a model from a checkpoint (`external.checkpoint_model`), which rebuilds it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"format": MODEL_FORMAT, "arch": arch, "num_classes": num_classes, "in_chans": in_chans,
                    "state_dict": state, "meta": meta, **({"external": external} if external else {})}, tmp)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict]:
    """(model in eval mode on `device`, its metadata) from a file written by `save_model`.

    Example:
        >>> model, meta = load_model("data/runs/cifar10/models/enhanced/cifar_resnet8-s0/model.pt")
        >>> logits = model(torch.rand(4, 3, 32, 32))
    """
    path = Path(path)
    recorded = Member(path.parent).recorded().get("weights_sha256")
    if recorded and path.is_file() and sha256_file(path) != recorded:
        raise DatacentricError(f"model {path} does not match the checksum in {path.parent / 'identity.json'} "
                               "(damaged or replaced); train it again")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a bad file (pickle, struct, zip, OS errors)
        raise DatacentricError(f"cannot load model {path}: {str(error).splitlines()[0]}") from None
    if not isinstance(saved, dict) or saved.get("format") != MODEL_FORMAT:
        raise NotAModelFile(f"{path} is not a datacentric model file")
    external = saved.get("external")
    model = model_from_recipe(external, saved["num_classes"]) if isinstance(external, dict) else \
        build(saved["arch"], saved["num_classes"], saved["in_chans"])
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), {k: saved[k] for k in ("arch", "num_classes", "in_chans", "meta")}


def training_cost(metrics: Path) -> dict:
    """Wall seconds and image passes of a training run, summed over its metrics lines (one per epoch)."""
    lines = [json.loads(line) for line in metrics.read_text().splitlines() if line]
    return {key: sum(line.get(key, 0) for line in lines) for key in ("seconds", "forward_images", "backward_images")}


@dataclass(frozen=True)
class Member:
    """One trained model's folder."""

    folder: Path

    @property
    def model(self) -> Path:
        return self.folder / "model.pt"

    @property
    def identity_file(self) -> Path:
        return self.folder / "identity.json"

    @property
    def checkpoint(self) -> Path:
        return self.folder / "checkpoint.pt"

    @property
    def metrics(self) -> Path:
        return self.folder / "metrics.jsonl"

    @property
    def evaluations(self) -> Path:
        return self.folder / "evaluations"

    def recorded(self) -> dict:
        """identity.json as written (empty when missing or unreadable)."""
        try:
            value = json.loads(self.identity_file.read_text())
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def started_with(self, identity: dict) -> bool:
        """Was the folder (possibly unfinished: a checkpoint from a killed run) started with this identity?"""
        recorded = self.recorded()
        return bool(recorded) and {k: recorded.get(k) for k in identity} == identity

    def finished_with(self, identity: dict) -> bool:
        """A finished model of this identity whose weights still match their checksum?"""
        recorded = self.recorded()
        return (self.started_with(identity) and "weights_sha256" in recorded and self.model.is_file()
                and sha256_file(self.model) == recorded["weights_sha256"])

    def clear(self) -> None:
        """Remove a model of another identity and its training state (and temporaries of a killed write)."""
        for stale in (self.model, self.checkpoint, self.checkpoint.with_name("checkpoint.pt.sha256"), self.metrics,
                      self.identity_file):
            stale.unlink(missing_ok=True)
        for stale in self.folder.glob(".*.tmp-*"):
            stale.unlink(missing_ok=True)

    def begin(self, record: dict) -> None:
        """Mark the folder as being trained for `record` (identity and where): a checkpoint of another is never resumed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.glob(".*.tmp-*"):  # temporaries of a killed or failed write
            stale.unlink(missing_ok=True)
        write_json_atomic(self.identity_file, record, sort_keys=False)

    def finish(self, record: dict, cost: dict | None) -> None:
        """Record the finished model: its identity, cost and weights' checksum (after model.pt is in place)."""
        write_json_atomic(self.identity_file, dict(record, cost=cost, weights_sha256=sha256_file(self.model)),
                          sort_keys=False)

    def copy_to(self, target: Member, record: dict) -> None:
        """model.pt, then identity.json (which makes it count, and keeps the training cost), each written atomically."""
        target.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(target.model) as tmp:
            shutil.copyfile(self.model, tmp)
        target.finish(record, self.recorded().get("cost"))

    def cost(self) -> dict | None:
        """The training cost recorded beside a finished model: in its identity, else from the metrics lines of a
        model trained in place before costs were recorded; None when neither exists."""
        cost = self.recorded().get("cost")
        if cost is None and self.metrics.is_file():
            cost = training_cost(self.metrics)
        return cost


def write_zoo_index(folder: Path, *, store: Path, recipe: dict, members: list[dict]) -> None:
    """zoo.json: the members (name, arch, seed, weight), the recipe and the training store (portable path)."""
    write_json_atomic(folder / ZOO_INDEX, {"store": paths.portable(store), "recipe": recipe, "members": members},
                      sort_keys=False)


def read_zoo_index(folder: Path) -> dict:
    """zoo.json of a trained zoo folder, or one error line saying to train it first."""
    index = Path(folder) / ZOO_INDEX
    try:
        value = json.loads(index.read_text())
    except (OSError, ValueError):
        raise DatacentricError(f"{folder} holds no trained zoo (no readable {ZOO_INDEX}): train it first") from None
    if not value.get("members"):
        raise DatacentricError(f"{index} lists no models")
    return value


def zoo_members(folder: Path) -> list[Member]:
    return [Member(Path(folder) / m["name"]) for m in read_zoo_index(folder)["members"]]


def load_zoo_models(folder: Path, device: torch.device) -> tuple[list[nn.Module], list[dict]]:
    """The models of a trained zoo folder, in eval mode and channels-last, with their zoo.json entries."""
    members = read_zoo_index(folder)["members"]
    models = [load_model(Path(folder) / m["name"] / "model.pt", device)[0].to(memory_format=torch.channels_last)
              for m in members]
    return models, members


def load_ensemble(folder: Path, device: torch.device) -> tuple[Ensemble, list[dict]]:
    """A trained zoo folder as its weighted logit ensemble."""
    models, members = load_zoo_models(folder, device)
    return Ensemble(models, [m["weight"] for m in members]), members


def zoo_identity(folder: Path) -> list[dict]:
    """The provenance of a zoo's models for config hashes: the member list and, per model, what determines its
    weights and their checksum (not where it was trained: a moved run resumes)."""
    keep = ("store_hash", "train_config", "arch", "weights_sha256")
    entries = read_zoo_index(folder)["members"]
    return [dict(m, identity={k: Member(Path(folder) / m["name"]).recorded().get(k) for k in keep}) for m in entries]


def member_identities(folder: Path) -> set[tuple[str, int]]:
    """(architecture, seed) of every member of a trained zoo folder."""
    return {(m["arch"], int(m["seed"])) for m in read_zoo_index(folder)["members"]}


def _recorded_store(folder: Path) -> Path | None:
    """The training store a trained zoo folder's zoo.json names (portable paths are under the data directory)."""
    recorded = read_zoo_index(folder).get("store")
    if not recorded:
        return None
    return Path(recorded) if Path(recorded).is_absolute() else paths.data_dir() / recorded


def training_store(model_file: Path) -> Path | None:
    """The store a `model.pt` of a trained zoo folder was trained on (its zoo's zoo.json), or None for a model
    file from elsewhere."""
    folder = Path(model_file).parent.parent
    if Path(model_file).name != "model.pt" or not (folder / ZOO_INDEX).is_file():
        return None
    try:
        return _recorded_store(folder)
    except DatacentricError:  # an unreadable zoo.json: the training set is not known
        return None


def training_images(folder: Path) -> np.ndarray:
    """Source indices of the images a trained zoo folder was trained on (its zoo.json names the store)."""
    store = _recorded_store(folder)
    if store is None:
        raise DatacentricError(f"{folder}/{ZOO_INDEX} does not name its training store: retrain that zoo with "
                               "`datacentric train` so its training images can be checked")
    return Store(store).load().source_index
