"""Model commands: train, evaluate-clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from datacentric.cli import app
from datacentric.core import device as devices
from datacentric.core.io import write_json_atomic
from datacentric.data.torch_dataset import load_tensors
from datacentric.models.loading import load_any
from datacentric.models.predict import accuracy
from datacentric.training.config import load_recipe, load_zoo
from datacentric.training.stage import train_zoo


@app.command()
def train(
    store: Path = typer.Option(..., help="Training store (clean, enhanced, or your own)."),
    zoo: str = typer.Option("cpu-small", help="A zoo (`datacentric list zoos`)."),
    arch: List[str] = typer.Option([], metavar="SPEC", help="Train these architectures instead of a zoo (repeatable): a registry name, "
                                   "timm:NAME or torchvision:NAME."),
    out: Path = typer.Option(..., help="Output directory: one folder per zoo member."),
    recipe: str = typer.Option("cpu", help="A training recipe (`datacentric list recipes`)."),
    epochs: Optional[int] = typer.Option(None, help="Override the recipe's epochs [default: the recipe's]."),
    batch_size: Optional[int] = typer.Option(None, help="Override the recipe's batch size [default: the recipe's]."),
    lr: Optional[float] = typer.Option(None, help="Override the recipe's peak learning rate [default: the recipe's]."),
    soft_labels: Optional[bool] = typer.Option(None, "--soft-labels/--hard-labels", help="KL on the store's soft "
                                               "labels, or cross-entropy on hard ones [default: the recipe's]."),
    label_smoothing: Optional[float] = typer.Option(None, help="Override the recipe's label smoothing [default: the "
                                                    "recipe's]."),
    method: Optional[str] = typer.Option(None, help="A training method (`datacentric list methods`) [default: the "
                                         "recipe's]."),
    eval_store: Optional[Path] = typer.Option(None, help="Also report accuracy on this store every epoch "
                                              "[default: none]."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N]."),
    resume: bool = typer.Option(False, show_default="off", help="Continue each member from its last epoch checkpoint."),
) -> None:
    """Train every architecture of a zoo on a store (SGD + cosine; data held as device tensors), with a
    training method (standard, pgd_at, iat, mtlat, gnt, speckle, ant)."""
    config = load_recipe(recipe, epochs=epochs, batch_size=batch_size, lr=lr, soft_labels=soft_labels,
                         label_smoothing=label_smoothing, method=method,
                         method_settings={} if method and method != load_recipe(recipe).method else None)
    saved = train_zoo(store, load_zoo(list(arch) or zoo), config, out, device=devices.resolve(device), eval_store=eval_store,
                      resume=resume, refuse_stale=resume)
    for name, path in saved.items():
        typer.echo(f"{name} → {path}")


@app.command("evaluate-clean")
def evaluate_clean(
    model: str = typer.Argument(..., metavar="MODEL", help="A model file: a model.pt written by `train`, or a checkpoint from elsewhere "
                                "as PATH[,arch=NAME][,mean=R/G/B][,std=R/G/B][,prefix=P] (`datacentric models`)."),
    store: Path = typer.Option(..., help="A store to measure accuracy on."),
    out: Optional[Path] = typer.Option(None, help="Also write the result as JSON here [default: print only]."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N]."),
) -> None:
    """Print (and write) a model's top-1 accuracy on a store."""
    loaded = load_any(model, devices.resolve(device))
    images, labels, _ = load_tensors(store)
    result = {"model": model, "store": str(store), "samples": len(labels),
              "accuracy": accuracy(loaded, images, labels)}
    typer.echo(json.dumps(result))
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomic(out, result, sort_keys=False)
