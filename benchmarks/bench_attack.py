"""bench-attack: this engine against a straightforward per-model, per-norm loop, same models and data.

Five surrogates (the small CPU models; random weights: speed does not depend on them), 128 real
CIFAR-10 images in batches of 64 for both sides, 5 iterations, L∞ and L2 both (the paper's `sum` mode), MI + TI + DI + logit loss.
The straightforward loop is how the published code and the attack libraries work: each norm
attacked separately, each model its own forward and `backward()` (weight gradients included),
NCHW float32. This engine: both norms stacked in one batch, one forward and backward per model per
step, input gradients only, channels_last (and bf16 on CUDA). Prints image-steps/s of both, their
ratio (goal ≥ 1.5 on CPU, ≥ 3 on a GPU), and the achieved FLOP/s as a fraction of this device's
measured matmul peak.
Run: make bench-attack   [DEVICE=cuda]
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.transfer import attack_images
from datacentric.attacks.transforms import diversity_theta, gaussian_kernel, input_diversity, smooth_gradient
from datacentric.core.device import resolve
from datacentric.core.randomness import sample_keys
from datacentric.models import create
from datacentric.models.ensemble import Ensemble

SURROGATES = ["cifar_resnet8", "cifar_vgg_small", "cifar_mobilenetv2_small", "cifar_resnet20", "cifar_wrn_16_2"]
COUNT, BATCH, ITERATIONS, REPEATS = 128, 64, 5, 2
LOSSLESS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-lossless-4k.npz"


def straightforward(models, images: torch.Tensor, labels: torch.Tensor, config: AttackConfig) -> torch.Tensor:
    """Per norm, per model: forward, logit loss, backward; then TI, momentum and the update."""
    linf_step, l2_step = config.steps
    kernel = gaussian_kernel(config.ti_size, config.ti_sigma).to(images.device)
    keys = sample_keys(0, torch.arange(len(images)))
    results = []
    for norm in ("linf", "l2"):
        delta, momentum = torch.zeros_like(images), torch.zeros_like(images)
        for step in range(config.iterations):
            delta.requires_grad_(True)
            for number, model in enumerate(models):
                theta = diversity_theta(keys + number, step, config.di_probability, config.di_resize, 32)
                logits = model(input_diversity(images + delta, theta))
                (-logits.gather(1, labels[:, None]).sum() / len(models)).backward()
            gradient = smooth_gradient(delta.grad, kernel)
            gradient = gradient / gradient.abs().flatten(1).mean(1).clamp_min(1e-12).view(-1, 1, 1, 1)
            momentum = config.momentum * momentum + gradient
            with torch.no_grad():
                if norm == "linf":
                    delta = (delta + linf_step * momentum.sign()).clamp(-config.linf_eps, config.linf_eps)
                else:
                    delta = delta + l2_step * momentum / momentum.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
                    delta = delta * (config.l2_eps / delta.flatten(1).norm(dim=1).view(-1, 1, 1, 1)).clamp(max=1)
                delta = (images + delta).clamp(0, 1) - images
        results.append(delta)
    return torch.round((images + results[0] + results[1]).clamp(0, 1) * 255)


def matmul_peak(device: torch.device) -> float:
    size = 2048 if device.type == "cpu" else 8192
    a, b = torch.rand(size, size, device=device), torch.rand(size, size, device=device)
    a @ b
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < 2:
        a @ b
        count += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * size**3 * count / (time.perf_counter() - start)


def main() -> None:
    device = resolve(os.environ.get("DEVICE", "auto"))
    with np.load(LOSSLESS) as npz:
        images_u8, labels_np = npz["x"][:COUNT], npz["y"][:COUNT].astype(np.int64)
    torch.manual_seed(0)
    models = [create(name, 10).to(device).eval() for name in SURROGATES]
    config = AttackConfig(iterations=ITERATIONS, batch_size=BATCH)
    images = torch.from_numpy(images_u8).permute(0, 3, 1, 2).float().div(255).to(device)
    labels = torch.from_numpy(labels_np).to(device)
    image_steps = 2 * COUNT * ITERATIONS

    plain, fused = [], []
    for _ in range(REPEATS):
        for model in models:
            model.requires_grad_(True).to(memory_format=torch.contiguous_format)
        start = time.perf_counter()
        for first in range(0, COUNT, BATCH):
            straightforward(models, images[first : first + BATCH], labels[first : first + BATCH], config)
        plain.append(image_steps / (time.perf_counter() - start))
        ensemble = Ensemble([m.to(memory_format=torch.channels_last) for m in models])
        start = time.perf_counter()
        attack_images(ensemble, images_u8, labels_np, np.arange(COUNT), seed=0, config=config, device=device)
        fused.append(image_steps / (time.perf_counter() - start))
    with FlopCounterMode(display=False) as counter:
        probe = torch.rand(2 * BATCH, 3, 32, 32, device=device, requires_grad=True)
        ensemble(probe.contiguous(memory_format=torch.channels_last)).sum().backward()
    flops_per_image_step = counter.get_total_flops() / (2 * BATCH)
    peak = matmul_peak(device)
    achieved = flops_per_image_step * max(fused)
    print(f"{len(models)} surrogates {SURROGATES}, {COUNT} images in batches of {BATCH}, {ITERATIONS} iterations, L∞ + L2, "
          f"device {device}, {torch.get_num_threads()} threads, best of {REPEATS}")
    print(f"straightforward per-model, per-norm loop: {max(plain):8.1f} image-steps/s")
    print(f"datacentric engine                      : {max(fused):8.1f} image-steps/s")
    print(f"ratio                                   : {max(fused) / max(plain):.2f}  (goal >= 1.5 on CPU, >= 3 on GPU)")
    print(f"achieved {achieved / 1e9:.1f} GFLOP/s = {achieved / peak:.1%} of the measured matmul peak "
          f"({peak / 1e9:.1f} GFLOP/s)")


if __name__ == "__main__":
    main()
