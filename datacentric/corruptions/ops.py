"""Shared machinery of corruption functions: parameter draws and the uint8 ↔ float conversion."""

from __future__ import annotations

import functools
import inspect
from typing import Callable

import cv2
import numpy as np

# A 32×32 image gains nothing from OpenCV's thread pool, and a pool started before the corrupt
# stage forks its workers deadlocks them: keep OpenCV single-threaded in every process.
cv2.setNumThreads(1)

Apply = Callable[[np.ndarray, np.random.Generator], np.ndarray]  # (uint8 H×W×C, rng) → uint8 H×W×C


def draw(value, rng: np.random.Generator):
    """A parameter's value for one sample: scalars as given, [lo, hi] drawn uniformly (integers if both are)."""
    if isinstance(value, (list, tuple)) and len(value) == 2:
        low, high = value
        if isinstance(low, int) and isinstance(high, int):
            return int(rng.integers(low, high + 1))
        return float(rng.uniform(low, high))
    return value


def to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] floats → uint8, rounded (never truncated)."""
    return np.clip(np.rint(image * 255.0), 0, 255).astype(np.uint8)


def float_op(fn: Callable[..., np.ndarray]) -> Callable[..., Apply]:
    """Make a corruption factory from `fn(image in [0, 1] float32 H×W×3, rng, **params)`.

    The factory takes the suite's params (scalars or [lo, hi] ranges, drawn per sample) and
    returns `apply(uint8 image, rng)`.
    """

    keyword = {name: p for name, p in inspect.signature(fn).parameters.items() if p.kind is p.KEYWORD_ONLY}
    required = {name for name, p in keyword.items() if p.default is p.empty}

    @functools.wraps(fn)
    def factory(**params) -> Apply:
        if not required <= set(params) <= set(keyword):
            raise TypeError(f"expected params {sorted(required)} (optional: {sorted(set(keyword) - required)}), "
                            f"got {sorted(params)}")

        def apply(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
            drawn = {name: draw(value, rng) for name, value in params.items()}
            return to_uint8(fn(image.astype(np.float32) / 255.0, rng, **drawn))

        return apply

    return factory


def on_rgb(apply: Apply) -> Apply:
    """Let an RGB corruption take grey images: replicate to 3 channels, then average back."""

    def wrapped(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if image.shape[2] == 3:
            return apply(image, rng)
        out = apply(np.repeat(image, 3, axis=2), rng)
        return np.rint(out.mean(axis=2, keepdims=True)).astype(np.uint8)

    return wrapped
