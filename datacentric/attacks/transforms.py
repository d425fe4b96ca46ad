"""The transfer attack's input and gradient transforms: translation-invariant smoothing (TI) and input
diversity (DI)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from datacentric.core.randomness import Stream, randint, uniform


def gaussian_kernel(size: int, sigma: float, channels: int = 3) -> torch.Tensor:
    """A size×size Gaussian summing to 1, as a depthwise conv weight (channels×1×size×size)."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    line = torch.exp(-(coords**2) / (2 * sigma**2))
    kernel = torch.outer(line, line)
    kernel = (kernel / kernel.sum()).float()
    return kernel.expand(channels, 1, size, size).contiguous()


def smooth_gradient(gradient: torch.Tensor, kernel: torch.Tensor | None) -> torch.Tensor:
    """W * g: the gradient convolved per channel with the TI kernel (zero padding keeps the size)."""
    if kernel is None:
        return gradient
    return F.conv2d(gradient.contiguous(), kernel.to(gradient), padding=kernel.shape[-1] // 2, groups=gradient.shape[1])


def diversity_theta(keys: torch.Tensor, step: int, probability: float, resize_ratio: float, size: int
                    ) -> torch.Tensor:
    """Per-sample affine maps (N×2×3) of DI: with `probability`, resize the image to r ∈ [size,
    size·resize_ratio] pixels, place it at a random offset on a zero square of size·resize_ratio, and
    view that square at the input resolution; otherwise the identity."""
    canvas = int(size * resize_ratio)
    apply = uniform(keys, step, Stream.DI) < probability
    resized = randint(keys, step, Stream.DI + 1, size, canvas).double()
    top = (uniform(keys, step, Stream.DI + 2) * (canvas - resized + 1)).floor()
    left = (uniform(keys, step, Stream.DI + 3) * (canvas - resized + 1)).floor()
    scale = torch.where(apply, canvas / resized, torch.ones_like(resized))
    shift_x = torch.where(apply, (canvas - 2 * left) / resized - 1, torch.zeros_like(resized))
    shift_y = torch.where(apply, (canvas - 2 * top) / resized - 1, torch.zeros_like(resized))
    theta = torch.zeros(len(keys), 2, 3, dtype=torch.float64)
    theta[:, 0, 0], theta[:, 0, 2] = scale, shift_x
    theta[:, 1, 1], theta[:, 1, 2] = scale, shift_y
    return theta.float()


def input_diversity(images: torch.Tensor, theta: torch.Tensor, mode: str = "nearest") -> torch.Tensor:
    """Apply per-sample DI maps to a batch N×C×H×W (output is the same square size; outside is zero)."""
    grid = F.affine_grid(theta.to(images.device), list(images.shape), align_corners=False)
    return F.grid_sample(images, grid.to(images.dtype), mode=mode, padding_mode="zeros", align_corners=False)
