"""The pure core of the corrupt stage: images + source indices + suite + seed → corrupted images.

Every sample's randomness comes from its own generator, seeded by (global seed, source index), so
a sample's result is the same whatever the batch, shard or number of worker processes.
"""

from __future__ import annotations

import zlib

import numpy as np

from datacentric.core.randomness import sample_rng
from datacentric.corruptions.ops import Apply
from datacentric.corruptions.registry import build
from datacentric.corruptions.resolution import at_size
from datacentric.corruptions.suites import Suite


def choose_entry(rng: np.random.Generator, count: int) -> int:
    """The corruption type of one training sample: uniform over the suite's entries."""
    return int(rng.integers(count))


class SuiteRunner:
    """A suite with every corruption built once per image size (`resolution.at_size`: the parameters follow the
    image side); a worker process keeps one per suite."""

    def __init__(self, suite: Suite):
        self.suite = suite
        self._built: dict[int, dict[tuple[str, int], Apply]] = {}

    def appliers(self, side: int) -> dict[tuple[str, int], Apply]:
        """(entry name, severity or 0) → apply, with the parameters for `side`×`side` images; an entry with
        per-severity params is built once per severity (a training suite then draws one)."""
        if side not in self._built:
            built = {}
            for e in at_size(self.suite, side).entries:
                if e.severities:
                    built.update({(e.name, level): build(e.function, params)
                                  for level, params in enumerate(e.severities, start=1)})
                else:
                    built[(e.name, 0)] = build(e.function, e.params)
            self._built[side] = built
        return self._built[side]

    def corrupt_training(self, images: np.ndarray, source_index: np.ndarray, seed: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One corruption per image, its type drawn uniformly from the suite (and its severity uniformly
        from the entry's severities, if it lists them). Returns (images, names, severities)."""
        entries = self.suite.entries
        appliers = self.appliers(min(images.shape[1:3]))
        out = np.empty_like(images)
        chosen, levels = [], np.zeros(len(images), np.int8)
        for i, (image, index) in enumerate(zip(images, source_index)):
            rng = sample_rng(seed, index)
            entry = entries[choose_entry(rng, len(entries))]
            levels[i] = int(rng.integers(1, len(entry.severities) + 1)) if entry.severities else 0
            out[i] = appliers[(entry.name, int(levels[i]))](image, rng)
            chosen.append(entry.name)
        return out, np.array(chosen), levels

    def corrupt_assigned(self, images: np.ndarray, source_index: np.ndarray, names: np.ndarray,
                         severities: np.ndarray, seed: int) -> np.ndarray:
        """Each image corrupted by its assigned (name, severity); severity 0 in training suites."""
        appliers = self.appliers(min(images.shape[1:3]))
        out = np.empty_like(images)
        for i, (image, index, name, severity) in enumerate(zip(images, source_index, names, severities)):
            rng = sample_rng(seed, index, stream=zlib.crc32(f"{name}/{int(severity)}".encode()))
            out[i] = appliers[(str(name), int(severity))](image, rng)
        return out
