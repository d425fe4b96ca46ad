"""The training method `ant`: adversarial noise training (paper 003), the noise generator trained jointly.

Each step first updates the current noise generator (Adam) to raise the classifier's cross-entropy
on its noise, then trains the classifier on a batch that is half clean, 30 % noise from the current
generator and 20 % noise from an earlier generator (replay). A fresh generator starts every
`renew_every_epochs` epochs, and the old one joins the replay history; this follows the public code
(a new generator per epoch) rather than the appendix (every 0.33 epochs), since the trainer's
checkpoints and exact resume are per epoch. The noise generator and the L2 ε-sphere projection are
the part generator's (`parts/ant.py`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from datacentric.parts.ant import NoiseGeneratorSettings, project
from datacentric.training.methods.base import StepResult, TrainingMethod, hard_labels, register


@dataclass(frozen=True)
class AntSettings(NoiseGeneratorSettings):
    """The `adversarial_noise` part's generator settings, and the classifier batch's mix."""

    clean_fraction: float = 0.5  # of each classifier batch (paper: 50 %)
    current_fraction: float = 0.3  # noise from the current generator (paper: 30 %); the rest from replay (20 %)
    history: int = 10  # earlier generators kept for replay
    renew_every_epochs: int = 1  # a fresh generator every this many epochs (the public code: 1)

    def __post_init__(self):
        super().__post_init__()
        if not (0 <= self.clean_fraction and 0 <= self.current_fraction and self.clean_fraction + self.current_fraction <= 1):
            raise ValueError("clean_fraction and current_fraction must be non-negative and add up to at most 1")
        if self.history < 0 or self.renew_every_epochs < 1:
            raise ValueError("history ≥ 0 and renew_every_epochs ≥ 1 are required")


@register("ant", AntSettings)
class Ant(TrainingMethod):
    """Adversarial noise training (paper 003): a noise generator trained against the model, batches half clean, half noisy with replay."""

    paper = "003"

    def __init__(self, settings, num_classes, label_smoothing=0.0):
        super().__init__(settings, num_classes, label_smoothing)
        self.generator, self.optimizer, self.history, self.epoch = None, None, [], -1

    def _renew(self, random, channels: int, device: torch.device) -> None:
        if self.generator is not None and self.settings.history:
            self.history = (self.history + [copy.deepcopy(self.generator.state_dict())])[-self.settings.history:]
        draws = torch.Generator().manual_seed(random.seed * 1_000_003 + random.epoch)
        self.generator = self.settings.generator(channels, draws).to(device)
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.settings.lr)

    def _noise(self, generator, images, random) -> torch.Tensor:
        normal = torch.randn(images.shape, generator=random.generator).to(images.device)
        return project(images, generator(normal), self.eps)

    def step(self, model, images, targets, random):
        s = self.settings
        self.eps = s.resolved_eps(images[0].numel())
        if self.generator is None or (random.step == 0 and random.epoch % s.renew_every_epochs == 0
                                      and random.epoch != self.epoch):
            self._renew(random, images.shape[1], images.device)
        self.epoch = random.epoch
        count = len(images)
        clean = int(round(count * s.clean_fraction))
        current = int(round(count * s.current_fraction)) if self.history else count - clean
        noisy = images[clean:clean + current]
        labels = hard_labels(targets)
        # the generator's step: raise the classifier's loss on its noise (classifier weights untouched)
        was_training = model.training
        model.eval()
        generator_loss = F.cross_entropy(model(noisy + self._noise(self.generator, noisy, random)).float(),
                                         labels[clean:clean + current])
        grads = torch.autograd.grad(-generator_loss, list(self.generator.parameters()))
        for parameter, grad in zip(self.generator.parameters(), grads):
            parameter.grad = grad
        self.optimizer.step()
        model.train(was_training)
        # the classifier's batch: clean, current generator, replayed generator
        with torch.no_grad():
            parts = [images[:clean], noisy + self._noise(self.generator, noisy, random)]
            if clean + current < count:
                replayed = s.generator(images.shape[1]).to(images.device)
                pick = int(torch.randint(len(self.history), (), generator=random.generator))
                replayed.load_state_dict(self.history[pick])
                rest = images[clean + current:]
                parts.append(rest + self._noise(replayed, rest, random))
        logits = model(torch.cat(parts).clamp(0, 1))
        loss = self.loss(logits, targets)
        return StepResult(loss, logits, labels, count + current, count + current)

    def state_dict(self) -> dict:
        if self.generator is None:
            return {}
        return {"generator": self.generator.state_dict(), "optimizer": self.optimizer.state_dict(),
                "history": self.history, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        if not state:
            return
        first = state["generator"]["convs.0.weight"]  # width × channels × 1 × 1
        self.generator = self.settings.generator(first.shape[1]).to(first.device)
        self.generator.load_state_dict(state["generator"])
        self.optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.settings.lr)
        self.optimizer.load_state_dict(state["optimizer"])
        self.history, self.epoch = list(state["history"]), state["epoch"]
