"""`augmix`: AugMix online (Hendrycks et al., ICLR 2020): two fresh AugMix views of every image at every step and
the Jensen–Shannon consistency loss, with the `augmix` part's kernel and settings. `MixtureTraining` is the loop
any such mixture runs in (the `prime` method is the same loop with PRIME's kernel)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from datacentric.parts.augmix import AugMix, AugMixSettings, augmix_image
from datacentric.training.methods.base import StepResult, TrainingMethod, hard_labels, register


@dataclass(frozen=True)
class AugMixTrainingSettings(AugMixSettings):
    """The `augmix` part's mixture, and the weight of the consistency loss."""

    consistency: float = 12.0  # λ of the Jensen–Shannon term (the paper's); 0: the views' cross-entropy instead

    def __post_init__(self):
        super().__post_init__()
        if not self.consistency >= 0:
            raise ValueError(f"consistency must be ≥ 0, got {self.consistency}")


def jensen_shannon(logits: list[torch.Tensor]) -> torch.Tensor:
    """JS divergence between the softmax outputs of several views of the same images (batch mean)."""
    probabilities = [F.softmax(z.float(), dim=1) for z in logits]
    mixture = torch.clamp(sum(probabilities) / len(probabilities), 1e-7, 1).log()
    return sum(F.kl_div(mixture, p, reduction="batchmean") for p in probabilities) / len(probabilities)


def mixed_views(images: torch.Tensor, rng: np.random.Generator, kernel, settings) -> torch.Tensor:
    """One view of each image of a float N×C×H×W batch in [0, 1], made on the CPU with a part's kernel
    (`augmix_image`, `prime_image`: uint8 image, rng, settings → float image in [0, 1], weight kept)."""
    pixels = (images.detach() * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    views = np.stack([kernel(image, rng, settings)[0] for image in pixels])
    return torch.from_numpy(views).permute(0, 3, 1, 2).to(images.device, images.dtype)


class MixtureTraining(TrainingMethod):
    """The clean batch and two fresh mixture views of it, cross-entropy on the clean images plus λ·Jensen–Shannon
    consistency over the three (AugMix's loss, which PRIME keeps); `kernel` makes one view of one image."""

    kernel = None

    def step(self, model, images, targets, random):
        first = mixed_views(images, random.numpy, type(self).kernel, self.settings)
        second = mixed_views(images, random.numpy, type(self).kernel, self.settings)
        logits = model(torch.cat([images, first, second]))
        clean, view1, view2 = logits.chunk(3)
        if self.settings.consistency:
            loss = self.loss(clean, targets) + self.settings.consistency * jensen_shannon([clean, view1, view2])
        else:
            loss = (self.loss(clean, targets) + self.loss(view1, targets) + self.loss(view2, targets)) / 3
        return StepResult(loss, clean, hard_labels(targets), 3 * len(images), 3 * len(images))


@register("augmix", AugMixTrainingSettings)
class AugMixTraining(MixtureTraining):
    """AugMix (Hendrycks et al., ICLR 2020): the clean batch and two AugMix views, cross-entropy on the clean
    images plus λ·Jensen–Shannon consistency over the three."""

    paper = "AugMix"
    kernel = staticmethod(augmix_image)
    # with the paper's operations (a class attribute: a narrower `operations` still reports these as seen)
    seen_corruptions = frozenset(AugMix.seen_corruptions(AugMixSettings()))
