"""The training loop: data as device tensors, augmentation on the device, a checkpoint every epoch.

Every random choice of epoch e (shuffle order, crop offsets, flips) comes from a generator seeded
with (seed, e), and the learning rate is a function of the step, so a run resumed from the
checkpoint of epoch e continues exactly as the uninterrupted run would have.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from datacentric.config import TrainConfig
from datacentric.device import native_bf16
from datacentric.progress import bar
from datacentric.training.augment import crop_flip, draw_augmentation
from datacentric.training.evaluate import accuracy
from datacentric.training.methods import StepRandom, create_method

CHECKPOINT_FORMAT = "datacentric-checkpoint/1"


def learning_rate(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """Linear warm-up, then cosine decay to 0 (or constant), as a function of the step."""
    warmup = int(config.warmup_epochs * steps_per_epoch)
    if step < warmup:
        return config.lr * (step + 1) / warmup
    if config.schedule == "constant":
        return config.lr
    progress = (step - warmup) / max(1, total_steps - warmup)
    return config.lr * 0.5 * (1 + math.cos(math.pi * progress))


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


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
    autocast = config.bf16 and native_bf16(device)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    model = model.to(device, memory_format=memory_format)
    # uint8 N×C×H×W on the device: 4× smaller than floats, converted one batch at a time
    data = images.permute(0, 3, 1, 2).contiguous().to(device)
    targets = targets.to(device)
    decay, no_decay = [], []
    for parameter in model.parameters():
        (decay if parameter.ndim > 1 else no_decay).append(parameter)
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                                 {"params": no_decay, "weight_decay": 0.0}],
                                lr=config.lr, momentum=config.momentum, nesterov=config.nesterov)
    count = len(data)
    steps_per_epoch = count // config.batch_size if count >= config.batch_size else 1
    batch_size = min(config.batch_size, count)
    total_steps = steps_per_epoch * config.epochs
    method = create_method(config.method, config.method_settings, num_classes=_num_classes(model, data, targets),
                           label_smoothing=config.label_smoothing)
    start_epoch = 0
    if resume and checkpoint is not None and checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=True)
        if state.get("format") != CHECKPOINT_FORMAT or state.get("config") != asdict(config):
            raise ValueError(f"{checkpoint} was written with another training config")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        method.load_state_dict(state.get("method", {}))
        start_epoch = state["epoch"] + 1
        _truncate_metrics(metrics, start_epoch)
    elif metrics is not None and metrics.exists():
        metrics.unlink()

    for epoch in range(start_epoch, config.epochs):
        generator = epoch_generator(config.seed, epoch)
        order = torch.randperm(count, generator=generator)
        offsets, flips = draw_augmentation(count, config.crop_padding, generator)
        model.train()
        started, seen, forward_images, backward_images = time.perf_counter(), 0, 0, 0
        loss_sum, correct = torch.zeros((), device=device), torch.zeros((), device=device)
        progress_bar = bar(total=steps_per_epoch * batch_size, desc=f"{desc} {epoch + 1}/{config.epochs}",
                           enabled=progress, leave=False)
        for step in range(steps_per_epoch):
            index = order[step * batch_size : (step + 1) * batch_size]
            device_index = index.to(device)
            batch = data[device_index].float().div_(255)
            batch = crop_flip(batch, offsets[index].to(device), flips[index].to(device), config.crop_padding,
                              config.flip).contiguous(memory_format=memory_format)
            target = targets[device_index]
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, epoch * steps_per_epoch + step, total_steps, steps_per_epoch)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                result = method.step(model, batch, target, StepRandom(config.seed, epoch, step, index))
            optimizer.zero_grad(set_to_none=True)
            result.loss.backward()
            optimizer.step()
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
                  "images_per_s": round(seen / seconds, 1), "bf16": autocast, "method": config.method,
                  "forward_images": forward_images, "backward_images": backward_images}
        if not math.isfinite(record["train_loss"]):
            raise ValueError(f"the training loss is {record['train_loss']} in epoch {epoch + 1}; nothing was saved "
                             "(lower the learning rate)")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, model, optimizer, epoch, config, method)
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


def _save_checkpoint(path: Path, model: nn.Module, optimizer, epoch: int, config: TrainConfig, method) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        torch.save({"format": CHECKPOINT_FORMAT, "epoch": epoch, "config": asdict(config),
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "method": method.state_dict()}, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (disk full) leaves no temporary behind


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


def evaluator(images: torch.Tensor, labels: torch.Tensor, batch_size: int, name: str = "test_acc"
              ) -> Callable[[nn.Module], dict]:
    """An `evaluate` callback reporting accuracy (percent) on a held-out set."""
    return lambda model: {name: accuracy(model, images, labels, batch_size=batch_size)}
