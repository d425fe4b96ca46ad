"""Per-sample randomness: a sample's draws are a pure function of (global seed, source index, stream), so
they do not depend on which batch, shard, worker or rank it lands in.

Two forms: `sample_rng`, a numpy generator per sample (corruptions, noise, mixup weights), and counter-based
torch draws by hashing (the attack's DI sizes and offsets, random starts and targets). `Stream` lists every
stream id in one table.
"""

from __future__ import annotations

import numpy as np
import torch


class Stream:
    """The random stream ids: one per purpose, so that two purposes never draw the same numbers for a sample."""

    CORRUPT = 1  # a training corruption's type, severity and parameters
    DI = 10  # the attack's input diversity: coin, size, top and left use DI .. DI + 3
    TARGET = 20  # a random target class
    START = 21  # a random start (21) and its L2 radius (22)
    BUDGET = 30  # TLAT's per-sample budget
    MIXUP = 40  # mixup partners and weights
    NOISE = 50  # Gaussian and speckle noise
    ANT = 60  # ANT's noise generator: its training draws and each sample's input noise
    AUGMIX = 70  # AugMix's chain weights, mixing weight, operations and levels
    PRIME = 80  # PRIME's chain weights, mixing weight, primitives and their strengths


def copy_seed(seed: int, copy: int) -> int:
    """The seed of a part's frozen copy: copy 0 keeps the run's seed (a part with one copy is unchanged), copy
    c > 0 draws a seed of its own from (seed, c), so no copy repeats another's draws or another run's."""
    if copy == 0:
        return seed
    return int(np.random.SeedSequence([seed, copy, 0xC0FE]).generate_state(1)[0] >> 1)  # < 2³¹


def sample_rng(seed: int, source_index: int, stream: int = Stream.CORRUPT) -> np.random.Generator:
    """A numpy generator for one sample and purpose: seeded by (global seed, source index, stream)."""
    return np.random.default_rng([seed, int(source_index), stream])

MASK32 = 0xFFFFFFFF


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit avalanche hash on int64 tensors holding values < 2³² (products stay below 2⁶³)."""
    x = x & MASK32
    x = ((x >> 16) ^ x) * 0x45D9F3B & MASK32
    x = ((x >> 16) ^ x) * 0x45D9F3B & MASK32
    return (x >> 16) ^ x


def sample_keys(seed: int, source_index: torch.Tensor) -> torch.Tensor:
    """One 32-bit key per sample from (global seed, source index)."""
    return _mix(_mix(torch.as_tensor(source_index, dtype=torch.int64)) ^ _mix(torch.tensor(seed & MASK32)))


def uniform(keys: torch.Tensor, step: int, stream: int) -> torch.Tensor:
    """float64 numbers in [0, 1), one per key, for this (step, stream)."""
    counter = _mix(torch.tensor((step * 1_000_003 + stream) & MASK32))
    return _mix(keys ^ counter).double() / 2**32


def randint(keys: torch.Tensor, step: int, stream: int, low: int, high: int) -> torch.Tensor:
    """Integers in [low, high] (inclusive), one per key."""
    return low + (uniform(keys, step, stream) * (high - low + 1)).long().clamp_(max=high - low)


def uniform_field(keys: torch.Tensor, step: int, stream: int, shape: tuple[int, ...]) -> torch.Tensor:
    """float32 uniforms of shape (N, *shape): one per sample and element, independent of the batch."""
    elements = torch.arange(int(torch.tensor(shape).prod()), dtype=torch.int64)
    counter = _mix(torch.tensor((step * 1_000_003 + stream) & MASK32))
    mixed = _mix(_mix(keys[:, None] ^ counter) ^ _mix(elements[None, :] + 0x9E3779B9))
    return (mixed.double() / 2**32).float().view(len(keys), *shape)
