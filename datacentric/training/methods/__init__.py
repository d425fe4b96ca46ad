"""Training methods: each turns (model, augmented batch, targets, per-step randomness) into the loss of one step.

The trainer stays one loop (device-resident data, per-(seed, epoch) randomness, checkpoints, exact
resume, metrics); a method only decides what the model sees and what it is scored against. A method that
also exists as a part generator uses that part's kernel and settings (the noise, mixup, M-TLAT label and
ANT generator and AugMix kernels live in `parts/`), and every inner attack is the attack engine's. Every method counts
the images it passes forward and backward through the model, the model-agnostic cost that the metrics
lines record.

Adding a method: a module here with a settings dataclass and a `TrainingMethod` subclass decorated with
`@register("name", Settings)`, imported below.

Example:
    >>> method = create_method("pgd_at", {"steps": 7}, num_classes=10)
    >>> step = method.step(model, batch, targets, StepRandom(seed=0, epoch=3, step=12, index=positions))
    >>> step.loss.backward()
"""

from __future__ import annotations

from datacentric.core.errors import DatacentricError
from datacentric.core.registry import describe
from datacentric.core.tomlconfig import from_dict
from datacentric.training.methods import adversarial, ant, augmix, noise, prime, standard  # noqa: F401  (register the methods)
from datacentric.training.methods.base import METHODS, StepRandom, StepResult, TrainingMethod  # noqa: F401


def method_class(name: str) -> type[TrainingMethod]:
    if name not in METHODS:
        raise DatacentricError(f"unknown training method '{name}'; known: {', '.join(sorted(METHODS))}")
    return METHODS[name]


def create_method(name: str, settings: dict, num_classes: int, label_smoothing: float = 0.0) -> TrainingMethod:
    cls = method_class(name)
    return cls(from_dict(cls.Settings, dict(settings), f"training method '{name}' settings"), num_classes,
               label_smoothing)


def list_methods() -> list[dict]:
    return [describe(METHODS[name]) for name in sorted(METHODS)]
