"""The training loop: data as device tensors, augmentation on the device, a checkpoint every epoch.

Every random choice of epoch e (shuffle order, crop offsets, flips) comes from a generator seeded
with (seed, e), and the learning rate is a function of the step, so a run resumed from the
checkpoint of epoch e continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from datacentric.core.device import native_bf16
from datacentric.core.io import atomic_path, sha256_file, write_text_atomic
from datacentric.core.progress import bar
from datacentric.models.predict import accuracy
from datacentric.training.augment import alternating_flips, crop_flip, draw_augmentation
from datacentric.training.config import TrainConfig
from datacentric.training.lookahead import Lookahead
from datacentric.training.methods import StepRandom, TrainingMethod, create_method
from datacentric.training.whitening import init_whitening

CHECKPOINT_FORMAT = "datacentric-checkpoint/1"


def learning_rate(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """Linear warm-up, then cosine or linear decay to 0 (or constant), as a function of the step."""
    warmup = int(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.schedule == "constant":
        return config.lr
    progress = (step - warmup) / max(1, total_steps - warmup)
    if config.schedule == "linear":
        return config.lr * (1 - progress)
    return config.lr * 0.5 * (1 + math.cos(math.pi * progress))


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


@dataclass
class Loop:
    """What one training run holds between epochs: the model, its data on the device, the optimiser and the
    method, and the step counts that the learning-rate schedule is a function of."""

    model: nn.Module
    data: torch.Tensor  # uint8 N×C×H×W on the device: 4× smaller than floats, converted one batch at a time
    targets: torch.Tensor
    config: TrainConfig
    device: torch.device
    optimizer: torch.optim.Optimizer
    method: TrainingMethod
    autocast: bool
    memory_format: torch.memory_format
    lookahead: Lookahead | None = None
    whitened: bool = False

    @property
    def batch_size(self) -> int:
        return min(self.config.batch_size, len(self.data))

    @property
    def steps_per_epoch(self) -> int:
        return len(self.data) // self.config.batch_size if len(self.data) >= self.config.batch_size else 1

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs


def sgd(model: nn.Module, config: TrainConfig) -> torch.optim.SGD:
    """SGD with momentum over the trainable parameters, in three groups: weights (ndim > 1, decayed), BatchNorm
    biases (at lr × norm_bias_lr_scale) and the rest (biases, norm scales). Each group's `lr_scale` multiplies the
    scheduled lr. With decoupled weight decay, the decay per step is weight_decay × lr_t / lr whatever lr is."""
    norm_biases = {id(module.bias) for module in model.modules()
                   if isinstance(module, nn.modules.batchnorm._NormBase) and module.bias is not None}
    weights, biases, rest = [], [], []
    for parameter in model.parameters():
        if parameter.requires_grad:
            (weights if parameter.ndim > 1 else biases if id(parameter) in norm_biases else rest).append(parameter)
    decay = config.weight_decay / config.lr if config.decoupled_weight_decay else config.weight_decay
    groups = [{"params": weights, "weight_decay": decay, "lr_scale": 1.0},
              {"params": biases, "weight_decay": 0.0, "lr_scale": config.norm_bias_lr_scale},
              {"params": rest, "weight_decay": 0.0, "lr_scale": 1.0}]
    return torch.optim.SGD([group for group in groups if group["params"]], lr=config.lr, momentum=config.momentum,
                           nesterov=config.nesterov)


def train(
    model: nn.Module,
    images: torch.Tensor,
    targets: torch.Tensor,
    config: TrainConfig,
    *,
    device: torch.device,
    checkpoint: Path | None = None,
    metrics: Path | None = None,
    evaluate: Callable[[nn.Module], dict] | None = None,
    resume: bool = False,
    desc: str = "train",
    progress: bool = True,
) -> nn.Module:
    """Fit `model` on uint8 N×H×W×C `images` with int64 labels or float N×K soft `targets`.

    Writes `checkpoint` after every epoch and appends one JSON line per epoch to `metrics`
    (train loss and accuracy, lr, images/s, and whatever `evaluate(model)` returns). With
    `resume`, continues from `checkpoint` if it exists.
    """
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory_format)
    data = images.permute(0, 3, 1, 2).contiguous().to(device)
    targets = targets.to(device)
    method = create_method(config.method, config.method_settings, num_classes=_num_classes(model, data, targets),
                           label_smoothing=config.label_smoothing)
    loop = Loop(model, data, targets, config, device, sgd(model, config), method,
                config.bf16 and native_bf16(device), memory_format)
    start_epoch = 0
    if resume and checkpoint is not None and checkpoint.exists() and not _intact(checkpoint):
        print(f"warning: {checkpoint} does not match its checksum (damaged); training from the first epoch",
              file=sys.stderr)
        checkpoint.unlink()
    if resume and checkpoint is not None and checkpoint.exists():
        start_epoch = _resume(loop, checkpoint)
        _truncate_metrics(metrics, start_epoch)
    else:
        if metrics is not None and metrics.exists():
            metrics.unlink()
        loop.whitened = init_whitening(model, data, min(config.whiten_images, len(data)), config.seed)
        loop.lookahead = Lookahead(model) if config.lookahead_steps else None  # slow weights start from the whitened
    for epoch in range(start_epoch, config.epochs):
        record = run_epoch(loop, epoch, desc=desc, progress=progress)
        if checkpoint is not None:
            _save_checkpoint(checkpoint, loop, epoch)
        if evaluate is not None:
            record.update(evaluate(model))
        if metrics is not None:
            with open(metrics, "a") as handle:
                handle.write(json.dumps(record) + "\n")
        if progress:
            extra = "".join(f"  {k} {v:.2f}" for k, v in record.items() if k.startswith("test"))
            print(f"{desc} epoch {epoch + 1}/{config.epochs}: loss {record['train_loss']:.3f}  "
                  f"acc {record['train_acc']:.1f}%{extra}  {record['images_per_s']:.0f} img/s", file=sys.stderr)
    return model


def run_epoch(loop: Loop, epoch: int, *, desc: str, progress: bool) -> dict:
    """One epoch: every random choice from (seed, epoch), one optimiser step per batch; its metrics record."""
    config, device, model, optimizer = loop.config, loop.device, loop.model, loop.optimizer
    generator = epoch_generator(config.seed, epoch)
    order = torch.randperm(len(loop.data), generator=generator)
    offsets, flips = draw_augmentation(len(loop.data), config.crop_padding, generator)
    if config.alternating_flip:
        flips = alternating_flips(len(loop.data), config.seed, epoch)
    model.train()
    started, seen, forward_images, backward_images = time.perf_counter(), 0, 0, 0
    loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
    batch_size, steps = loop.batch_size, loop.steps_per_epoch
    progress_bar = bar(total=steps * batch_size, desc=f"{desc} {epoch + 1}/{config.epochs}", enabled=progress,
                       leave=False)
    for step in range(steps):
        index = order[step * batch_size : (step + 1) * batch_size]
        device_index = index.to(device)
        batch = loop.data[device_index].float().div_(255)
        batch = crop_flip(batch, offsets[index].to(device), flips[index].to(device), config.crop_padding,
                          config.flip, config.pad_mode).contiguous(memory_format=loop.memory_format)
        target = loop.targets[device_index]
        global_step = epoch * steps + step
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config, global_step, loop.total_steps, steps) * group["lr_scale"]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=loop.autocast):
            result = loop.method.step(model, batch, target, StepRandom(config.seed, epoch, step, index))
        optimizer.zero_grad(set_to_none=True)
        result.loss.backward()
        optimizer.step()
        if loop.lookahead is not None and global_step + 1 == loop.total_steps:  # the trained model: the slow weights
            loop.lookahead.update(model, keep=1.0)
        elif loop.lookahead is not None and (global_step + 1) % config.lookahead_steps == 0:
            loop.lookahead.update(model, Lookahead.keep(config.lookahead_decay, config.lookahead_steps,
                                                        (global_step + 1) / loop.total_steps))
        loss_sum += result.loss.detach() * len(index)
        correct += (result.logits.argmax(1) == result.labels).sum()  # stays on the device: no sync per step
        seen += len(index)
        forward_images += result.forward_images
        backward_images += result.backward_images
        progress_bar.update(len(index))
    progress_bar.close()
    seconds = time.perf_counter() - started
    record = {"epoch": epoch + 1, "train_loss": float(loss_sum) / seen, "train_acc": 100 * float(correct) / seen,
              "lr": optimizer.param_groups[0]["lr"], "seconds": round(seconds, 3),
              "images_per_s": round(seen / seconds, 1), "bf16": loop.autocast, "method": config.method,
              "forward_images": forward_images, "backward_images": backward_images, "whitened": loop.whitened}
    if not math.isfinite(record["train_loss"]):
        raise ValueError(f"the training loss is {record['train_loss']} in epoch {epoch + 1}; nothing was saved "
                         "(lower the learning rate)")
    return record


def _resume(loop: Loop, checkpoint: Path) -> int:
    """Load model, optimiser and method state from `checkpoint`; the next epoch to run."""
    try:
        state = torch.load(checkpoint, map_location=loop.device, weights_only=True)
    except Exception as error:  # torch raises many types for a bad or malicious file; nothing in it ran
        raise ValueError(f"cannot load {checkpoint}: {str(error).strip().splitlines()[0]}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT or state.get("config") != asdict(loop.config):
        raise ValueError(f"{checkpoint} was written with another training config")
    loop.model.load_state_dict(state["model"])
    loop.optimizer.load_state_dict(state["optimizer"])
    loop.method.load_state_dict(state.get("method", {}))
    if loop.config.lookahead_steps:
        loop.lookahead = Lookahead(loop.model)
        loop.lookahead.load_state_dict(state["lookahead"])
    loop.whitened = state.get("whitened", False)
    return state["epoch"] + 1


def _checksum_file(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _intact(path: Path) -> bool:
    """Does the checkpoint still match the sha256 written beside it?"""
    try:
        return _checksum_file(path).read_text().strip() == sha256_file(path)
    except OSError:
        return False


def _save_checkpoint(path: Path, loop: Loop, epoch: int) -> None:
    """Atomically (a failed write, a full disk, leaves the last checkpoint and no temporary behind), then its
    sha256 beside it: a damaged checkpoint is never resumed."""
    with atomic_path(path) as tmp:
        torch.save({"format": CHECKPOINT_FORMAT, "epoch": epoch, "config": asdict(loop.config),
                    "model": loop.model.state_dict(), "optimizer": loop.optimizer.state_dict(),
                    "method": loop.method.state_dict(), "whitened": loop.whitened,
                    "lookahead": loop.lookahead.state_dict() if loop.lookahead is not None else {}}, tmp)
    write_text_atomic(_checksum_file(path), sha256_file(path) + "\n")


def _num_classes(model: nn.Module, data: torch.Tensor, targets: torch.Tensor) -> int:
    """The classes the model predicts (soft targets say it; otherwise one forward in eval mode, which leaves
    BatchNorm's running statistics alone)."""
    if targets.dtype != torch.long:
        return targets.shape[1]
    model.eval()
    with torch.no_grad():
        classes = model(data[:1].float().div(255)).shape[1]
    model.train()
    return classes


def _truncate_metrics(metrics: Path | None, next_epoch: int) -> None:
    """Drop lines of epochs the checkpoint does not cover (written just before a kill)."""
    if metrics is None or not metrics.exists():
        return
    lines = [line for line in metrics.read_text().splitlines() if line and json.loads(line)["epoch"] <= next_epoch]
    metrics.write_text("".join(line + "\n" for line in lines))


def evaluator(images: torch.Tensor, labels: torch.Tensor, batch_size: int, name: str = "test_acc",
              tta: str = "none") -> Callable[[nn.Module], dict]:
    """An `evaluate` callback reporting accuracy (percent) on a held-out set, with test-time views `tta`."""
    return lambda model: {name: accuracy(model, images, labels, batch_size=batch_size, tta=tta)}
