"""The ratio split: training-set positions → named parts (clean : adversarial : corrupted by default)."""

from __future__ import annotations

import math

import numpy as np

from datacentric.errors import DatacentricError

DEFAULT_PARTS = ("clean", "adversarial", "corrupted")


def parse_ratio(text: str, num_parts: int = len(DEFAULT_PARTS)) -> list[float]:
    """'0:1:4' → [0.0, 1.0, 4.0]; exactly `num_parts` non-negative numbers, not all zero."""
    pieces = text.split(":")
    if len(pieces) != num_parts:
        raise DatacentricError(f"ratio '{text}' needs {num_parts} parts separated by ':', got {len(pieces)}")
    try:
        ratio = [float(p) for p in pieces]
    except ValueError:
        raise DatacentricError(f"ratio '{text}' must hold numbers, like 0:1:4") from None
    if any(not math.isfinite(r) or r < 0 for r in ratio):
        raise DatacentricError(f"ratio '{text}' has a negative or non-finite part")
    if sum(ratio) == 0:
        raise DatacentricError(f"ratio '{text}' is all zeros")
    return ratio


def largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Integer counts summing to `total`, proportional to `weights` (Hamilton's method; ties go to earlier parts)."""
    quotas = [total * w / sum(weights) for w in weights]
    counts = [math.floor(q) for q in quotas]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order in which every prefix holds each class in proportion (±1 sample).

    Each class is shuffled on its own; sample j of a class of size n gets the key (j + u)/n with
    u uniform in [0, 1), and sorting by key interleaves the classes evenly.
    """
    keys = np.empty(len(labels))
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        members = members[rng.permutation(len(members))]
        keys[members] = (np.arange(len(members)) + rng.random()) / len(members)
    return np.argsort(keys, kind="stable")


def split_indices(
    labels: np.ndarray,
    ratio: list[float],
    *,
    seed: int,
    stratify: bool = False,
    limit: int | None = None,
    parts: tuple[str, ...] = DEFAULT_PARTS,
) -> dict[str, np.ndarray]:
    """Positions of each part, sorted; the same arguments always give the same split.

    `limit` first keeps a random subset of that many samples (class-balanced with `stratify`);
    the parts are then consecutive slices of one random order, sized by largest remainder.
    """
    if len(parts) != len(ratio):
        raise DatacentricError(f"{len(parts)} part names for a ratio of {len(ratio)} parts")
    if len(set(parts)) != len(parts):
        raise DatacentricError(f"part names must differ: {parts}")
    total = len(labels)
    if limit is not None and not 0 < limit <= total:
        raise DatacentricError(f"--limit must lie in 1..{total}, got {limit}")
    rng = np.random.default_rng(seed)
    order = stratified_order(np.asarray(labels), rng) if stratify else rng.permutation(total)
    order = order[: limit or total]
    counts = largest_remainder(len(order), ratio)
    bounds = np.cumsum([0] + counts)
    return {name: np.sort(order[bounds[i] : bounds[i + 1]]) for i, name in enumerate(parts)}
