"""What every data source gives `prepare`: labels up front, images read lazily by position, one shard at a time.

A source never holds a whole dataset in memory unless its file format does (.npz): an ImageFolder tree
keeps file paths, a `.npy` pair a memory map, a Hugging Face dataset its Arrow files. `prepare` reads
shard-sized position lists, so peak memory follows the shard size, not the dataset (docs/FORMAT.md).
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, Union

import numpy as np
from PIL import Image, UnidentifiedImageError

from datacentric.core.errors import DatacentricError

RESIZE_METHOD = "shorter side to S (PIL bicubic, antialiased), centre crop S×S"  # recorded in the store config
DEFAULT_TEST_FRACTION = 0.2  # held out for testing when a source has no test split of its own
DECODE_THREADS = 4  # PIL decodes with the GIL released


class SourceSplit:
    """One split of a source: `labels` (int64, one per image) and `read(positions)` → list of H×W×C uint8."""

    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def read(self, positions: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def shapes(self) -> set[tuple[int, int, int]] | None:
        """Every image's (H, W, C) when cheap to know before decoding (headers, array shape), else None."""
        return None


class ArraySplit(SourceSplit):
    """Images in an N×H×W×C uint8 array or memory map."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images, self.labels = images, labels

    def read(self, positions: np.ndarray) -> list[np.ndarray]:
        return list(np.asarray(self.images[np.asarray(positions)]))

    def shapes(self) -> set[tuple[int, int, int]]:
        return {tuple(int(n) for n in self.images.shape[1:])}


Encoded = Union[bytes, Path]  # an encoded image's bytes, or the file holding them (read only as far as needed)


def _open(data: Encoded) -> Image.Image:
    return Image.open(data if isinstance(data, Path) else io.BytesIO(data))


def decode(data: Encoded, where: str) -> np.ndarray:
    """Encoded bytes → H×W×1 (greyscale) or H×W×3 uint8; other modes (CMYK, palette, RGBA) become RGB."""
    try:
        with _open(data) as image:
            array = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
    except (UnidentifiedImageError, OSError, ValueError):
        raise DatacentricError(f"{where} is not a readable image") from None
    return array[..., None] if array.ndim == 2 else array


def header_shape(data: Encoded, where: str) -> tuple[int, int, int]:
    """(H, W, C) from an encoded image's header, without decoding its pixels."""
    try:
        with _open(data) as image:
            return image.size[1], image.size[0], 1 if image.mode == "L" else 3
    except (UnidentifiedImageError, OSError, ValueError):
        raise DatacentricError(f"{where} is not a readable image") from None


class EncodedSplit(SourceSplit):
    """Encoded images (PNG, JPEG, ...) fetched by `fetch(position)` (bytes or a file) and decoded on threads."""

    def __init__(self, fetch: Callable[[int], Encoded], names: Sequence[str], labels: np.ndarray):
        self.fetch, self.names, self.labels = fetch, names, labels

    def read(self, positions: np.ndarray) -> list[np.ndarray]:
        with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
            return list(pool.map(lambda i: decode(self.fetch(int(i)), self.names[int(i)]), positions))

    def shapes(self) -> set[tuple[int, int, int]]:
        with ThreadPoolExecutor(max_workers=DECODE_THREADS) as pool:
            return set(pool.map(lambda i: header_shape(self.fetch(i), self.names[i]), range(len(self.labels))))


class SubsetSplit(SourceSplit):
    """Some positions of another split (a held-out test split of a source that has none)."""

    def __init__(self, base: SourceSplit, positions: np.ndarray):
        self.base, self.positions, self.labels = base, np.asarray(positions), base.labels[positions]

    def read(self, positions: np.ndarray) -> list[np.ndarray]:
        return self.base.read(self.positions[np.asarray(positions)])

    def shapes(self) -> set[tuple[int, int, int]] | None:
        return self.base.shapes()


