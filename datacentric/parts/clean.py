"""`clean`: the part's source images unchanged (the enhanced set's clean share)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datacentric.data.samples import Samples
from datacentric.parts.registry import PartGenerator, register


@dataclass(frozen=True)
class CleanSettings:
    """No settings."""


@register("clean", CleanSettings)
class Clean(PartGenerator):
    """The source images, unchanged."""

    kind = "clean"
    forkable = True

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        return inputs.select(positions)
