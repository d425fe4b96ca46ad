"""The attack stage's pure core: uint8 images in, uint8 adversarial images out, invariants checked.

`attack_images` combines the L∞ and L2 perturbations as the config says (sum, linf, l2, split),
rounds to the uint8 grid, and refuses to return a batch that breaks an invariant: every
perturbation finite, non-zero, within its budget, and no constant image. These checks make the
published code's failure (all-black or unperturbed images after the first batch) impossible to ship.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from datacentric.attacks.engine import L2, LINF, AttackConfig, choose_targets, num_classes, perturb, quantize, row_keys
from datacentric.core.errors import DatacentricError
from datacentric.data.tensors import to_float, to_uint8
from datacentric.models.predict import eval_mode

ROUNDING = 0.5 / 255  # the most rounding to the uint8 grid moves one value


@dataclass
class AttackOutput:
    images: np.ndarray  # uint8 N×H×W×C
    l2: np.ndarray  # float32 (N,): distance of the stored image from the source
    linf: np.ndarray  # float32 (N,)
    norm: np.ndarray  # str (N,): linf, l2 or linf+l2
    component_l2: np.ndarray = field(default_factory=lambda: np.zeros(0))  # ‖δ‖₂ of the L2 part (NaN if none)
    component_linf: np.ndarray = field(default_factory=lambda: np.zeros(0))  # ‖δ‖∞ of the L∞ part (NaN if none)
    target: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # target class (-1: untargeted)


def split_norms(positions: np.ndarray) -> np.ndarray:
    """`split` mode: alternate norms by position in the part, so exactly half (±1) get each."""
    return np.where(positions % 2 == 0, LINF, L2)


def attack_images(model: nn.Module, images: np.ndarray, labels: np.ndarray, source_index: np.ndarray, *,
                  seed: int, config: AttackConfig, device: torch.device, positions: np.ndarray | None = None,
                  on_batch: Callable[[int], None] | None = None, require_perturbed: bool = True) -> AttackOutput:
    """Attack uint8 N×H×W×C `images` (the model in eval mode); each sample's result depends only on (seed, its
    source index, config, model weights), not on the batch it shares. `require_perturbed=False` lets evaluation
    attacks leave a sample unchanged where the loss has no gradient (a saturated softmax)."""
    outputs = []
    positions = np.arange(len(images)) if positions is None else positions
    with eval_mode(model):
        for start in range(0, len(images), config.batch_size):
            part = slice(start, start + config.batch_size)
            outputs.append(_attack_batch(model, images[part], labels[part], source_index[part], positions[part],
                                         seed, config, device, require_perturbed))
            if on_batch is not None:
                rows = 2 * len(images[part]) if config.combine == "sum" else len(images[part])
                on_batch(rows * config.iterations)
    return AttackOutput(*(np.concatenate([getattr(o, name) for o in outputs])
                          for name in ("images", "l2", "linf", "norm", "component_l2", "component_linf", "target")))


def _attack_batch(model, images, labels, source_index, positions, seed, config, device, require_perturbed
                  ) -> AttackOutput:
    x = to_float(torch.from_numpy(images).to(device))
    y = torch.from_numpy(np.asarray(labels, np.int64)).to(device)
    index = torch.from_numpy(np.asarray(source_index, np.int64))
    count = len(x)
    nan = np.full(count, np.nan, np.float32)
    if config.combine == "sum":
        rows = torch.cat([x, x])
        keys = torch.cat([row_keys(seed, index, LINF), row_keys(seed, index, L2)])
        norms = torch.tensor([LINF] * count + [L2] * count)
        targets = choose_targets(model, rows, torch.cat([y, y]), keys, config, num_classes(model, x))
        delta = perturb(model, rows, torch.cat([y, y]), keys, norms, config, targets=targets)
        linf_part, l2_part = delta[:count], delta[count:]
        final = quantize(x, linf_part + l2_part)
        component_linf = linf_part.flatten(1).abs().amax(1).cpu().numpy()
        component_l2 = l2_part.flatten(1).norm(dim=1).cpu().numpy()
        norm_names = np.full(count, "linf+l2")
    else:
        if config.combine == "split":
            norms = torch.from_numpy(split_norms(np.asarray(positions)))
        else:
            norms = torch.full((count,), LINF if config.combine == "linf" else L2)
        keys = torch.where(norms == LINF, row_keys(seed, index, LINF), row_keys(seed, index, L2))
        targets = choose_targets(model, x, y, keys, config, num_classes(model, x))
        delta = perturb(model, x, y, keys, norms, config, targets=targets)
        l2_limit = torch.where(norms == LINF, math.inf, config.l2_eps).to(device)
        final = quantize(x, delta, l2_limit=l2_limit)
        linf_rows = (norms == LINF).numpy()
        component_linf = np.where(linf_rows, delta.flatten(1).abs().amax(1).cpu().numpy(), nan)
        component_l2 = np.where(~linf_rows, delta.flatten(1).norm(dim=1).cpu().numpy(), nan)
        norm_names = np.where(linf_rows, "linf", "l2")
    if not torch.isfinite(delta).all():
        bad = source_index[~torch.isfinite(delta.flatten(1)).all(1)[:count].cpu().numpy()]
        raise DatacentricError(f"attack produced non-finite perturbations for samples {bad[:20].tolist()}")
    adversarial = to_uint8(final)
    difference = (final - x).flatten(1)
    target = np.full(count, -1, np.int64) if targets is None else targets[:count].cpu().numpy().astype(np.int64)
    output = AttackOutput(adversarial, difference.norm(dim=1).cpu().numpy().astype(np.float32),
                          difference.abs().amax(1).cpu().numpy().astype(np.float32), norm_names,
                          component_l2.astype(np.float32), component_linf.astype(np.float32), target)
    check_invariants(images, output, source_index, config, require_perturbed)
    return output


def budgets(output: AttackOutput, config: AttackConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample (L∞ bound, L2 bound) that the stored image must respect, rounding included."""
    dims = output.images[0].size
    if config.combine == "sum":
        # each part within its own budget, so the sum is within the sum of the two (triangle inequality)
        return (np.full(len(output.norm), config.linf_eps + config.l2_eps + ROUNDING),
                np.full(len(output.norm), config.linf_eps * math.sqrt(dims) + config.l2_eps + ROUNDING * math.sqrt(dims)))
    linf_rows = output.norm == "linf"
    return (np.where(linf_rows, config.linf_eps + 1e-6, np.inf),
            np.where(linf_rows, np.inf, config.l2_eps + 1e-5))


