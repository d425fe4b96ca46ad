"""`mixup`: pairs inside the part's input, λ ~ Beta(α, α), image and label interpolated (papers 000, 002).

On clean input it is mixup; with another part's output as input (an adversarial part) it is IAT's
interpolated adversarial examples, made offline. Partners come from one seeded permutation of the
whole input and λ from each sample's own seed, so shards, workers and batches do not change a byte.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from datacentric.core.randomness import Stream, sample_rng
from datacentric.data.samples import Samples, distances
from datacentric.parts.registry import PartGenerator, register


@dataclass(frozen=True)
class MixupSettings:
    alpha: float = 1.0  # λ ~ Beta(α, α): 1.0 in IAT (paper 002), 0.4 in M-TLAT (paper 000)

    def __post_init__(self):
        if not self.alpha > 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")


def interpolate(first, second, lam):
    """Mixup's kernel (numpy arrays or torch tensors; images or label rows): λ·a + (1 − λ)·b. Its training
    forms are the mixups of `iat` and `mtlat`."""
    return lam * first + (1 - lam) * second


def partners(seed: int, count: int) -> np.ndarray:
    """Each input position's partner: one permutation of the whole input, the same for every shard."""
    return np.random.default_rng([seed, Stream.MIXUP, count]).permutation(count)


@register("mixup", MixupSettings)
class Mixup(PartGenerator):
    """λ·x_i + (1 − λ)·x_j with labels mixed alike, partners within the part's input (mixup; on adversarial input, IAT)."""

    kind = "mixup"
    process_parallel = True
    forkable = True
    paper = "000, 002"

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        part = inputs.select(positions)
        other = inputs.select(partners(self.context.seed, len(inputs))[positions])
        lam = np.array([sample_rng(self.context.seed, i, Stream.MIXUP).beta(self.settings.alpha, self.settings.alpha)
                        for i in part.source_index], np.float32)
        images = np.round(interpolate(part.images.astype(np.float32), other.images.astype(np.float32),
                                      lam[:, None, None, None]))
        images = images.clip(0, 255).astype(np.uint8)
        classes = self.context.num_classes
        own, theirs = (s.with_soft_labels(classes).soft_labels for s in (part, other))
        soft = interpolate(own / own.sum(1, keepdims=True), theirs / theirs.sum(1, keepdims=True), lam[:, None])
        soft = soft.astype(np.float32)
        l2, linf = distances(part.images, images)
        return dataclasses.replace(part, images=images, labels=soft.argmax(1).astype(np.int64), soft_labels=soft,
                                   kind=np.full(len(part), self.kind), l2=l2, linf=linf,
                                   partner_index=other.source_index.astype(np.int64), mix_lambda=lam)