@dataclass
class SourceData:
    """A labelled dataset, read lazily: both splits, the class names, and where it came from."""

    train: SourceSplit
    test: SourceSplit
    class_names: list[str]
    description: str  # where the data came from, recorded in the store config
    held_out: dict | None = None  # how the test split was drawn, when the source had none

    # whole-split views, for small data and tests
    @property
    def train_images(self) -> np.ndarray:
        return np.stack(self.train.read(np.arange(len(self.train))))

    @property
    def test_images(self) -> np.ndarray:
        return np.stack(self.test.read(np.arange(len(self.test))))

    @property
    def train_labels(self) -> np.ndarray:
        return self.train.labels

    @property
    def test_labels(self) -> np.ndarray:
        return self.test.labels


def held_out_positions(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) positions of a seeded, stratified hold-out: in each class, `fraction` of its images
    (rounded, at least one when the class has two or more) go to the test split, drawn with `seed`."""
    if not 0 < fraction < 1:
        raise DatacentricError(f"the test fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    test = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = min(max(int(round(fraction * len(members))), 1 if len(members) > 1 else 0), len(members) - 1)
        test.append(rng.permutation(members)[:count])
    test = np.sort(np.concatenate(test)) if test else np.zeros(0, np.int64)
    return np.setdiff1d(np.arange(len(labels)), test), test


def hold_out(split: SourceSplit, class_names: list[str], description: str, *, fraction: float, seed: int
             ) -> SourceData:
    """A source with one split: a seeded, stratified test split drawn from it (`held_out_positions`)."""
    train, test = held_out_positions(split.labels, fraction, seed)
    if not len(test):
        raise DatacentricError(f"{description}: too few images per class to hold out a test split")
    return SourceData(SubsetSplit(split, train), SubsetSplit(split, test), class_names, description,
                      held_out={"test_fraction": fraction, "seed": seed, "stratified": True})


def fit(images: list[np.ndarray], size: int | None, channels: int, where: str) -> np.ndarray:
    """Stack images as N×S×S×C: resized (`RESIZE_METHOD`) when `size` is set, with `channels` channels
    (greyscale repeated to RGB where other images are in colour). Without `size`, every image must
    already have the same height and width."""
    out = []
    for image in images:
        if image.shape[2] != channels:
            image = np.repeat(image, channels, axis=2) if image.shape[2] == 1 else image[..., :channels]
        if size is not None and image.shape[:2] != (size, size):
            image = resize_square(image, size)
        out.append(image)
    shapes = {image.shape for image in out}
    if len(shapes) > 1:
        raise DatacentricError(f"images in {where} differ in size ({sorted(shapes)[:3]}): set image_size "
                               "(`prepare --image-size S`) to resize them to S×S")
    return np.stack(out)


def resize_square(image: np.ndarray, size: int) -> np.ndarray:
    """The shorter side scaled to `size` (bicubic, antialiased), then the centre `size`×`size` crop."""
    height, width = image.shape[:2]
    scale = size / min(height, width)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image).resize(new, Image.BICUBIC)
    array = np.asarray(pil)
    array = array[..., None] if array.ndim == 2 else array
    top, left = (array.shape[0] - size) // 2, (array.shape[1] - size) // 2
    return np.ascontiguousarray(array[top : top + size, left : left + size])


def planned_shape(data: SourceData, size: int | None, where: str) -> tuple[int, int, int] | None:
    """The (H, W, C) every prepared image will have, checked before anything is decoded where the source
    tells shapes cheaply: mixed sizes without `size` are refused here, not halfway through."""
    shapes = set()
    for split in (data.train, data.test):
        found = split.shapes()
        if found is None:
            return None
        shapes |= found
    channels = 3 if any(c == 3 for _, _, c in shapes) else 1
    if size is not None:
        return size, size, channels
    sides = {(h, w) for h, w, _ in shapes}
    if len(sides) > 1:
        raise DatacentricError(f"images in {where} differ in size ({sorted(sides)[:3]}): set image_size "
                               "(`prepare --image-size S`) to resize them to S×S")
    (height, width), = sides
    return height, width, channels