def check_invariants(source: np.ndarray, output: AttackOutput, source_index: np.ndarray, config: AttackConfig,
                     require_perturbed: bool = True) -> None:
    """Stop with the offending sample ids unless every sample is perturbed, finite and within budget,
    and no image is constant (black)."""
    problems = []
    finite = np.isfinite(output.l2) & np.isfinite(output.linf)
    problems.append(("non-finite", ~finite))
    if require_perturbed:
        problems.append(("unperturbed", output.linf < 0.5 / 255))
    linf_bound, l2_bound = budgets(output, config)
    problems.append(("over budget", (output.linf > linf_bound) | (output.l2 > l2_bound)))
    if config.combine == "sum":
        problems.append(("L∞ part over budget", output.component_linf > config.linf_eps + 1e-6))
        problems.append(("L2 part over budget", output.component_l2 > config.l2_eps + 1e-5))
    flat = output.images.reshape(len(output.images), -1)
    source_flat = source.reshape(len(source), -1)
    constant = (flat.max(1) == flat.min(1)) & (source_flat.max(1) != source_flat.min(1))
    problems.append(("constant (black) image", constant))
    for name, mask in problems:
        if np.any(mask):
            ids = np.asarray(source_index)[mask]
            raise DatacentricError(f"attack invariant broken, {name}: samples {ids[:20].tolist()}"
                                   f"{' …' if len(ids) > 20 else ''} ({len(ids)} in all); nothing was written")


def budget_use(output: AttackOutput, config: AttackConfig) -> dict:
    """How much of each budget the perturbations use on average (1.0 = all of it)."""
    use = {}
    if config.linf_eps and np.isfinite(output.component_linf).any():
        use["linf"] = float(np.nanmean(output.component_linf) / config.linf_eps)
    if config.l2_eps and np.isfinite(output.component_l2).any():
        use["l2"] = float(np.nanmean(output.component_l2) / config.l2_eps)
    return use
