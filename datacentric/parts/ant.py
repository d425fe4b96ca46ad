"""`adversarial_noise`: ANT's learned noise (paper 003), trained against the frozen surrogate ensemble, sampled once per image.

The paper's generator takes N(0, 1) noise (not the image), runs four convolutions 3→20→20→20→3 with
ReLUs and a residual connection (the 3×3 variant makes the second one 3×3: locally correlated
noise), starts near Gaussian noise (weights N(0, 0.01)), and its output is rescaled so that
‖clip(x + δ) − x‖₂ = ε exactly. Here it is trained once with Adam to maximise the surrogates'
cross-entropy (the paper trains it jointly with the classifier: that is the training method `ant`),
then each image gets one draw; the trained generator is saved beside the part.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datacentric.attacks.transfer import ROUNDING
from datacentric.core.randomness import Stream, sample_rng
from datacentric.data.samples import Samples, distances
from datacentric.data.tensors import to_float, to_uint8
from datacentric.parts.attack import attack_summary
from datacentric.parts.registry import PartGenerator, check_common, invariant_error, register

PAPER_EPS = {"1x1": 135.0, "3x3": 70.0}  # ImageNet, 3×224×224 values in [0, 1]
PAPER_VALUES = 3 * 224 * 224
GENERATOR_FILE = "noise_generator.pt"


@dataclass(frozen=True)
class NoiseGeneratorSettings:
    """What ANT's part and training forms share: the generator's shape, its noise size and its optimiser."""

    variant: str = "1x1"  # "1x1" or "3x3" (the second convolution's kernel)
    eps: float | None = None  # L2 size of δ over C·H·W values in [0, 1]; None: the paper's ε scaled by √(values)
    lr: float = 1e-4  # the generator's Adam learning rate (paper)
    width: int = 20  # hidden channels (paper)

    def __post_init__(self):
        if self.variant not in PAPER_EPS:
            raise ValueError(f"variant must be one of {sorted(PAPER_EPS)}, got '{self.variant}'")
        if self.eps is not None and not (math.isfinite(self.eps) and self.eps >= 0):
            raise ValueError(f"eps must be finite and non-negative, got {self.eps}")
        if not self.lr > 0 or self.width < 1:
            raise ValueError("lr > 0 and width ≥ 1 are required")

    def resolved_eps(self, values: int) -> float:
        return self.eps if self.eps is not None else paper_eps(self.variant, values)

    def generator(self, channels: int, draws: torch.Generator | None = None) -> NoiseGenerator:
        return NoiseGenerator(channels, self.width, self.variant, draws)


@dataclass(frozen=True)
class AdversarialNoiseSettings(NoiseGeneratorSettings):
    iterations: int = 1000  # generator training steps (the public code: up to 1,000 per generator)
    train_batch_size: int = 64  # images per generator training step (changes the trained generator)

    def __post_init__(self):
        super().__post_init__()
        if self.iterations < 0 or self.train_batch_size < 1:
            raise ValueError("iterations ≥ 0 and train_batch_size ≥ 1 are required")


def paper_eps(variant: str, values: int) -> float:
    """ε for images of `values` = C·H·W numbers: the paper's ImageNet ε scaled by √(values ratio)
    (the paper gives no CIFAR value; ε = 135 matches Gaussian noise of σ 0.5 at 224 px)."""
    return PAPER_EPS[variant] * math.sqrt(values / PAPER_VALUES)


class NoiseGenerator(nn.Module):
    """N(0, 1) noise N×C×H×W → noise of the same shape (paper 003, section 3)."""

    def __init__(self, channels: int = 3, width: int = 20, variant: str = "1x1", generator: torch.Generator | None = None):
        super().__init__()
        middle = 3 if variant == "3x3" else 1
        self.convs = nn.ModuleList([nn.Conv2d(channels, width, 1), nn.Conv2d(width, width, middle, padding=middle // 2),
                                    nn.Conv2d(width, width, 1), nn.Conv2d(width, channels, 1)])
        for conv in self.convs:
            nn.init.normal_(conv.weight, 0.0, 0.01, generator=generator)
            nn.init.zeros_(conv.bias)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        hidden = noise
        for conv in self.convs[:-1]:
            hidden = F.relu(conv(hidden))
        return self.convs[-1](hidden) + noise  # residual: starts as the input noise


def project(images: torch.Tensor, direction: torch.Tensor, eps: float, steps: int = 40) -> torch.Tensor:
    """clip(x + s·d) − x with s per sample such that its L2 norm is ε (bisection: the norm grows with s);
    where clipping caps the norm below ε, the largest reachable perturbation."""
    unit = direction / direction.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
    low = torch.zeros(len(images), dtype=images.dtype, device=images.device)
    high = torch.full_like(low, eps * 64 + 1)
    with torch.no_grad():
        for _ in range(steps):
            middle = (low + high) / 2
            norm = ((images + middle.view(-1, 1, 1, 1) * unit).clamp(0, 1) - images).flatten(1).norm(dim=1)
            low, high = torch.where(norm < eps, middle, low), torch.where(norm < eps, high, middle)
    return (images + high.view(-1, 1, 1, 1) * unit).clamp(0, 1) - images


@register("adversarial_noise", AdversarialNoiseSettings)
class AdversarialNoise(PartGenerator):
    """Noise from a generator trained to fool the frozen surrogates, on an L2 ε-sphere (ANT, paper 003)."""

    needs_surrogates = True
    kind = "adversarial_noise"
    paper = "003"

    def setup(self, source: Samples) -> None:
        """Train the noise generator once (or load the one saved beside the part with the same identity)."""
        values = int(np.prod(source.image_shape))
        self.eps = self.settings.resolved_eps(values)
        identity = {"settings": dataclasses.asdict(self.settings), "eps": self.eps, "seed": self.context.seed,
                    "surrogates": self.context.surrogate_identity(), "count": len(source)}
        path = self.context.workdir / GENERATOR_FILE
        self.generator = self.settings.generator(source.image_shape[2])
        if path.is_file():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved.get("identity") == identity:
                self.generator.load_state_dict(saved["state_dict"])
                self.history = saved["history"]
                return
        self.history = self.train(source)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        torch.save({"identity": identity, "state_dict": self.generator.state_dict(), "history": self.history}, tmp)
        os.replace(tmp, path)

    def train(self, source: Samples) -> dict:
        """Adam on the generator to maximise the ensemble's cross-entropy on clip(x + δ)."""
        device, ensemble = self.context.device, self.context.ensemble
        draws = torch.Generator().manual_seed(self.context.seed * 1_000_003 + Stream.ANT)
        self.generator = self.settings.generator(source.image_shape[2], draws)
        self.generator.to(device).train()
        optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.settings.lr)
        losses = []
        for _ in range(self.settings.iterations):
            pick = torch.randint(len(source), (min(self.settings.train_batch_size, len(source)),), generator=draws)
            batch = source.select(pick.numpy())  # a random batch, read from the part's store
            x = to_float(torch.from_numpy(batch.images).to(device))
            noise = torch.randn(x.shape, generator=draws).to(device)
            delta = project(x, self.generator(noise), self.eps)
            loss = F.cross_entropy(ensemble((x + delta).contiguous(memory_format=torch.channels_last)),
                                   torch.from_numpy(np.asarray(batch.labels, np.int64)).to(device))
            optimizer.zero_grad(set_to_none=True)
            (-loss).backward()
            optimizer.step()
            losses.append(loss.item())
        self.generator.cpu().eval()
        tail = max(1, len(losses) // 10)
        return {"eps": self.eps, "iterations": self.settings.iterations,
                "loss_first": float(np.mean(losses[:tail])) if losses else None,
                "loss_last": float(np.mean(losses[-tail:])) if losses else None}

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        part = inputs.select(positions)
        # float64 on the CPU: a sample's bytes must not depend on the batch it is computed in
        generator = self.generator.double().cpu()
        noise = np.stack([sample_rng(self.context.seed, i, Stream.ANT).standard_normal(part.images.shape[1:])
                          for i in part.source_index]).transpose(0, 3, 1, 2)
        x = torch.from_numpy(part.images).permute(0, 3, 1, 2).double() / 255
        with torch.no_grad():
            delta = project(x, generator(torch.from_numpy(noise)), self.eps)
        images = to_uint8(x + delta)
        l2, linf = distances(part.images, images)
        return dataclasses.replace(part, images=images, kind=np.full(len(part), self.kind), l2=l2, linf=linf,
                                   budget=np.full(len(part), self.eps, np.float32))

    def check(self, source: Samples, out: Samples) -> None:
        check_common(source, out, self.name)
        over = out.l2 > self.eps + ROUNDING * math.sqrt(source.images[0].size) + 1e-5
        if over.any():
            raise invariant_error(self.name, "L2 over ε", out.source_index[over])

    def summary(self, out, source: Samples) -> dict:
        return {**attack_summary(self.context, out, source), "generator_training": self.history}
