"""A pipeline's typed configuration, loaded from one TOML file in pipelines/."""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacentric.attacks.engine import AttackConfig
from datacentric.benchmark.build import BenchConfig
from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import apply_overrides, from_dict, read_toml
from datacentric.corruptions.suites import DEFAULT_TRAINING_SUITE
from datacentric.data.export import EXPORTERS
from datacentric.data.split import SplitSettings, parse_ratio
from datacentric.data.stages import PrepareSettings
from datacentric.parts.registry import generator_class, make_settings
from datacentric.training.config import TrainConfig, load_recipe, load_zoo


@dataclass(frozen=True)
class PartSpec:
    """One part of the enhanced set: a generator applied to its slice of the split, or to another part's output."""

    name: str
    generator: str
    share: float | None = None  # fraction of the subset; the shares of all parts with one add up to 1
    input: str | None = None  # another part whose output this part transforms (instead of a share)
    settings: Any = None  # the generator's typed settings (parts/registry.py)
    soft_label: tuple[float, float] | None = None  # (on, off): each label row becomes on·row + off, normalised
    workers: int = 0  # local processes; 0: the generator's choice (all cores for numpy work, one for torch)
    copies: int = 1  # frozen copies in the enhanced set, each drawn anew: the set grows by (copies − 1) × this part

    def copy_names(self) -> list[str]:
        """The part's store names, one per copy: its own name, then <name>.copy1, <name>.copy2, …"""
        return [self.name] + [f"{self.name}.copy{c}" for c in range(1, self.copies)]


@dataclass(frozen=True)
class ZooSettings:
    zoo: str | tuple = "cpu-small"  # a zoo of pipelines/zoos.toml, or its members inline (training/config.load_zoo)
    recipe: str = "cpu"  # a recipe of pipelines/recipes.toml
    epochs: int | None = None  # overrides the recipe's
    method: str | None = None  # a training method (training/methods.py); overrides the recipe's
    method_settings: dict | None = None  # that method's settings; override the recipe's

    def train_config(self) -> "TrainConfig":
        """The recipe with this zoo's overrides (checked: an unknown recipe or method fails here)."""
        return load_recipe(self.recipe, epochs=self.epochs, method=self.method, method_settings=self.method_settings)


@dataclass(frozen=True)
class AttackerSettings:
    """The independent attacker: the benchmark's headline P_adv. Trained on `reserve` training images
    that no subset of any seed contains (data/split.py: `reserved_positions`), with its own zoo and
    training length, and without the pipeline's seed, so one attacker serves every seed (model cache)."""

    zoo: str | tuple = "cpu-attacker"  # a zoo of pipelines/zoos.toml (or inline); no (arch, seed) in common with the surrogates
    recipe: str = "cpu"
    epochs: int | None = None  # overrides the recipe's
    reserve: int = 20000  # training images held out of every subset for it; 0: no independent attacker

    def __post_init__(self):
        if not isinstance(self.reserve, int) or isinstance(self.reserve, bool) or self.reserve < 0:
            raise ValueError(f"reserve must be a non-negative integer, got {self.reserve!r}")

    def zoo_settings(self) -> ZooSettings:
        return ZooSettings(self.zoo, self.recipe, self.epochs)


@dataclass(frozen=True)
class CorruptSettings:
    suite: str = DEFAULT_TRAINING_SUITE
    workers: int = 0  # 0: all cores

    def __post_init__(self):
        if self.workers < 0:
            raise ValueError("workers must be non-negative")


