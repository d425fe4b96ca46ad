"""A store read as samples on demand: labels and source indices in memory, images only at the positions asked for.

The part generators take their input as a `StoreView`, so a part never holds more images than the shard it is
making (plus what its generator keeps: ANT's random training batches, a mixup partner per image).
"""

from __future__ import annotations

import numpy as np

from datacentric.data.samples import Samples
from datacentric.data.store import Store


class StoreView:
    """`len`, `labels`, `source_index`, `image_shape` and `select(positions)` of `Samples`, read lazily."""

    def __init__(self, store: Store):
        self.store = store
        self.labels = store.column("labels")
        self.source_index = store.column("source_index")
        self.image_shape = store.image_shape

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, positions: np.ndarray | slice) -> Samples:
        """The samples at `positions` (an integer array or a slice), read from their shards."""
        if isinstance(positions, slice):
            positions = np.arange(len(self))[positions]
        return self.store.read(np.asarray(positions))
