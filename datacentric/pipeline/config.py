"""A pipeline's typed configuration, loaded from one TOML file in pipelines/."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from datacentric.attacks.engine import AttackConfig
from datacentric.benchmark.build import BenchConfig
from datacentric.config import from_dict, read_toml
from datacentric.errors import DatacentricError


@dataclass(frozen=True)
class SplitSettings:
    ratio: str = "1:2:2"  # clean : adversarial : corrupted
    limit: int | None = None  # training images used (None: all)
    stratify: bool = True


@dataclass(frozen=True)
class ZooSettings:
    zoo: str = "cpu-small"  # a zoo of pipelines/zoos.toml
    recipe: str = "cpu"  # a recipe of pipelines/recipes.toml
    epochs: int | None = None  # overrides the recipe's


@dataclass(frozen=True)
class CorruptSettings:
    suite: str = "paper14"
    workers: int = 0  # 0: all cores


@dataclass(frozen=True)
class ExportSettings:
    format: str = ""  # "competition" writes data.npy + label.npy of the enhanced store; "" skips the export


@dataclass(frozen=True)
class PipelineConfig:
    name: str
    dataset: str = "cifar10"
    seed: int = 0
    device: str = "auto"
    split: SplitSettings = field(default_factory=SplitSettings)
    surrogates: ZooSettings = field(default_factory=lambda: ZooSettings("cpu-surrogates"))
    attack: AttackConfig = field(default_factory=AttackConfig)
    corrupt: CorruptSettings = field(default_factory=CorruptSettings)
    targets: ZooSettings = field(default_factory=ZooSettings)
    evaluation: ZooSettings = field(default_factory=lambda: ZooSettings("cpu-holdout"))
    benchmark: BenchConfig = field(default_factory=BenchConfig)
    export: ExportSettings = field(default_factory=ExportSettings)


SECTIONS = {"split": SplitSettings, "surrogates": ZooSettings, "attack": AttackConfig, "corrupt": CorruptSettings,
            "targets": ZooSettings, "evaluation": ZooSettings, "benchmark": BenchConfig, "export": ExportSettings}


def load_pipeline(path: Path) -> PipelineConfig:
    """Read and type-check a pipeline TOML; unknown keys are errors."""
    table = read_toml(path)
    values = {}
    for key, value in table.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise DatacentricError(f"{path}: [{key}] must be a table")
            if key == "benchmark":
                value = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            values[key] = from_dict(SECTIONS[key], value, f"{path} [{key}]")
        else:
            values[key] = value
    if "name" not in values:
        values["name"] = Path(path).stem
    return from_dict(PipelineConfig, values, str(path))


def with_seed(config: PipelineConfig, seed: int) -> PipelineConfig:
    """The same pipeline under another seed (split, training, attack): its run folder is <name>-seed<N>."""
    if seed == config.seed:
        return config
    return dataclasses.replace(config, seed=seed, name=f"{config.name}-seed{seed}")
