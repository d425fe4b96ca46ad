"""`prime`: PRIME online (Modas et al., ECCV 2022): two fresh PRIME views of every image at every step and the
Jensen–Shannon consistency loss (weight 12, as the authors' training code), with the `prime` part's kernel."""

from __future__ import annotations

from dataclasses import dataclass

from datacentric.parts.prime import Prime, PrimeSettings, prime_image
from datacentric.training.methods.augmix import MixtureTraining
from datacentric.training.methods.base import register


@dataclass(frozen=True)
class PrimeTrainingSettings(PrimeSettings):
    """The `prime` part's primitives and mixture, and the weight of the consistency loss."""

    consistency: float = 12.0  # λ of the Jensen–Shannon term; 0: the views' cross-entropy instead

    def __post_init__(self):
        super().__post_init__()
        if not self.consistency >= 0:
            raise ValueError(f"consistency must be ≥ 0, got {self.consistency}")


@register("prime", PrimeTrainingSettings)
class PrimeTraining(MixtureTraining):
    """PRIME (Modas et al., ECCV 2022): the clean batch and two PRIME views, cross-entropy on the clean images
    plus λ·Jensen–Shannon consistency over the three."""

    paper = "PRIME"
    kernel = staticmethod(prime_image)
    seen_corruptions = frozenset(Prime.seen_corruptions(PrimeSettings()))
