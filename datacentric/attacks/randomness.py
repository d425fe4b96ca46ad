"""Counter-based per-sample randomness: uniform numbers as a pure function of (sample key, step, stream).

Every random draw of the attack (DI sizes and offsets, random starts, random targets) is computed
by hashing, so a sample's draws do not depend on which batch, shard or worker it lands in.
"""

from __future__ import annotations

import torch

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
