"""The benchmark's attacks in the same engine: FGSM, PGD (L∞/L2, random start), PGD-LL, MI-FGSM, and
CW-L2 with a binary search over c. Each runs white-box on one model or as transfer from an ensemble.

Example:
    >>> adversarial = run_named("pgd_linf", model, images_uint8, labels, source_index, seed=0, device=cpu)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datacentric.attacks.engine import AttackConfig, num_classes
from datacentric.attacks.transfer import attack_images
from datacentric.core.errors import DatacentricError
from datacentric.data.tensors import to_float, to_uint8
from datacentric.models.predict import eval_mode

PLAIN = {"momentum": 0.0, "ti_size": 0, "di_probability": 0.0}  # no MI, TI or DI


def fgsm(linf_eps: float = 8 / 255) -> AttackConfig:
    return AttackConfig(iterations=1, combine="linf", linf_eps=linf_eps, linf_step=linf_eps, loss="ce", **PLAIN)


def pgd(eps: float = 8 / 255, steps: int = 20, norm: str = "linf", step: float | None = None) -> AttackConfig:
    """Madry et al.'s PGD with a random start; step 2.5·eps/steps unless given."""
    step = step if step is not None else 2.5 * eps / steps
    budget = {"linf_eps": eps, "linf_step": step} if norm == "linf" else {"l2_eps": eps, "l2_step": step}
    return AttackConfig(iterations=steps, combine=norm, loss="ce", random_start=True, **budget, **PLAIN)


def pgd_ll(eps: float = 8 / 255, steps: int = 20) -> AttackConfig:
    """PGD toward the least-likely class (Kurakin et al.)."""
    return AttackConfig(iterations=steps, combine="linf", linf_eps=eps, linf_step=2.5 * eps / steps, loss="ce",
                        target="least_likely", random_start=True, **PLAIN)


def mi_fgsm(eps: float = 8 / 255, steps: int = 10) -> AttackConfig:
    """Dong et al.'s momentum iterative FGSM (μ = 1, step eps/steps, L1-normalised gradients)."""
    return AttackConfig(iterations=steps, combine="linf", linf_eps=eps, linf_step=eps / steps, loss="ce",
                        momentum=1.0, ti_size=0, di_probability=0.0)


CW_ITERATIONS, CW_SEARCH_STEPS = 30, 3  # CPU-sized: Adam steps per search step, binary-search steps over c


def cw_l2(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, iterations: int = CW_ITERATIONS,
          search_steps: int = CW_SEARCH_STEPS, initial_c: float = 0.1, confidence: float = 0.0,
          lr: float = 0.01) -> torch.Tensor:
    """Carlini–Wagner L2 (tanh box, margin loss, Adam), binary search over c per sample.

    Returns the smallest successful perturbation found per sample (the image itself where none
    succeeded). images: float N×C×H×W in [0, 1].
    """
    count = len(images)
    low, high = torch.zeros(count, device=images.device), torch.full((count,), 1e10, device=images.device)
    c = torch.full((count,), initial_c, device=images.device)
    best, best_norm = images.clone(), torch.full((count,), float("inf"), device=images.device)
    source = torch.atanh((images * 2 - 1).clamp(-1 + 1e-6, 1 - 1e-6))
    true = F.one_hot(labels, num_classes(model, images)).bool()
    for _ in range(search_steps):
        w = source.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([w], lr=lr)
        succeeded = torch.zeros(count, dtype=torch.bool, device=images.device)
        for _ in range(iterations):
            adversarial = (torch.tanh(w) + 1) / 2
            logits = model(adversarial)
            other = logits.masked_fill(true, -float("inf")).max(1).values
            margin = (logits[true] - other).clamp(min=-confidence)
            distance = (adversarial - images).flatten(1).pow(2).sum(1)
            optimizer.zero_grad()
            (distance + c * margin).sum().backward()
            optimizer.step()
            with torch.no_grad():
                fooled = logits.argmax(1) != labels
                norm = distance.sqrt()
                better = fooled & (norm < best_norm)
                best[better], best_norm[better] = adversarial[better].detach(), norm[better]
                succeeded |= fooled
        with torch.no_grad():  # binary search: smaller c where it worked, larger where it did not
            high = torch.where(succeeded, torch.minimum(high, c), high)
            low = torch.where(succeeded, low, torch.maximum(low, c))
            c = torch.where(high < 1e9, (low + high) / 2, c * 10)
    return best.detach()


NAMED = {
    "fgsm": lambda: fgsm(8 / 255),
    "pgd_linf": lambda: pgd(8 / 255, 20, "linf"),
    "pgd_l2": lambda: pgd(0.5, 20, "l2"),
    "pgd_ll": lambda: pgd_ll(8 / 255, 20),
    "mi_fgsm_8": lambda: mi_fgsm(8 / 255, 10),
    "mi_fgsm_16": lambda: mi_fgsm(16 / 255, 10),
}


def run_named(name: str, model: nn.Module, images: np.ndarray, labels: np.ndarray, source_index: np.ndarray, *,
              seed: int, device: torch.device, batch_size: int = 256, cw_iterations: int = CW_ITERATIONS,
              cw_search_steps: int = CW_SEARCH_STEPS) -> np.ndarray:
    """uint8 adversarial images for one of NAMED or 'cw_l2', computed on `model` (one model or an ensemble)."""
    if name == "cw_l2":
        out = []
        with eval_mode(model):
            for start in range(0, len(images), batch_size):
                x = to_float(torch.from_numpy(images[start : start + batch_size]).to(device))
                y = torch.from_numpy(np.asarray(labels[start : start + batch_size], np.int64)).to(device)
                adversarial = cw_l2(model, x, y, iterations=cw_iterations, search_steps=cw_search_steps)
                out.append(to_uint8(adversarial))
        return np.concatenate(out)
    if name not in NAMED:
        raise DatacentricError(f"unknown attack '{name}'; known: {', '.join([*NAMED, 'cw_l2'])}")
    config = NAMED[name]()
    return attack_images(model, images, labels, source_index, seed=seed, config=replace(config, batch_size=batch_size),
                         device=device, require_perturbed=False).images
