"""`Samples`: the in-memory form of a batch of stored samples, with its validation."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from datacentric.core.errors import DatacentricError

KIND_WIDTH = 24  # bytes of the fixed-width ASCII `kind` field
CORRUPTION_WIDTH = 32  # bytes of the fixed-width ASCII `corruption` field
PROVENANCE_DEFAULTS = {"partner_index": (-1, np.int64), "mix_lambda": (1.0, np.float32),
                       "target_class": (-1, np.int64), "budget": (np.nan, np.float32)}


@dataclass
class Samples:
    """Images and everything the store records about each of them.

    Shapes: N samples of H×W×C uint8 pixels. `l2` and `linf` are distances from the source
    image in [0, 1] pixel units (L2 over all H·W·C values). `severity` is 0 where none applies.
    """

    images: np.ndarray  # uint8 (N, H, W, C), C in {1, 3}
    labels: np.ndarray  # int64 (N,)
    source_index: np.ndarray  # int64 (N,): position in the source split
    kind: np.ndarray  # str (N,): clean, adversarial, corrupted, ...
    corruption: np.ndarray  # str (N,): corruption name, '' when none
    severity: np.ndarray  # int8 (N,)
    l2: np.ndarray  # float32 (N,)
    linf: np.ndarray  # float32 (N,)
    soft_labels: np.ndarray | None = None  # float32 (N, K); rows with a positive sum
    # provenance the part generators record (format 2); None fills the "does not apply" value
    partner_index: np.ndarray | None = None  # int64 (N,): mixup partner's source index, -1 when none
    mix_lambda: np.ndarray | None = None  # float32 (N,): weight of the sample itself in a mixup, 1 when none
    target_class: np.ndarray | None = None  # int64 (N,): an attack's target class, -1 when untargeted
    budget: np.ndarray | None = None  # float32 (N,): the noise level or budget drawn for it, NaN when none

    def __post_init__(self):
        count = len(self.labels)
        for name, value in PROVENANCE_DEFAULTS.items():
            if getattr(self, name) is None:
                setattr(self, name, np.full(count, value[0], value[1]))

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def clean(cls, images: np.ndarray, labels: np.ndarray, source_index: np.ndarray | None = None) -> Samples:
        """Unmodified source images: kind 'clean', zero distance."""
        count = len(labels)
        if source_index is None:
            source_index = np.arange(count)
        return cls(
            images=images,
            labels=np.asarray(labels, dtype=np.int64),
            source_index=np.asarray(source_index, dtype=np.int64),
            kind=np.full(count, "clean", dtype=f"<U{KIND_WIDTH}"),
            corruption=np.full(count, "", dtype=f"<U{CORRUPTION_WIDTH}"),
            severity=np.zeros(count, np.int8),
            l2=np.zeros(count, np.float32),
            linf=np.zeros(count, np.float32),
        )

    @property
    def image_shape(self) -> tuple[int, ...]:
        """(H, W, C) of every image."""
        return tuple(self.images.shape[1:])

    def select(self, index: np.ndarray | slice) -> Samples:
        """The samples at `index` (an integer array, boolean mask or slice)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return Samples(**{name: None if value is None else value[index] for name, value in values.items()})

    def with_soft_labels(self, num_classes: int) -> Samples:
        """The same samples with soft labels: hard labels become one-hot rows."""
        if self.soft_labels is not None:
            return self
        soft = np.eye(num_classes, dtype=np.float32)[np.asarray(self.labels, np.int64)]
        return Samples(**{**{f.name: getattr(self, f.name) for f in fields(self)}, "soft_labels": soft})

    @staticmethod
    def concat(parts: list[Samples], num_classes: int | None = None) -> Samples:
        """One batch of all parts; where some have soft labels and others not, the others' hard labels
        become one-hot rows (`num_classes` needed then)."""
        if not parts:
            raise DatacentricError("there are no samples to concatenate")
        has_soft = [p.soft_labels is not None for p in parts]
        if any(has_soft) and not all(has_soft):
            if num_classes is None:
                raise DatacentricError("mixing samples with and without soft labels needs the number of classes")
            parts = [p.with_soft_labels(num_classes) for p in parts]
        out = {}
        for f in fields(Samples):
            values = [getattr(p, f.name) for p in parts]
            out[f.name] = None if values[0] is None else np.concatenate(values)
        return Samples(**out)

    def validate(self, num_classes: int) -> None:
        """Raise DatacentricError naming the first field that is malformed."""
        images = self.images
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
            raise DatacentricError(f"images must be uint8, got {getattr(images, 'dtype', type(images))}")
        if images.ndim != 4 or images.shape[3] not in (1, 3):
            raise DatacentricError(f"images must be N×H×W×C with C in (1, 3), got shape {images.shape}")
        count = images.shape[0]
        for name in ("labels", "source_index", "kind", "corruption", "severity", "l2", "linf", *PROVENANCE_DEFAULTS):
            value = np.asarray(getattr(self, name))
            if value.shape != (count,):
                raise DatacentricError(f"{name} must have shape ({count},), got {value.shape}")
        labels = np.asarray(self.labels)
        if not np.issubdtype(labels.dtype, np.integer):
            raise DatacentricError(f"labels must be integers, got {labels.dtype}")
        if count and (labels.min() < 0 or labels.max() >= num_classes):
            raise DatacentricError(
                f"labels must lie in [0, {num_classes - 1}], found {labels.min()}..{labels.max()}"
            )
        if count and np.asarray(self.source_index).min() < 0:
            raise DatacentricError("source_index must be non-negative")
        if not (np.all(np.isfinite(self.l2)) and np.all(np.isfinite(self.linf))):
            raise DatacentricError("l2 and linf distances must be finite")
        for name, width in (("kind", KIND_WIDTH), ("corruption", CORRUPTION_WIDTH)):
            value = np.asarray(getattr(self, name)).astype(str)
            if count and max(len(v) for v in value) > width:
                raise DatacentricError(f"{name} values are limited to {width} ASCII characters")
        if self.soft_labels is not None:
            soft = np.asarray(self.soft_labels)
            if soft.shape != (count, num_classes):
                raise DatacentricError(f"soft_labels must have shape ({count}, {num_classes}), got {soft.shape}")
            if not np.all(np.isfinite(soft)) or (count and soft.min() < 0):
                raise DatacentricError("soft_labels must be finite and non-negative")
            if count and soft.sum(axis=1).min() <= 0:
                raise DatacentricError("every soft_labels row needs a positive sum")
        mix = np.asarray(self.mix_lambda)
        if count and not (np.all(np.isfinite(mix)) and mix.min() >= 0 and mix.max() <= 1):
            raise DatacentricError("mix_lambda must lie in [0, 1]")
        target = np.asarray(self.target_class)
        if count and (target.min() < -1 or target.max() >= num_classes):
            raise DatacentricError(f"target_class must be -1 or lie in [0, {num_classes - 1}]")


def distances(source: np.ndarray, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample L2 and Linf distance between two uint8 batches, in [0, 1] pixel units."""
    delta = (images.astype(np.float32) - source.astype(np.float32)).reshape(len(images), -1) / 255.0
    return np.linalg.norm(delta, axis=1).astype(np.float32), np.abs(delta).max(axis=1, initial=0).astype(np.float32)
