"""Whitening stems set from data: every `WhiteningConv` of a model gets its filters from training images."""

from __future__ import annotations

import torch
from torch import nn

from datacentric.models.airnet import WhiteningConv
from datacentric.models.predict import eval_mode


class _Captured(Exception):
    """Raised by the hook once the stem's input is captured: the rest of the forward pass is not needed."""


@torch.no_grad()
def init_whitening(model: nn.Module, data: torch.Tensor, count: int, seed: int) -> bool:
    """Set each whitening stem of `model` from `count` images of uint8 N×C×H×W `data` (a seeded draw), as the
    stem receives them (after the model's normalisation). Returns whether the model has such a stem."""
    stems = [module for module in model.modules() if isinstance(module, WhiteningConv)]
    if not stems or count == 0:
        return False
    chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:count]
    images = data[chosen.to(data.device)].float().div_(255)
    for stem in stems:
        captured = []

        def capture(module, inputs, stem=stem):
            captured.append(inputs[0])
            raise _Captured

        handle = stem.register_forward_pre_hook(capture)
        try:
            with eval_mode(model):
                model(images)
        except _Captured:
            pass
        finally:
            handle.remove()
        stem.init_from(captured[0])
    return True
