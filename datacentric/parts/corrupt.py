"""`corruption`: one common corruption per image, drawn uniformly from a training suite (paper 004's corrupted part)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from datacentric.core.errors import DatacentricError
from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.suites import DEFAULT_TRAINING_SUITE, load_suite
from datacentric.data.samples import Samples, distances
from datacentric.parts.registry import PartGenerator, register


@dataclass(frozen=True)
class CorruptionSettings:
    suite: str = DEFAULT_TRAINING_SUITE  # a training suite (datacentric/corruptions/suites.py) or a suite .toml file

    def __post_init__(self):
        try:
            kind = load_suite(self.suite).kind
        except DatacentricError as error:
            raise ValueError(str(error)) from None
        if kind != "training":
            raise ValueError(f"suite '{self.suite}' is an evaluation suite; the corruption generator takes a "
                             "training suite")


_runners: dict[str, SuiteRunner] = {}  # per process: a suite's corruptions are built once


@register("corruption", CorruptionSettings)
class Corruption(PartGenerator):
    """One corruption per image from a training suite, parameters drawn per sample (paper 004's corrupted part)."""

    kind = "corrupted"
    process_parallel = True
    forkable = True
    paper = "004"

    def __init__(self, settings, context):
        super().__init__(settings, context)
        self.suite = load_suite(settings.suite)

    @classmethod
    def seen_corruptions(cls, settings) -> set[str]:
        return {entry.corruption_type for entry in load_suite(settings.suite).entries}

    def provenance(self) -> dict:
        return {"suite": self.suite.to_dict()}  # a user suite file's content, not only its name

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        part = inputs.select(positions)
        key = repr(self.suite.to_dict())
        if key not in _runners:
            _runners[key] = SuiteRunner(self.suite)
        runner = _runners[key]
        images, names, severities = runner.corrupt_training(part.images, part.source_index, self.context.seed)
        l2, linf = distances(part.images, images)
        return dataclasses.replace(part, images=images, kind=np.full(len(part), self.kind), corruption=names,
                                   severity=severities, l2=l2, linf=linf)
