"""The part-generator registry: every way of making an enhanced set's part, declared once and built by name.

A generator is a pure core: the part's input samples in (and the positions of this shard among them),
samples out, with its randomness drawn from (seed, source index) so that the output does not depend
on shards, workers or batches. Its typed settings are a frozen dataclass registered with it.

Adding a method (docs/ARCHITECTURE.md): write one module in `datacentric/parts/` with a settings
dataclass and a `PartGenerator` subclass decorated with `@register("name", Settings)`, and add the
module to `GENERATOR_MODULES` below.

Example:
    >>> generator = create_generator("gaussian_noise", {"sigma": 0.1}, PartContext(seed=0))
    >>> out = generator.generate(samples, np.arange(len(samples)))
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from datacentric.core.errors import DatacentricError
from datacentric.core.registry import describe, registrar
from datacentric.core.tomlconfig import from_dict
from datacentric.data.samples import Samples
from datacentric.models.saved import load_ensemble, zoo_identity

GENERATOR_MODULES = ("clean", "attack", "corrupt", "tlat", "mixup", "noise", "ant", "augmix", "prime")
GENERATORS: dict[str, type[PartGenerator]] = {}


@dataclass(frozen=True)
class PartContext:
    """What a generator may use besides its input: the global seed, the device, the trained surrogate
    ensemble (a zoo folder), a held-out zoo for transfer measurements, and a folder for its own files."""

    seed: int = 0
    num_classes: int = 10
    device: torch.device = torch.device("cpu")
    surrogates: Path | None = None
    holdout: Path | None = None
    workdir: Path | None = None  # the part's output folder (ANT saves its trained noise generator there)

    @cached_property
    def ensemble(self):
        """The surrogate ensemble, loaded once per process."""
        if self.surrogates is None:
            raise DatacentricError("this generator attacks a surrogate ensemble, and none was given")
        return load_ensemble(self.surrogates, self.device)[0]

    def surrogate_identity(self) -> list[dict] | None:
        """The surrogates' provenance (member list and each model's training identity), for config hashes."""
        return None if self.surrogates is None else zoo_identity(self.surrogates)


class PartGenerator:
    """Base class of every part generator. Subclasses set `Settings` (via `register`) and override
    `generate`; the hooks below have defaults that suit most of them.

    Hooks, in the order the transform helper calls them:
        needs_surrogates (class attribute): the pipeline trains the surrogate ensemble first.
        provenance(): extra facts that determine the output (enter the store's config hash).
        setup(source): one-time work on the whole input before any shard (ANT trains its noise generator).
        generate(inputs, positions): the samples of one shard.
        check(source, out): invariants; raise DatacentricError naming the samples, before anything is written.
        shard_info(): small facts about the shard just made, kept in the manifest beside it.
        summary(out_store, source): measurements recorded in the finished store's manifest.
    """

    name: ClassVar[str]
    Settings: ClassVar[type]
    needs_surrogates: ClassVar[bool] = False
    process_parallel: ClassVar[bool] = False  # True: numpy work that scales with processes; False: torch threads
    forkable: ClassVar[bool] = False  # numpy code only: worker processes may fork (torch's thread pool can deadlock)
    kind: ClassVar[str] = "generated"  # the `kind` recorded for each output sample
    paper: ClassVar[str] = ""

    def __init__(self, settings, context: PartContext):
        self.settings = settings
        self.context = context

    @classmethod
    def seen_corruptions(cls, settings) -> set[str]:
        """Corruption functions (corruptions/registry.py) whose kind of change this part puts in the
        training set: the benchmark reports those corruptions as seen, the rest as unseen."""
        return set()

    def provenance(self) -> dict:
        return {"surrogates": self.context.surrogate_identity()} if self.needs_surrogates else {}

    def setup(self, source: Samples) -> None:
        """One-time preparation on the whole input (default: nothing)."""

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        raise NotImplementedError

    def check(self, source: Samples, out: Samples) -> None:
        check_common(source, out, self.name)

    def shard_info(self) -> dict | None:
        return None

    def summary(self, out, source: Samples) -> dict:
        return {}


register = registrar(GENERATORS, "part generator")  # @register("mixup", MixupSettings) adds a generator


def _load_all() -> None:
    for module in GENERATOR_MODULES:
        importlib.import_module(f"datacentric.parts.{module}")


def generator_class(name: str) -> type[PartGenerator]:
    _load_all()
    if name not in GENERATORS:
        raise DatacentricError(f"unknown part generator '{name}'; known: {', '.join(sorted(GENERATORS))}")
    return GENERATORS[name]


def make_settings(name: str, values: dict | Any, where: str = ""):
    """A generator's typed settings from a table (or pass an instance through)."""
    cls = generator_class(name).Settings
    if isinstance(values, cls):
        return values
    return from_dict(cls, dict(values or {}), where or f"generator '{name}' settings")


def create_generator(name: str, settings: dict | Any, context: PartContext) -> PartGenerator:
    return generator_class(name)(make_settings(name, settings), context)


def list_generators() -> list[dict]:
    """Every registered generator with its paper and each setting's default, like `timm.list_models()`."""
    _load_all()
    return [dict(describe(GENERATORS[name]), needs_surrogates=GENERATORS[name].needs_surrogates)
            for name in sorted(GENERATORS)]


def check_common(source: Samples, out: Samples, name: str) -> None:
    """What every generator's output must satisfy: one output per input, same source indices, uint8
    images of the input's shape, and soft-label rows that are finite, non-negative and sum to 1."""
    def broken(what: str, mask: np.ndarray) -> None:
        raise invariant_error(name, what, np.asarray(out.source_index)[mask])

    if len(out) != len(source) or not np.array_equal(out.source_index, source.source_index):
        raise DatacentricError(f"{name}: made {len(out)} samples for {len(source)} inputs; nothing was written")
    if out.images.dtype != np.uint8 or out.images.shape != source.images.shape:
        raise DatacentricError(f"{name}: images must be uint8 {source.images.shape}, got {out.images.dtype} "
                               f"{out.images.shape}; nothing was written")
    if out.soft_labels is not None:
        soft = np.asarray(out.soft_labels, np.float64)
        bad = ~np.isfinite(soft).all(1) | (soft < 0).any(1)
        if bad.any():
            broken("soft label not finite or negative", bad)
        off = np.abs(soft.sum(1) - 1) > 1e-4
        if off.any():
            broken("soft label row does not sum to 1", off)
        if not np.array_equal(soft.argmax(1), out.labels):
            broken("hard label is not the soft label's largest class", soft.argmax(1) != out.labels)


def invariant_error(name: str, what: str, ids: np.ndarray) -> DatacentricError:
    """The error a generator raises when samples break an invariant (before anything is written)."""
    ids = np.asarray(ids)
    return DatacentricError(f"{name}: invariant broken, {what}: samples {ids[:20].tolist()}"
                            f"{' …' if len(ids) > 20 else ''} ({len(ids)} in all); nothing was written")
