"""The ratio split: training-set positions → named parts (clean : adversarial : corrupted by default)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from datacentric.core.errors import DatacentricError

DEFAULT_PARTS = ("clean", "adversarial", "corrupted")
# The reserve (training images for the independent attacker) is drawn with this fixed seed, never the
# pipeline's: every seed's subset then avoids the same images, and one attacker serves all seeds.
RESERVE_SEED = 20_261_124


@dataclass(frozen=True)
class SplitSettings:
    """A pipeline's [split] table; `datacentric split` takes its defaults from here too."""
    ratio: str = "1:2:2"  # clean : adversarial : corrupted, shorthand for the three classic parts ([[parts]] replaces it)
    limit: int | None = None  # training images used (None: all)
    stratify: bool = True

    def __post_init__(self):
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")


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


def reserved_positions(labels: np.ndarray, count: int) -> np.ndarray:
    """The `count` positions (sorted, class-balanced) held out of every subset for the independent attacker."""
    if not 0 <= count < len(labels):
        raise DatacentricError(f"reserve must lie in 0..{len(labels) - 1}, got {count}")
    return np.sort(stratified_order(np.asarray(labels), np.random.default_rng(RESERVE_SEED))[:count])


def split_indices(
    labels: np.ndarray,
    ratio: list[float],
    *,
    seed: int,
    stratify: bool = False,
    limit: int | None = None,
    parts: tuple[str, ...] = DEFAULT_PARTS,
    reserve: int = 0,
) -> dict[str, np.ndarray]:
    """Positions of each part, sorted; the same arguments always give the same split.

    `reserve` positions (`reserved_positions`) are left out first; `limit` then keeps a random subset
    of that many of the rest (class-balanced with `stratify`); the parts are consecutive slices of one
    random order, sized by largest remainder.
    """
    if len(parts) != len(ratio):
        raise DatacentricError(f"{len(parts)} part names for a ratio of {len(ratio)} parts")
    if len(set(parts)) != len(parts):
        raise DatacentricError(f"part names must differ: {parts}")
    labels = np.asarray(labels)
    available = np.setdiff1d(np.arange(len(labels)), reserved_positions(labels, reserve)) if reserve \
        else np.arange(len(labels))
    total = len(available)
    if limit is not None and not 0 < limit <= total:
        raise DatacentricError(f"--limit must lie in 1..{total}" + (f" (after a reserve of {reserve})" if reserve
                                                                   else "") + f", got {limit}")
    rng = np.random.default_rng(seed)
    order = stratified_order(labels[available], rng) if stratify else rng.permutation(total)
    order = available[order[: limit or total]]
    counts = largest_remainder(len(order), ratio)
    bounds = np.cumsum([0] + counts)
    return {name: np.sort(order[bounds[i] : bounds[i + 1]]) for i, name in enumerate(parts)}
