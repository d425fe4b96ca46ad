"""The pure core of the corrupt stage: images + source indices + suite + seed → corrupted images.

Every sample's randomness comes from its own generator, seeded by (global seed, source index), so
a sample's result is the same whatever the batch, shard or number of worker processes.
"""

from __future__ import annotations

import zlib

import numpy as np

from datacentric.corruptions.ops import Apply
from datacentric.corruptions.registry import build
from datacentric.corruptions.suites import Suite

CORRUPT_STREAM = 1  # separates the corrupt stage's random stream from other stages' for the same sample


def sample_rng(seed: int, source_index: int, stream: int = CORRUPT_STREAM) -> np.random.Generator:
    return np.random.default_rng([seed, int(source_index), stream])


def choose_entry(rng: np.random.Generator, count: int) -> int:
    """The corruption type of one training sample: uniform over the suite's entries."""
    return int(rng.integers(count))


class SuiteRunner:
    """A suite with every corruption built once; a worker process keeps one per suite."""

    def __init__(self, suite: Suite):
        self.suite = suite
        if suite.kind == "training":
            self.appliers: dict[tuple[str, int], Apply] = {(e.name, 0): build(e.function, e.params) for e in suite.entries}
        else:
            self.appliers = {(e.name, level): build(e.function, params)
                             for e in suite.entries for level, params in enumerate(e.severities, start=1)}

    def corrupt_training(self, images: np.ndarray, source_index: np.ndarray, seed: int
                         ) -> tuple[np.ndarray, np.ndarray]:
        """One corruption per image, its type drawn uniformly from the suite. Returns (images, names)."""
        names = [entry.name for entry in self.suite.entries]
        out = np.empty_like(images)
        chosen = []
        for i, (image, index) in enumerate(zip(images, source_index)):
            rng = sample_rng(seed, index)
            name = names[choose_entry(rng, len(names))]
            out[i] = self.appliers[(name, 0)](image, rng)
            chosen.append(name)
        return out, np.array(chosen)

    def corrupt_assigned(self, images: np.ndarray, source_index: np.ndarray, names: np.ndarray,
                         severities: np.ndarray, seed: int) -> np.ndarray:
        """Each image corrupted by its assigned (name, severity); severity 0 in training suites."""
        out = np.empty_like(images)
        for i, (image, index, name, severity) in enumerate(zip(images, source_index, names, severities)):
            rng = sample_rng(seed, index, stream=zlib.crc32(f"{name}/{int(severity)}".encode()))
            out[i] = self.appliers[(str(name), int(severity))](image, rng)
        return out
