"""The released CIFAR-10-C arrays (Hendrycks & Dietterich, ICLR 2019), read as RobustBench reads them.

The folder holds `<corruption>.npy` (50,000 × 32 × 32 × 3 uint8: the 10,000 test images at severity 1, then
2, … 5) for the 15 corruptions below, and `labels.npy`. The benchmark takes the same `count` test images
(a class-stratified choice) at every corruption and severity; accuracy is the plain mean over the 15 × 5
cells (RobustBench's CIFAR-10-C number), and mCE divides each corruption's summed error by the reference
model's (paper 003, eq. 1), as for P_cor.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from datacentric.core.errors import DatacentricError
from datacentric.core.io import json_digest
from datacentric.data.samples import CORRUPTION_WIDTH, KIND_WIDTH, Samples, distances
from datacentric.data.split import stratified_order

CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
               "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
               "jpeg_compression")
SEVERITIES = 5


def _open(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise DatacentricError(f"CIFAR-10-C: cannot read {path}: {str(error).splitlines()[0]}") from None


def check_folder(folder: Path) -> int:
    """Images per severity, or one error line naming what is missing or misshapen."""
    if not folder.is_dir():
        raise DatacentricError(f"CIFAR-10-C folder {folder} does not exist")
    missing = [name for name in (*CORRUPTIONS, "labels") if not (folder / f"{name}.npy").is_file()]
    if missing:
        raise DatacentricError(f"CIFAR-10-C folder {folder} lacks {', '.join(f'{m}.npy' for m in missing)}")
    labels = _open(folder / "labels.npy")
    if labels.ndim != 1 or len(labels) % SEVERITIES:
        raise DatacentricError(f"{folder / 'labels.npy'}: expected 5 × N labels, got shape {labels.shape}")
    for name in CORRUPTIONS:
        images = _open(folder / f"{name}.npy")
        if images.dtype != np.uint8 or images.ndim != 4 or len(images) != len(labels) or images.shape[3] != 3:
            raise DatacentricError(f"{folder / name}.npy: expected {len(labels)} × H × W × 3 uint8, got "
                                   f"{images.shape} {images.dtype}")
    return len(labels) // SEVERITIES


def read(folder: Path, count: int, test: Samples, *, seed: int) -> Samples:
    """`count` test images (the same ones at every cell) × 15 corruptions × 5 severities, as corrupted samples.
    The arrays hold the test set in order, so position i is the prepared test split's `source_index` i: its
    label must agree (arrays of another dataset are refused) and distances are measured from it."""
    per_severity = check_folder(folder)
    if count > per_severity:
        raise DatacentricError(f"cifar10c_count is {count}, the arrays in {folder} hold {per_severity} images per "
                               "severity")
    labels = np.asarray(_open(folder / "labels.npy"), np.int64)
    chosen = np.sort(stratified_order(labels[:per_severity], np.random.default_rng(seed))[:count])
    position = {int(index): row for row, index in enumerate(test.source_index)}
    clean_rows = np.array([position.get(int(i), -1) for i in chosen])
    if (clean_rows < 0).any() or not np.array_equal(test.labels[clean_rows], labels[chosen]):
        raise DatacentricError(f"the labels in {folder / 'labels.npy'} do not match the test split's at the same "
                               "positions: these arrays are not this dataset's test set")
    rows = np.concatenate([chosen + s * per_severity for s in range(SEVERITIES)])
    images = np.concatenate([np.asarray(_open(folder / f"{name}.npy")[rows]) for name in CORRUPTIONS])
    if images.shape[1:] != test.images.shape[1:]:
        raise DatacentricError(f"CIFAR-10-C images are {images.shape[1:]}, the test split's {test.images.shape[1:]}")
    total = len(images)
    names = np.repeat(np.array(CORRUPTIONS, dtype=f"<U{CORRUPTION_WIDTH}"), len(rows))
    severity = np.tile(np.repeat(np.arange(1, SEVERITIES + 1, dtype=np.int8), count), len(CORRUPTIONS))
    clean = np.tile(np.tile(clean_rows, SEVERITIES), len(CORRUPTIONS))
    l2, linf = distances(test.images[clean], images)
    return Samples(images, np.tile(labels[rows], len(CORRUPTIONS)), np.tile(np.tile(chosen, SEVERITIES), len(CORRUPTIONS)),
                   np.full(total, "corrupted", dtype=f"<U{KIND_WIDTH}"), names, severity, l2, linf)


def digest(samples: Samples) -> str:
    """The content of what was read (a changed array file makes the set again)."""
    return json_digest([hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()
                        for a in (samples.images, samples.labels)])
