"""The Python API for notebooks and scripts: attack, corrupt, open a store, train, evaluate, load a model.

Images go in as float tensors N×C×H×W in [0, 1] or as uint8 arrays N×H×W×C (a store's layout), and come back
in the form they came in. Defaults are the CPU default's (pipelines/cifar10.toml and the `cpu` recipe), read
from those files; models are put in eval mode for attacks and evaluation. docs/API.md has runnable examples.

Example:
    >>> import datacentric.api as dc
    >>> model = dc.load_model("runs/cifar10/models/enhanced/cifar_resnet8-s0/model.pt")
    >>> adversarial = dc.attack(model, images, labels, eps=8 / 255)
    >>> foggy = dc.corrupt(images, "fog", severity=3)
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.transfer import attack_images
from datacentric.benchmark.run import Bench, suite_functions
from datacentric.benchmark.run import evaluate as evaluate_model
from datacentric.core import device as devices
from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import pipelines_dir
from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.suites import DEFAULT_TRAINING_SUITE, SUITES
from datacentric.data.tensors import to_float, to_uint8
from datacentric.data.torch_dataset import StoreDataset
from datacentric.models.architectures import build
from datacentric.models.ensemble import Ensemble
from datacentric.models.loading import load_any
from datacentric.models.saved import load_model as load_saved
from datacentric.pipeline.config import load_pipeline
from datacentric.training.config import load_recipe, load_zoo
from datacentric.training.stage import train_zoo

CPU_DEFAULT = "cifar10.toml"  # the pipeline whose settings are the API's defaults
EVALUATION_SUITES = ("cifar10c", "mtlat4", "imagecorruptions")  # where `corrupt` looks a corruption name up


def load_model(spec: str | Path, device: str = "cpu") -> nn.Module:
    """A trained model from a file spec (a model.pt of `train`, or `PATH,arch=…` for a checkpoint from elsewhere;
    `datacentric models` explains), in eval mode, taking [0, 1] images."""
    return load_any(spec, devices.resolve(device))


def create_model(arch: str, num_classes: int, in_chans: int = 3) -> nn.Module:
    """A fresh network: a registry name, `timm:NAME` or `torchvision:NAME`, taking [0, 1] images."""
    return build(arch, num_classes, in_chans)


def _as_uint8(images) -> tuple[np.ndarray, bool]:
    """(uint8 N×H×W×C, whether the caller gave a float tensor)."""
    if isinstance(images, torch.Tensor) and images.is_floating_point():
        if images.ndim != 4 or images.shape[1] not in (1, 3):
            raise DatacentricError(f"float images are N×C×H×W with C 1 or 3, got shape {tuple(images.shape)}")
        if images.min() < 0 or images.max() > 1:
            raise DatacentricError("float images lie in [0, 1]")
        return to_uint8(images.detach()), True
    array = images.cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if array.dtype != np.uint8 or array.ndim != 4 or array.shape[3] not in (1, 3):
        raise DatacentricError(f"images are float N×C×H×W in [0, 1] or uint8 N×H×W×C, got {array.dtype} "
                               f"{array.shape}")
    return array, False


def _returned(images: np.ndarray, as_float: bool, like=None):
    if as_float:
        return to_float(images).to(like.device if isinstance(like, torch.Tensor) else "cpu").contiguous()
    return images


def attack(models: nn.Module | Sequence[nn.Module], images, labels, *, eps: float | None = None,
           norm: str = "linf", seed: int = 0, device: str = "cpu", **settings):
    """Paper 004's ensemble transfer attack (MI, DI, logit loss, targeted toward a random class: the CPU
    default's [attack]) on your models and images.

    Args:
        models: one model or several (attacked as an equal-weight ensemble of logits), taking [0, 1] images.
        images: float N×C×H×W in [0, 1], or uint8 N×H×W×C.
        labels: (N,) true classes (tensor, array or list).
        eps: the budget in [0, 1] pixel units under `norm` (default: the CPU default's L∞ 8/255); the result
            never exceeds it (up to rounding to 8-bit levels).
        norm: "linf" or "l2".
        seed: image i's randomness comes from (seed, i).
        settings: any other AttackConfig field (iterations, loss, target, momentum, di_probability, …).
    Returns:
        Adversarial images in the form `images` came in (8-bit levels).
    """
    if norm not in ("linf", "l2"):
        raise DatacentricError(f"norm is 'linf' or 'l2', got {norm!r}")
    budget = {} if eps is None else ({"linf_eps": eps, "linf_step": None} if norm == "linf" else
                                     {"l2_eps": eps, "l2_step": None})
    try:
        config = attack_config(combine=norm, **budget, **settings)
    except (TypeError, ValueError) as error:
        raise DatacentricError(f"attack settings: {error}") from None
    array, as_float = _as_uint8(images)
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels, np.int64)
    chosen = devices.resolve(device)
    listed = list(models) if isinstance(models, (list, tuple)) else [models]
    trainable = [[p.requires_grad for p in m.parameters()] for m in listed]  # the ensemble freezes them
    try:
        model = Ensemble(listed).to(chosen) if len(listed) > 1 else listed[0].to(chosen)
        out = attack_images(model, array, labels, np.arange(len(array)), seed=seed, config=config, device=chosen,
                            require_perturbed=False)
    finally:
        for m, flags in zip(listed, trainable):
            for parameter, flag in zip(m.parameters(), flags):
                parameter.requires_grad_(flag)
    return _returned(out.images, as_float, images)


def attack_config(**settings) -> AttackConfig:
    """The CPU default's attack settings, with `settings` changed."""
    return dataclasses.replace(load_pipeline(pipelines_dir() / CPU_DEFAULT).attack, **settings)


def corruption_names() -> list[str]:
    """The corruptions `corrupt` knows: CIFAR-10-C's, paper 000's four and the imagecorruptions library's (ic_*)."""
    return [entry.name for suite in EVALUATION_SUITES for entry in SUITES[suite].entries]


def corrupt(images, name: str, severity: int, *, seed: int = 0):
    """`images` with corruption `name` (`corruption_names()`) at `severity` 1–5; image i's randomness comes
    from (seed, i). Returns the images in the form they came in."""
    suite = next((SUITES[s] for s in EVALUATION_SUITES if any(e.name == name for e in SUITES[s].entries)), None)
    if suite is None:
        raise DatacentricError(f"unknown corruption '{name}'; known: {', '.join(corruption_names())}")
    if severity not in (1, 2, 3, 4, 5):
        raise DatacentricError(f"severity is 1–5, got {severity!r}")
    array, as_float = _as_uint8(images)
    count = len(array)
    out = SuiteRunner(suite).corrupt_assigned(array, np.arange(count), np.full(count, name),
                                              np.full(count, severity, np.int8), seed)
    return _returned(out, as_float, images)


def open_store(path: str | Path, *, soft_labels: bool = False) -> StoreDataset:
    """A store as a torch Dataset of (float C×H×W image in [0, 1], label), with `classes`, `targets`, and per
    sample `kinds` (its part), `corruptions` and `severities`; checksums verified once."""
    return StoreDataset(path, soft_labels=soft_labels)


def train(store: str | Path, arch: str, *, out: str | Path | None = None, recipe: str = "cpu", seed: int = 0,
          device: str = "cpu", progress: bool = False, **overrides) -> nn.Module:
    """Train one architecture on a store with a recipe of pipelines/recipes.toml (the CPU default's `cpu`), and
    return it in eval mode. `overrides`: any recipe key (epochs, lr, method, …). The model is saved under `out`
    (a fresh temporary folder when None) like `datacentric train` saves it, and a finished one is reused."""
    config = load_recipe(recipe, **overrides)
    member = load_zoo([{"arch": arch, "seed": seed}])
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="datacentric-train-"))
    saved = train_zoo(Path(store), member, config, folder, device=devices.resolve(device), progress=progress)
    return load_saved(saved[member[0].name], devices.resolve(device))[0]


def evaluate(model: nn.Module, bench: str | Path, *, device: str = "cpu", seed: int = 0,
             training_suite: str = DEFAULT_TRAINING_SUITE) -> dict:
    """Every benchmark metric of `model` on a built benchmark (a run's `bench/` folder, or `benchmark build`'s
    output): clean (and `clean_tta`, with test-time flip + shift views), P_adv per attacker, P_cor with
    seen/unseen split against `training_suite`, white-box PGD-20 and FGSM, and AutoAttack, imagecorruptions and
    CIFAR-10-C where the benchmark has them."""
    chosen = devices.resolve(device)
    return evaluate_model(model.to(chosen), Bench.load(Path(bench)), chosen, seed=seed,
                          seen=suite_functions(training_suite))
