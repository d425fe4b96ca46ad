"""Torch access to a store: a DataLoader-safe `StoreDataset` and `load_tensors`, the whole store as one tensor."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import h5py
import numpy as np
import torch

from datacentric.data.store import Store, checked_shard


class StoreDataset(torch.utils.data.Dataset):
    """Samples of a store as (float32 C×H×W image in [0, 1], label) pairs.

    Shards are checked against their checksums once, here; HDF5 handles are then opened lazily
    in whichever process reads (a handle inherited across fork returns wrong data), and never
    pickled, so the dataset is safe with DataLoader workers.

    Like torchvision's datasets it has `classes` (class names) and `targets` (labels, one per sample), and
    per sample the store's provenance: `kinds` (the part that made it in an enhanced store: clean,
    adversarial, corrupted, …), `corruptions` (the corruption or attack name, '' for none) and `severities`.

    Example:
        >>> loader = DataLoader(StoreDataset("data/prepared/cifar10/train"), batch_size=128, num_workers=2)
    """

    def __init__(self, root: str | Path, *, soft_labels: bool = False,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None, verify: bool = True):
        store = Store(root)
        if verify:
            store.verify()
        self.paths = [str(store.shard_path(i)) for i in store.shard_ids]
        counts = [store.manifest["shards"][str(i)]["count"] for i in store.shard_ids]
        self.offsets = np.cumsum([0] + counts)
        self.num_classes = store.num_classes
        self.classes = list(store.class_names)
        self.soft_labels = soft_labels
        self.transform = transform
        self._handles: dict[int, h5py.File] = {}
        self._pid = os.getpid()

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def _column(self, name: str) -> np.ndarray:
        return np.concatenate([self._shard(i)[name][:] for i in range(len(self.paths))])

    @property
    def targets(self) -> list[int]:
        return self._column("labels").astype(int).tolist()

    @property
    def kinds(self) -> np.ndarray:
        return self._column("kind").astype(str)

    @property
    def corruptions(self) -> np.ndarray:
        return self._column("corruption").astype(str)

    @property
    def severities(self) -> np.ndarray:
        return self._column("severity")

    def _shard(self, shard: int) -> h5py.File:
        if self._pid != os.getpid():
            self._handles, self._pid = {}, os.getpid()
        if shard not in self._handles:
            self._handles[shard] = checked_shard(h5py.File(self.paths[shard], "r"), Path(self.paths[shard]))
        return self._handles[shard]

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        shard = int(np.searchsorted(self.offsets, index, side="right") - 1)
        h5 = self._shard(shard)
        row = index - int(self.offsets[shard])
        image = torch.from_numpy(h5["images"][row]).permute(2, 0, 1).float().div_(255)
        if self.transform is not None:
            image = self.transform(image)
        if self.soft_labels:
            if "soft_labels" in h5:
                target = torch.from_numpy(h5["soft_labels"][row])
            else:
                target = torch.nn.functional.one_hot(torch.tensor(int(h5["labels"][row])), self.num_classes).float()
        else:
            target = int(h5["labels"][row])
        return image, target

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state


def load_tensors(root: str | Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The whole store: (uint8 N×H×W×C images, int64 labels, float32 N×K soft labels or None), checksums verified."""
    images, labels, soft = Store(root).load_images_labels()
    return torch.from_numpy(images), torch.from_numpy(labels), None if soft is None else torch.from_numpy(soft)