@dataclass(frozen=True)
class ExportSettings:
    format: str = ""  # the enhanced store exported as competition | imagefolder | npz | hf | parquet; "" skips it

    def __post_init__(self):
        if self.format not in ("", *EXPORTERS):
            raise ValueError(f"format must be one of {', '.join(EXPORTERS)} or \"\" (no export), got {self.format!r}")


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    dataset: str = "cifar10"
    seed: int = 0
    device: str = "auto"
    prepare: PrepareSettings = field(default_factory=PrepareSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    surrogates: ZooSettings = field(default_factory=lambda: ZooSettings("cpu-surrogates"))
    attack: AttackConfig = field(default_factory=AttackConfig)
    corrupt: CorruptSettings = field(default_factory=CorruptSettings)
    targets: ZooSettings = field(default_factory=ZooSettings)
    evaluation: ZooSettings = field(default_factory=lambda: ZooSettings("cpu-holdout"))
    attacker: AttackerSettings | None = None  # None: P_adv from the evaluation ensemble only
    benchmark: BenchConfig = field(default_factory=BenchConfig)
    export: ExportSettings = field(default_factory=ExportSettings)
    parts: tuple[PartSpec, ...] = ()  # empty: the classic three from split.ratio, [attack] and [corrupt]
    # assembled parts to ablate: for each, the target zoo also trains on the enhanced set with that part
    # replaced by the clean images it was made from, and the report shows what the part adds
    ablation: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()  # the command line's `--set section.key=value`, recorded with the run

    def __post_init__(self):
        if not isinstance(self.name, str) or not RUN_NAME.match(self.name):
            raise ValueError(f"name must be 1–64 letters, digits, '_', '-' or '.' (a folder under runs/), "
                             f"got {self.name!r}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**31:
            raise ValueError(f"seed must be an integer in [0, 2³¹), got {self.seed!r}")

    def enhanced_parts(self) -> tuple[PartSpec, ...]:
        """The declared parts, or the classic clean / transfer-attacked / corrupted parts of `split.ratio`."""
        if self.parts:
            return self.parts
        shares = parse_ratio(self.split.ratio)
        generators = (("clean", "clean", None), ("adversarial", "transfer_attack", self.attack),
                      ("corrupted", "corruption", make_settings("corruption", {"suite": self.corrupt.suite})))
        return tuple(PartSpec(name, generator, share / sum(shares), settings=settings,
                              workers=self.corrupt.workers if generator == "corruption" else 0)
                     for (name, generator, settings), share in zip(generators, shares))


SECTIONS = {"prepare": PrepareSettings, "split": SplitSettings, "surrogates": ZooSettings, "attack": AttackConfig,
            "corrupt": CorruptSettings, "targets": ZooSettings, "evaluation": ZooSettings, "attacker": AttackerSettings,
            "benchmark": BenchConfig, "export": ExportSettings}


def load_pipeline(path: Path, overrides: tuple[str, ...] = ()) -> PipelineConfig:
    """Read and type-check a pipeline TOML with `--set` overrides applied; unknown keys, bad values and bad part
    graphs are errors here, before any stage runs."""
    table = apply_overrides(read_toml(path), overrides, str(path))
    if "overrides" in table:
        raise DatacentricError(f"{path}: `overrides` is set by --set on the command line, not in the file")
    values = {"overrides": tuple(overrides)} if overrides else {}
    for key, value in table.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise DatacentricError(f"{path}: [{key}] must be a table")
            if key == "benchmark":
                value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            values[key] = from_dict(SECTIONS[key], value, f"{path} [{key}]")
        elif key == "ablation":
            values[key] = tuple(value) if isinstance(value, list) else value
        elif key == "parts":
            if "ratio" in table.get("split", {}):
                raise DatacentricError(f"{path}: give either [split] ratio (the classic three parts) or [[parts]]")
            values[key] = load_parts(value, str(path))
        else:
            values[key] = value
    if "name" not in values:
        values["name"] = Path(path).stem
    config = from_dict(PipelineConfig, values, str(path))
    parse_ratio(config.split.ratio)
    config.enhanced_parts()  # the classic parts' settings (the [corrupt] suite) are checked here too
    zoos = [config.surrogates, config.evaluation, config.targets]
    if config.attacker is not None:
        zoos.append(config.attacker.zoo_settings())
    for settings in zoos:  # zoos, recipes and methods known before any stage
        load_zoo(settings.zoo)
        settings.train_config()
    assembled = {p.name for p in config.enhanced_parts()} - {p.input for p in config.enhanced_parts()}
    unknown = [name for name in config.ablation if name not in assembled]
    if unknown or len(set(config.ablation)) != len(config.ablation):
        raise DatacentricError(f"{path}: ablation names parts of the enhanced set once each ({sorted(assembled)}), "
                               f"got {list(config.ablation)}")
    if config.attacker is not None and config.attacker.reserve == 0:
        raise DatacentricError(f"{path} [attacker]: reserve = 0 leaves it no training images outside the subset; "
                               "reserve some, or remove [attacker] (P_adv then comes from the evaluation ensemble)")
    return config


RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PART_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,23}$")  # a folder name and a store `kind`


def load_parts(tables: Any, where: str) -> tuple[PartSpec, ...]:
    """`[[parts]]` tables → part specs, checked as a whole: known generators, valid settings, shares that
    add up to 1, inputs that exist and form no cycle, each output feeding at most one part."""
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise DatacentricError(f"{where}: [[parts]] must be a non-empty list of tables")
    parts = []
    for table in tables:
        table = dict(table)
        label = f"{where} part '{table.get('name', '?')}'"
        generator = table.get("generator")
        if not isinstance(generator, str):
            raise DatacentricError(f"{label}: needs a generator name (`datacentric methods` lists them)")
        generator_class(generator)
        table["settings"] = make_settings(generator, table.get("settings", {}), f"{label} settings")
        if "soft_label" in table:
            table["soft_label"] = tuple(table["soft_label"]) if isinstance(table["soft_label"], list) else None
        part = from_dict(PartSpec, table, label)
        check_part(part, label)
        parts.append(part)
    names = [p.name for p in parts]
    if len(set(names)) != len(names):
        raise DatacentricError(f"{where}: part names must differ, got {names}")
    for part in parts:
        if part.input is not None and part.input not in names:
            raise DatacentricError(f"{where} part '{part.name}': its input '{part.input}' is not a part")
    consumers = [p.input for p in parts if p.input is not None]
    copied = sorted({p.name for p in parts if p.copies > 1} & set(consumers))
    if copied:
        raise DatacentricError(f"{where}: {copied} have copies and feed another part; copy the last part of a chain")
    twice = sorted({n for n in consumers if consumers.count(n) > 1})
    if twice:
        raise DatacentricError(f"{where}: the output of {twice} feeds more than one part (the set would grow)")
    inputs = {p.name: p.input for p in parts}
    for part in parts:
        seen, current = {part.name}, part.input
        while current is not None:
            if current in seen:
                raise DatacentricError(f"{where}: the parts' inputs form a cycle through '{current}'")
            seen.add(current)
            current = inputs[current]
    total = sum(p.share for p in parts if p.share is not None)
    if abs(total - 1) > 1e-6:
        raise DatacentricError(f"{where}: the parts' shares add up to {total:g}, not 1")
    return tuple(parts)


def check_part(part: PartSpec, label: str) -> None:
    if not isinstance(part.name, str) or not PART_NAME.match(part.name):
        raise DatacentricError(f"{label}: a part name is 1–24 letters, digits, '_', '-' or '.', got {part.name!r}")
    if (part.share is None) == (part.input is None):
        raise DatacentricError(f"{label}: give either a share of the subset or an input part, not both or neither")
    if part.share is not None and not (isinstance(part.share, (int, float)) and 0 <= part.share <= 1):
        raise DatacentricError(f"{label}: share must be a number in [0, 1], got {part.share!r}")
    if part.soft_label is not None:
        values = list(part.soft_label)
        if len(values) != 2 or not all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in values) \
                or sum(values) <= 0:
            raise DatacentricError(f"{label}: soft_label = [on, off] needs two non-negative numbers, so that every "
                                   f"label row sums to a positive number; got {values}")
    if not isinstance(part.workers, int) or part.workers < 0:
        raise DatacentricError(f"{label}: workers must be a non-negative integer")
    if not isinstance(part.copies, int) or isinstance(part.copies, bool) or not 1 <= part.copies <= 64:
        raise DatacentricError(f"{label}: copies must be an integer from 1 to 64, got {part.copies!r}")


def with_seed(config: PipelineConfig, seed: int) -> PipelineConfig:
    """The same pipeline under another seed (split, training, attack): its run folder is <name>-seed<N>."""
    if seed == config.seed:
        return config
    try:
        return dataclasses.replace(config, seed=seed, name=f"{config.name}-seed{seed}")
    except ValueError as error:
        raise DatacentricError(f"--seed: {error}") from None
