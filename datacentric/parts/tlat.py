"""`tlat`: M-TLAT's targeted-label adversarial examples (paper 000), made offline on the surrogate ensemble.

Each image is pushed toward a random other class y_t with a budget ε drawn per sample from U[0, ε_max]
(one targeted FGSM step by default, as in the paper), and labelled (1 − w)·y + w·y_t with
w = label_weight·ε/ε_max. The paper ties the label weight to the pixel budget (w = ε); at its
ε_max = 0.025 the label then barely moves, so the weight at ε_max is its own setting here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch

from datacentric.attacks.engine import LINF, AttackConfig, choose_targets, perturb, quantize, row_keys
from datacentric.attacks.transfer import ROUNDING
from datacentric.core.randomness import Stream, uniform
from datacentric.data.samples import Samples, distances
from datacentric.data.tensors import to_float, to_uint8
from datacentric.parts.attack import attack_summary
from datacentric.parts.registry import PartGenerator, check_common, invariant_error, register


@dataclass(frozen=True)
class TargetedLabelSettings:
    """What M-TLAT's part and training forms share: the budget range and the label weight."""

    eps_max: float = 0.025  # ε ~ U[0, eps_max] per sample, L∞, [0, 1] pixel units (paper 000)
    label_weight: float | None = None  # target-class weight at ε = eps_max; None: eps_max (paper: weight = ε)

    def __post_init__(self):
        if not 0 <= self.eps_max <= 1:
            raise ValueError(f"eps_max must lie in [0, 1], got {self.eps_max}")
        if self.label_weight is not None and not 0 <= self.label_weight <= 1:
            raise ValueError(f"label_weight must lie in [0, 1], got {self.label_weight}")

    def labels(self, rows, target_rows, eps):
        """M-TLAT's label kernel (numpy arrays or torch tensors): (1 − w)·y + w·y_t, w = label_weight·ε/ε_max,
        with ε the budget each row drew (broadcast against the rows). Its training form is `mtlat`."""
        weight = (self.eps_max if self.label_weight is None else self.label_weight) * eps / max(self.eps_max, 1e-12)
        return (1 - weight) * rows + weight * target_rows


@dataclass(frozen=True)
class TlatSettings(TargetedLabelSettings):
    iterations: int = 1  # 1: targeted FGSM (paper); more: iterative, step 2.5·ε/iterations
    loss: str = "ce"  # ce (paper) | logit | cw
    momentum: float = 0.0  # MI momentum for iterations > 1
    ti_size: int = 0  # TI kernel side (0: none)
    di_probability: float = 0.0  # DI probability (0: none)
    batch_size: int = 64  # images per batch (does not change the result)

    def __post_init__(self):
        super().__post_init__()
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError("iterations and batch_size must be at least 1")

    def attack_config(self) -> AttackConfig:
        step = self.eps_max if self.iterations == 1 else 2.5 * self.eps_max / self.iterations
        return AttackConfig(iterations=self.iterations, combine="linf", linf_eps=self.eps_max, linf_step=step,
                            loss=self.loss, target="random", momentum=self.momentum, ti_size=self.ti_size,
                            di_probability=self.di_probability, batch_size=self.batch_size)


@register("tlat", TlatSettings)
class Tlat(PartGenerator):
    """Targeted adversarial examples toward a random other class, ε ~ U[0, ε_max], label mass moved to the target (paper 000)."""

    needs_surrogates = True
    kind = "tlat"
    paper = "000"

    def generate(self, inputs: Samples, positions: np.ndarray) -> Samples:
        part = inputs.select(positions)
        config, device = self.settings.attack_config(), self.context.device
        model = self.context.ensemble
        keys = row_keys(self.context.seed, torch.from_numpy(np.asarray(part.source_index)), LINF)
        eps = (uniform(keys, 0, Stream.BUDGET) * self.settings.eps_max).float()
        classes = self.context.num_classes
        images, targets = [], []
        for start in range(0, len(part), config.batch_size):
            rows = slice(start, start + config.batch_size)
            x = to_float(torch.from_numpy(part.images[rows]).to(device))
            y = torch.from_numpy(np.asarray(part.labels[rows], np.int64)).to(device)
            target = choose_targets(model, x, y, keys[rows], config, classes)
            delta = perturb(model, x, y, keys[rows], torch.full((len(x),), LINF), config, targets=target,
                            row_linf_eps=eps[rows])
            adversarial = quantize(x, delta)
            images.append(to_uint8(adversarial))
            targets.append(target.cpu().numpy())
        images, targets, eps = np.concatenate(images), np.concatenate(targets).astype(np.int64), eps.numpy()
        own = part.with_soft_labels(classes).soft_labels
        own = own / own.sum(1, keepdims=True)
        soft = self.settings.labels(own, np.eye(classes, dtype=np.float32)[targets], eps[:, None]).astype(np.float32)
        l2, linf = distances(part.images, images)
        return dataclasses.replace(part, images=images, labels=soft.argmax(1).astype(np.int64), soft_labels=soft,
                                   kind=np.full(len(part), self.kind), l2=l2, linf=linf, target_class=targets,
                                   budget=eps.astype(np.float32))

    def check(self, source: Samples, out: Samples) -> None:
        check_common(source, out, self.name)
        over = out.linf > out.budget + ROUNDING + 1e-6
        if over.any():
            raise invariant_error(self.name, "over its drawn budget", out.source_index[over])

    def summary(self, out, source: Samples) -> dict:
        return attack_summary(self.context, out, source)

