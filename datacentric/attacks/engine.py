"""The attack engine: iterative L∞/L2 attacks with momentum (MI), translation-invariant smoothing (TI),
input diversity (DI) and logit, cross-entropy or CW-margin losses, untargeted or targeted.

One configuration covers paper 004's transfer attack (eq. 1–6) and the benchmark's white-box and
transfer attacks (FGSM, PGD, PGD-LL, MI-FGSM). Rows of a batch may use different norms, so the L∞
and L2 copies of the same images go through the models together: one forward and one backward per
model per step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from datacentric.attacks.transforms import diversity_theta, gaussian_kernel, input_diversity, smooth_gradient
from datacentric.core.device import gpu_autocast
from datacentric.core.randomness import Stream, _mix, randint, sample_keys, uniform_field
from datacentric.models.predict import eval_mode

LINF, L2 = 0, 1
PAPER_LINF_STEP, PAPER_L2_STEP = 2 / 255, 0.025  # the published steps, sized for 300 iterations


@dataclass(frozen=True)
class AttackConfig:
    """Every setting of the iterative attack (pixel units are [0, 1]; L2 is over all C·H·W values).

    The defaults are paper 004's published attack (300 steps, L∞ and L2 perturbations summed: their sum can
    exceed either budget alone), GPU work; the CPU default's settings are `pipelines/cifar10.toml`'s [attack],
    which `datacentric.api.attack` and `datacentric.api.attack_config()` start from. With `combine = "linf"`
    or `"l2"` the result never exceeds `linf_eps` or `l2_eps`."""

    iterations: int = 300
    combine: str = "sum"  # sum (paper: both from the clean image, added) | linf | l2 | split (half each)
    linf_eps: float = 8 / 255
    linf_step: float | None = None  # None: max(2/255, 2.5·linf_eps/iterations)
    l2_eps: float = 1.0
    l2_step: float | None = None  # None: max(0.025, 2.5·l2_eps/iterations)
    loss: str = "logit"  # logit (−z_y, paper) | ce | cw (margin)
    target: str = "none"  # none | least_likely | random
    momentum: float = 1.0  # μ of MI-FGSM; 0 disables momentum
    l1_normalize: bool = True  # canonical MI-FGSM (g/‖g‖₁); False = the published un-normalised sum
    ti_size: int = 0  # TI kernel side in pixels at 32 px (scaled with the image side: `ti_kernel`); 0 disables TI:
    # at 32 px it cuts transfer to independently trained models by about 10 points (docs/PERFORMANCE.md)
    ti_sigma: float = 1.0  # TI kernel sigma in pixels at 32 px (the published 15×15, sigma 3 was tuned on 299 px)
    di_probability: float = 0.7  # chance per sample and step of the DI transform; 0 disables DI
    di_resize: float = 1.25  # DI resizes to [size, size·di_resize] and pads to size·di_resize
    di_mode: str = "nearest"  # DI interpolation
    random_start: bool = False  # start from a uniform point of the ball (PGD) instead of the image
    batch_size: int = 64  # images per batch (the sum mode runs 2× rows: both norms)

    def __post_init__(self):
        if self.combine not in ("sum", "linf", "l2", "split"):
            raise ValueError(f"combine must be sum, linf, l2 or split, got '{self.combine}'")
        if self.loss not in ("logit", "ce", "cw"):
            raise ValueError(f"loss must be logit, ce or cw, got '{self.loss}'")
        if self.target not in ("none", "least_likely", "random"):
            raise ValueError(f"target must be none, least_likely or random, got '{self.target}'")
        if self.iterations < 1 or self.batch_size < 1:
            raise ValueError("iterations ≥ 1 and batch_size ≥ 1 are required")
        if not (math.isfinite(self.linf_eps) and 0 <= self.linf_eps <= 1):
            raise ValueError(f"linf_eps must lie in [0, 1] (pixel units), got {self.linf_eps}")
        if not (math.isfinite(self.l2_eps) and self.l2_eps >= 0):
            raise ValueError(f"l2_eps must be finite and non-negative, got {self.l2_eps}")
        for name in ("linf_step", "l2_step"):
            step = getattr(self, name)
            if step is not None and not (math.isfinite(step) and step > 0):
                raise ValueError(f"{name} must be a positive number, got {step}")
        if not (math.isfinite(self.momentum) and self.momentum >= 0 and 0 <= self.di_probability <= 1
                and self.ti_size >= 0 and self.ti_sigma > 0 and self.di_resize >= 1):
            raise ValueError("momentum ≥ 0, di_probability in [0, 1], ti_size ≥ 0, ti_sigma > 0 and di_resize ≥ 1 "
                             "are required")

    @property
    def steps(self) -> tuple[float, float]:
        """(L∞ step, L2 step): the configured ones, or derived so that the iterations can use the budget."""
        linf = self.linf_step if self.linf_step is not None else max(PAPER_LINF_STEP, 2.5 * self.linf_eps / self.iterations)
        l2 = self.l2_step if self.l2_step is not None else max(PAPER_L2_STEP, 2.5 * self.l2_eps / self.iterations)
        return linf, l2


def objective(logits: torch.Tensor, labels: torch.Tensor, targets: torch.Tensor | None, loss: str) -> torch.Tensor:
    """Per-sample quantity the attack increases: away from `labels`, or toward `targets` when given."""
    if targets is None:
        if loss == "logit":
            return -logits.gather(1, labels[:, None])[:, 0]
        if loss == "ce":
            return F.cross_entropy(logits, labels, reduction="none")
        others = logits.masked_fill(F.one_hot(labels, logits.shape[1]).bool(), -math.inf)
        return others.max(1).values - logits.gather(1, labels[:, None])[:, 0]
    if loss == "logit":
        return logits.gather(1, targets[:, None])[:, 0]
    if loss == "ce":
        return -F.cross_entropy(logits, targets, reduction="none")
    others = logits.masked_fill(F.one_hot(targets, logits.shape[1]).bool(), -math.inf)
    return logits.gather(1, targets[:, None])[:, 0] - others.max(1).values


def choose_targets(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, keys: torch.Tensor,
                   config: AttackConfig, num_classes: int) -> torch.Tensor | None:
    if config.target == "none":
        return None
    if config.target == "least_likely":
        with torch.no_grad():
            return model(images).argmin(1)
    offset = randint(keys, 0, Stream.TARGET, 1, num_classes - 1).to(labels.device)  # any class but the true one
    return (labels + offset) % num_classes


TI_REFERENCE_SIDE = 32  # the image side at which ti_size and ti_sigma are stated


def ti_kernel(config: AttackConfig, shape: torch.Size) -> torch.Tensor:
    """TI's Gaussian kernel for N×C×H×W images: side and sigma scaled by H/32 (the side kept odd, so the
    smoothing stays centred), so one setting means the same smoothing at 32, 64 or 224 px."""
    factor = shape[-2] / TI_REFERENCE_SIDE
    side = max(1, round(config.ti_size * factor))
    return gaussian_kernel(side + (side % 2 == 0), config.ti_sigma * factor, shape[1])


def _per_sample_norm(values: torch.Tensor, p: float) -> torch.Tensor:
    return values.flatten(1).norm(p=p, dim=1).view(-1, *([1] * (values.ndim - 1)))


@dataclass(frozen=True)
class Batch:
    """One batch's fixed inputs, as the hooks see them (tensors on the model's device)."""

    images: torch.Tensor  # float N×C×H×W in [0, 1]
    labels: torch.Tensor  # int64 (N,)
    targets: torch.Tensor | None  # int64 (N,) target classes, None for an untargeted attack
    keys: torch.Tensor  # int64 (N,) per-row random keys
    linf_rows: torch.Tensor  # bool N×1×1×1: True where the row is attacked under L∞, else L2
    linf_eps: torch.Tensor  # L∞ budget: a scalar, or per row (N×1×1×1)
    linf_step: float | torch.Tensor  # L∞ step: a number, or per row like linf_eps
    l2_step: float
    eps: torch.Tensor  # each row's budget in its own norm (N×1×1×1)
    kernel: torch.Tensor | None  # TI's Gaussian kernel (depthwise), None without TI


class IterativeAttack:
    """The iterative attack all methods here share, one hook per stage of a step (TransferAttack's layout):

        δ = init_delta;  repeat: logits = forward(transform(x + δ)) → gain = get_loss → g = get_grad
                                  → direction = get_momentum(g) → δ = update_delta(δ, direction)

    The built-in hooks implement paper 004's eq. 1–6 and the benchmark's attacks, switched by
    `AttackConfig`: random start (`init_delta`), DI (`transform`), the logit/CE/CW objective
    (`get_loss`), TI smoothing (`get_grad`), MI momentum (`get_momentum`), the L∞ sign step and the L2
    normalised step with projection (`update_delta`). A new technique subclasses and overrides one hook.

    Example:
        >>> class NoMomentum(IterativeAttack):
        ...     def get_momentum(self, gradient, momentum):
        ...         return gradient, momentum
        >>> delta = NoMomentum(model, AttackConfig(iterations=10))(images, labels, keys, norms)
    """

    def __init__(self, model: nn.Module, config: AttackConfig):
        self.model, self.config = model, config

    def __call__(self, images: torch.Tensor, labels: torch.Tensor, keys: torch.Tensor, norms: torch.Tensor, *,
                 targets: torch.Tensor | None = None, row_linf_eps: torch.Tensor | None = None) -> torch.Tensor:
        """Perturbations δ (float, same shape as `images`) within each row's budget; see `perturb`."""
        batch = self.prepare(images, labels, keys, norms, targets, row_linf_eps)
        delta = self.init_delta(batch)
        momentum = torch.zeros_like(images)
        for step in range(self.config.iterations):
            delta.requires_grad_(True)
            logits = self.forward(self.transform(batch.images + delta, batch, step))
            gradient = self.get_grad(self.get_loss(logits, batch).sum(), delta, batch)
            delta = delta.detach()
            direction, momentum = self.get_momentum(gradient, momentum)
            delta = self.update_delta(delta, direction, batch)
        return delta.detach()

    def prepare(self, images, labels, keys, norms, targets, row_linf_eps) -> Batch:
        """Budgets and steps per row; targets chosen by `config.target` unless given."""
        config, device = self.config, images.device
        linf_rows = (norms == LINF).to(device).view(-1, 1, 1, 1)
        linf_step, l2_step = config.steps
        linf_eps = torch.tensor(config.linf_eps, device=device)
        if row_linf_eps is not None:  # a budget drawn per sample (TLAT): the step scales with it
            linf_eps = row_linf_eps.to(device, images.dtype).view(-1, 1, 1, 1)
            linf_step = linf_eps * (linf_step / config.linf_eps if config.linf_eps else 1.0)
        eps = torch.where(linf_rows, linf_eps, config.l2_eps).to(images.dtype)
        kernel = ti_kernel(config, images.shape).to(device) if config.ti_size else None
        if targets is None:
            classes = num_classes(self.model, images)
            targets = choose_targets(self.model, images, labels, keys, config, num_classes=classes)
        return Batch(images, labels, targets, keys, linf_rows, linf_eps, linf_step, l2_step, eps, kernel)

    def init_delta(self, batch: Batch) -> torch.Tensor:
        """Zero, or a uniform point of each row's ball (`random_start`, PGD)."""
        images = batch.images
        if not self.config.random_start:
            return torch.zeros_like(images)
        noise = uniform_field(batch.keys, 0, Stream.START, tuple(images.shape[1:])).to(images.device) * 2 - 1
        l2_start = noise / _per_sample_norm(noise, 2).clamp_min(1e-12) * self.config.l2_eps * \
            uniform_field(batch.keys, 0, Stream.START + 1, (1, 1, 1)).to(images.device)
        delta = torch.where(batch.linf_rows, noise * batch.linf_eps, l2_start)
        return (images + delta).clamp(0, 1) - images

    def transform(self, adversarial: torch.Tensor, batch: Batch, step: int) -> torch.Tensor:
        """What the models see at this step: DI's random resize-and-pad, drawn per row and step."""
        if self.config.di_probability <= 0:
            return adversarial
        theta = diversity_theta(batch.keys, step, self.config.di_probability, self.config.di_resize,
                                adversarial.shape[-1])
        return input_diversity(adversarial, theta, self.config.di_mode)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        with gpu_autocast(inputs.device):
            return self.model(inputs.contiguous(memory_format=torch.channels_last))

    def get_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Per-row gain the attack ascends (`objective`)."""
        return objective(logits.float(), batch.labels, batch.targets, self.config.loss)

    def get_grad(self, gain: torch.Tensor, delta: torch.Tensor, batch: Batch) -> torch.Tensor:
        """∂gain/∂δ, smoothed by TI's Gaussian kernel when `ti_size` > 0."""
        (gradient,) = torch.autograd.grad(gain, delta)
        return smooth_gradient(gradient, batch.kernel)

    def get_momentum(self, gradient: torch.Tensor, momentum: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(step direction, new momentum): MI-FGSM's μ·m + g/‖g‖₁ (or the published un-normalised sum)."""
        if not self.config.momentum:
            return gradient, momentum
        if self.config.l1_normalize:
            gradient = gradient / gradient.abs().flatten(1).mean(1).clamp_min(1e-12).view(-1, 1, 1, 1)
        momentum = self.config.momentum * momentum + gradient
        return momentum, momentum

    def update_delta(self, delta: torch.Tensor, direction: torch.Tensor, batch: Batch) -> torch.Tensor:
        """One step in each row's norm (L∞ sign step, L2 normalised step), projected on its ball and [0, 1]."""
        linf_update = delta + batch.linf_step * direction.sign()
        l2_update = delta + batch.l2_step * direction / _per_sample_norm(direction, 2).clamp_min(1e-12)
        delta = torch.where(batch.linf_rows, torch.maximum(torch.minimum(linf_update, batch.linf_eps), -batch.linf_eps),
                            l2_update * (batch.eps / _per_sample_norm(l2_update, 2).clamp_min(1e-12)).clamp(max=1))
        return (batch.images + delta).clamp(0, 1) - batch.images


def perturb(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, keys: torch.Tensor,
            norms: torch.Tensor, config: AttackConfig, *, targets: torch.Tensor | None = None,
            row_linf_eps: torch.Tensor | None = None) -> torch.Tensor:
    """The iterations of eq. 6 (`IterativeAttack` with the built-in hooks): perturbations δ (float, same
    shape as `images`) within each row's budget.

    Args:
        model: the logit ensemble (or one model), in eval mode; images in [0, 1] go in, logits come out.
        images: float N×C×H×W in [0, 1] (on the model's device).
        labels: int64 (N,) true classes.
        keys: int64 (N,) per-row random keys (`randomness.sample_keys`); rows sharing an image but
            attacked under different norms get different keys, so their DI draws differ.
        norms: int64 (N,), LINF or L2 per row.
        targets: int64 (N,) target classes, overriding `config.target`'s choice (`choose_targets`).
        row_linf_eps: float (N,) per-row L∞ budgets overriding `config.linf_eps` (the step scales with
            it), for attacks that draw a budget per sample (TLAT).
    Returns:
        δ with x + δ in [0, 1], ‖δ‖∞ ≤ linf_eps on L∞ rows and ‖δ‖₂ ≤ l2_eps on L2 rows.

    Example:
        >>> x = torch.rand(4, 3, 32, 32); y = torch.tensor([0, 1, 2, 3])
        >>> delta = perturb(model, x, y, sample_keys(0, torch.arange(4)), torch.full((4,), LINF),
        ...                 AttackConfig(iterations=10, combine="linf"))
    """
    with eval_mode(model):  # BatchNorm's running statistics: an attack must neither see nor move batch statistics
        return IterativeAttack(model, config)(images, labels, keys, norms, targets=targets, row_linf_eps=row_linf_eps)


def num_classes(model: nn.Module, images: torch.Tensor) -> int:
    """The number of classes a model predicts (one forward pass on one image)."""
    with torch.no_grad():
        return model(images[:1]).shape[1]


def quantize(images: torch.Tensor, delta: torch.Tensor, *, l2_limit: torch.Tensor | None = None) -> torch.Tensor:
    """Source image + δ on the uint8 grid, rounded (never truncated). Rows whose rounded L2 norm would
    exceed `l2_limit` round δ toward zero instead, which can only shrink it."""
    rounded = torch.round((images + delta).clamp(0, 1) * 255) / 255
    if l2_limit is None:
        return rounded
    over = (_per_sample_norm(rounded - images, 2).flatten() > l2_limit.flatten() + 1e-6).view(-1, 1, 1, 1)
    toward_zero = images + torch.trunc(delta * 255) / 255
    return torch.where(over, toward_zero.clamp(0, 1), rounded)


def row_keys(seed: int, source_index: torch.Tensor, norm: int) -> torch.Tensor:
    """Keys of one norm's rows: the L2 copy of an image draws its own DI transforms."""
    keys = sample_keys(seed, source_index)
    return keys if norm == LINF else _mix(keys ^ 0x5BD1E995)
