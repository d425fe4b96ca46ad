"""What ships with the package: `list` (models, zoos, recipes, suites, corruptions, methods, pipelines) and
`init` (a packaged pipeline copied out to edit); `models` and `methods` are `list`'s two oldest lists."""

from __future__ import annotations

import json
import shutil
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from datacentric.cli import app
from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import pipelines_dir, read_toml
from datacentric.corruptions.registry import REGISTRY
from datacentric.corruptions.suites import SUITES
from datacentric.models.registry import ARCHITECTURES
from datacentric.parts.registry import list_generators
from datacentric.training.config import load_recipe, load_zoo, zoo_names
from datacentric.training.methods import list_methods

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


def pipeline_files() -> dict[str, Path]:
    """The packaged pipelines by name (recipes.toml and zoos.toml are tables the pipelines use, not pipelines)."""
    return {p.stem: p for p in sorted(pipelines_dir().glob("*.toml")) if p.stem not in ("recipes", "zoos")}


def catalog(what: str) -> dict:
    """Each list as plain data (what `--json` prints)."""
    if what == "models":
        return {name: {"family": a.family, "scale": a.scale} for name, a in ARCHITECTURES.items()}
    if what == "zoos":
        return {name: [member.name for member in load_zoo(name)] for name in zoo_names()}
    if what == "recipes":
        keys = ("method", "epochs", "batch_size", "lr", "label_smoothing", "soft_labels")
        return {name: {k: getattr(load_recipe(name), k) for k in keys}
                for name in read_toml(pipelines_dir() / "recipes.toml")}
    if what == "suites":
        return {name: {"kind": s.kind, "corruptions": [e.name for e in s.entries], "resolution": s.resolution}
                for name, s in SUITES.items()}
    if what == "corruptions":
        return {name: (factory.__doc__ or "").strip().split("\n")[0] for name, factory in REGISTRY.items()}
    if what == "methods":
        return {"part_generators": list_generators(), "training_methods": list_methods()}
    return {name: _first_comment(path) for name, path in pipeline_files().items()}


Listable = Enum("Listable", {name: name for name in ("models", "zoos", "recipes", "suites", "corruptions", "methods",
                                                     "pipelines")}, type=str)


@app.command("list")
def list_(
    what: Listable = typer.Argument(..., metavar="WHAT", help="What to list."),
    as_json: bool = typer.Option(False, "--json", show_default="off", help="Print the list as JSON."),
) -> None:
    """List what can be named: models (architectures), zoos, recipes, suites (corruption suites), corruptions
    (the corruption functions suites are made of), methods (part generators and training methods) or pipelines
    (the files `datacentric init` copies)."""
    listed = catalog(what.value)
    if as_json:
        typer.echo(json.dumps(listed, indent=1, default=str))
    elif what.value == "methods":
        _print_methods(listed)
    elif what.value == "models":
        typer.echo("Registry (CIFAR stems; `scale` small: for 2 CPU cores, full: GPU work):")
        for name, entry in listed.items():
            typer.echo(f"  {name:26} {entry['family']:14} {entry['scale']}")
        typer.echo(MODEL_SPECS)
    else:
        for name, value in listed.items():
            if isinstance(value, dict):
                value = "  ".join(f"{k} {', '.join(v) if isinstance(v, list) else v}" for k, v in value.items())
            typer.echo(f"  {name:24} {', '.join(value) if isinstance(value, list) else value}")


@app.command()
def models(as_json: bool = typer.Option(False, "--json", show_default="off", help="Print the registry and the zoos as JSON.")) -> None:
    """The architecture registry, the named zoos, and how to name any other model (`list models` and `list zoos`)."""
    if as_json:
        typer.echo(json.dumps({"registry": catalog("models"), "zoos": catalog("zoos")}, indent=1))
        return
    list_(Listable.models, as_json=False)
    typer.echo("\nZoos (pipelines/zoos.toml; a pipeline's `zoo`, `datacentric train --zoo`):")
    list_(Listable.zoos, as_json=False)


@app.command()
def methods(as_json: bool = typer.Option(False, "--json", show_default="off", help="Print the list as JSON.")) -> None:
    """Every registered part generator and training method with its paper, settings and defaults (`list methods`)."""
    list_(Listable.methods, as_json=as_json)


@app.command()
def init(
    name: str = typer.Argument(..., metavar="NAME", help="A packaged pipeline (`datacentric list pipelines`): smoke, cifar10, …"),
    out: Optional[Path] = typer.Option(None, help="File to write [default: ./<name>.toml]."),
    overwrite: bool = typer.Option(False, show_default="off", help="Replace an existing file."),
) -> None:
    """Copy a packaged pipeline into the current folder to edit, then `datacentric enhance <name>.toml`."""
    files = pipeline_files()
    if name not in files:
        raise DatacentricError(f"no packaged pipeline '{name}'; known: {', '.join(files)}")
    target = out or Path(f"{name}.toml")
    if target.exists() and not overwrite:
        raise DatacentricError(f"{target} exists; pass --overwrite to replace it")
    shutil.copyfile(files[name], target)
    typer.echo(f"{files[name].name} → {target}; run it with `datacentric enhance {target}`")


def _first_comment(path: Path) -> str:
    """A pipeline file's first comment line: what it is for."""
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def _print_methods(listed: dict) -> None:
    typer.echo("Part generators (a pipeline's [[parts]] `generator`; settings go in [parts.settings]):")
    for entry in listed["part_generators"]:
        paper = f" [paper {entry['paper']}]" if entry["paper"] else ""
        surrogates = " (attacks the surrogate ensemble)" if entry["needs_surrogates"] else ""
        typer.echo(f"\n  {entry['name']}{paper}{surrogates}\n    {entry['summary']}")
        for key, value in entry["settings"].items():
            typer.echo(f"    {key} = {value!r}")
    typer.echo("\nTraining methods (a recipe's or [targets]' `method`, `datacentric train --method`; settings in "
               "`method_settings`):")
    for entry in listed["training_methods"]:
        paper = f" [paper {entry['paper']}]" if entry["paper"] else ""
        typer.echo(f"\n  {entry['name']}{paper}\n    {entry['summary']}")
        for key, value in entry["settings"].items():
            typer.echo(f"    {key} = {value!r}")
