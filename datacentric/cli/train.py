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
from datacentric.models.registry import ARCHITECTURES
from datacentric.training.config import load_recipe, load_zoo, zoo_names
from datacentric.training.stage import train_zoo


@app.command()
def train(
    store: Path = typer.Argument(..., help="Training store (clean, enhanced, or your own)."),
    zoo: str = typer.Option("cpu-small", help="A zoo of pipelines/zoos.toml (`datacentric models` lists them)."),
    arch: List[str] = typer.Option([], help="Train these architectures instead of a zoo (repeatable): a registry name, "
                                   "timm:NAME or torchvision:NAME."),
    out: Path = typer.Option(..., help="Output directory: one folder per zoo member."),
    recipe: str = typer.Option("cpu", help="A training recipe of pipelines/recipes.toml."),
    epochs: Optional[int] = typer.Option(None, help="Override the recipe's epochs."),
    batch_size: Optional[int] = typer.Option(None, help="Override the recipe's batch size."),
    lr: Optional[float] = typer.Option(None, help="Override the recipe's peak learning rate."),
    soft_labels: Optional[bool] = typer.Option(None, "--soft-labels/--hard-labels", help="KL on soft labels."),
    label_smoothing: Optional[float] = typer.Option(None, help="Override the recipe's label smoothing."),
    method: Optional[str] = typer.Option(None, help="A training method (`datacentric methods`) [default: the recipe's]."),
    eval_store: Optional[Path] = typer.Option(None, help="Report test accuracy on this store every epoch."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N]."),
    resume: bool = typer.Option(False, help="Continue each member from its last epoch checkpoint."),
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
    model: str = typer.Argument(..., help="A model file: a model.pt written by `train`, or a checkpoint from elsewhere "
                                "as PATH[,arch=NAME][,mean=R/G/B][,std=R/G/B][,prefix=P] (`datacentric models`)."),
    store: Path = typer.Argument(..., help="A store to measure accuracy on."),
    out: Optional[Path] = typer.Option(None, help="Also write the result as JSON here."),
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


@app.command()
def models(
    as_json: bool = typer.Option(False, "--json", help="Print the registry and the zoos as JSON."),
) -> None:
    """The architecture registry, the named zoos, and how to name any other model."""
    zoos = {name: [member.name for member in load_zoo(name)] for name in zoo_names()}
    registry = {name: {"family": a.family, "scale": a.scale} for name, a in ARCHITECTURES.items()}
    if as_json:
        typer.echo(json.dumps({"registry": registry, "zoos": zoos}, indent=1))
        return
    typer.echo("Registry (CIFAR stems; `scale` small: for 2 CPU cores, full: GPU work):")
    for name, entry in registry.items():
        typer.echo(f"  {name:26} {entry['family']:14} {entry['scale']}")
    typer.echo("\nZoos (pipelines/zoos.toml; a pipeline's `zoo`, `datacentric train --zoo`):")
    for name, members in zoos.items():
        typer.echo(f"  {name:26} {', '.join(members)}")
    typer.echo(MODEL_SPECS)


MODEL_SPECS = """
Any other architecture, wherever an architecture is named (a zoo member's `arch`, an inline zoo
`zoo = ["cifar_resnet8", "timm:resnet18"]`, `datacentric train --arch`):
  timm:NAME                    any timm model (timm.list_models()); timm:NAME,pretrained=true starts
                               from timm's weights where you have them, pretrained=PATH from a file
  torchvision:NAME             any torchvision classification model
Trained models, wherever a model file is named (`benchmark run`, `evaluate-clean`, `--evaluation-model`):
  PATH                         a model.pt written by `train`, or a timm checkpoint naming its arch
  PATH,arch=SPEC[,mean=R/G/B][,std=R/G/B][,prefix=P]
                               a torchvision state dict, a RobustBench-style file or a .safetensors file;
                               mean/std: the normalisation it was trained with, in [0, 1] units
A zoo member may be such a file, used as it is (not trained): `zoo = ["robust.pt,arch=cifar_wrn_28_10"]`
or `{ checkpoint = "...", weight = 2 }`, for surrogates, the evaluation ensemble or the attacker.
Checkpoints are read without running code (weights_only or safetensors)."""
