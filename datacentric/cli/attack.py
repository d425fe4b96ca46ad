"""Attack commands: surrogates train, attack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from datacentric.attacks.engine import AttackConfig
from datacentric.cli import app, at_least
from datacentric.core import device as devices
from datacentric.core import paths
from datacentric.core.errors import DatacentricError
from datacentric.core.tomlconfig import from_dict
from datacentric.data.store import PART_SHARD_SIZE, Store
from datacentric.models.ensemble import auto_batch_size
from datacentric.models.saved import load_ensemble
from datacentric.parts.stages import attack as attack_stage
from datacentric.training.config import load_recipe, load_zoo
from datacentric.training.stage import require_training_data, train_zoo

surrogates_app = typer.Typer(no_args_is_help=True, help="Surrogate ensembles for the transfer attack.")
app.add_typer(surrogates_app, name="surrogates")


@surrogates_app.command("train")
def surrogates_train(
    dataset: str = typer.Option("cifar10", help="A prepared dataset's name."),
    zoo: str = typer.Option("cpu-surrogates", help="A zoo of pipelines/zoos.toml."),
    store: Optional[Path] = typer.Option(None, help="Clean training store [default: data/prepared/<dataset>/train]."),
    out: Optional[Path] = typer.Option(None, help="Output [default: data/models/<dataset>/<zoo>]."),
    recipe: str = typer.Option("cpu", help="A training recipe of pipelines/recipes.toml."),
    epochs: Optional[int] = typer.Option(None, help="Override the recipe's epochs."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N]."),
    resume: bool = typer.Option(False, help="Continue each member from its last epoch checkpoint."),
) -> None:
    """Fit a surrogate (or held-out) ensemble on clean training data only."""
    source = store or paths.prepared_dir(dataset) / "train"
    target = out or paths.data_dir() / "models" / dataset / zoo
    require_training_data(source)
    train_zoo(source, load_zoo(zoo), load_recipe(recipe, epochs=epochs), target, device=devices.resolve(device),
              resume=resume)
    typer.echo(f"surrogates ({zoo}) → {target}")


@app.command()
def attack(
    surrogates: Path = typer.Option(..., help="A trained zoo folder (from `surrogates train`)."),
    dataset: str = typer.Option("cifar10", help="A split dataset's name."),
    input: Optional[Path] = typer.Option(None, help="Input store [default: data/splits/<dataset>/adversarial]."),
    out: Optional[Path] = typer.Option(None, help="Output store [default: data/parts/<dataset>/adversarial]."),
    iterations: Optional[int] = typer.Option(None, callback=at_least(1), help="Attack iterations (paper: 300)."),
    combine: Optional[str] = typer.Option(None, help="sum (paper) | linf | l2 | split."),
    linf_eps: Optional[float] = typer.Option(None, help="L∞ budget, [0, 1] pixel units (8/255)."),
    l2_eps: Optional[float] = typer.Option(None, help="L2 budget over all C·H·W values, [0, 1] units."),
    linf_step: Optional[float] = typer.Option(None, help="L∞ step [default: max(2/255, 2.5·eps/iterations)]."),
    l2_step: Optional[float] = typer.Option(None, help="L2 step [default: max(0.025, 2.5·eps/iterations)]."),
    loss: Optional[str] = typer.Option(None, help="logit (−z_y, paper) | ce | cw."),
    target: Optional[str] = typer.Option(None, help="none | least_likely | random."),
    momentum: Optional[float] = typer.Option(None, help="MI momentum μ (0: none)."),
    published_momentum: bool = typer.Option(False, help="Un-normalised gradient sum, as the published code."),
    ti_size: Optional[int] = typer.Option(None, help="TI kernel side in pixels (0: no TI; published: 5)."),
    ti_sigma: Optional[float] = typer.Option(None, help="TI kernel sigma in pixels (published: 3)."),
    di_probability: Optional[float] = typer.Option(None, help="DI probability per sample and step (0: no DI)."),
    batch_size: str = typer.Option("auto", help="Images per batch, or auto (fits the device)."),
    seed: int = typer.Option(0, callback=at_least(0), help="Global seed: each sample's randomness comes from (seed, source index)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N] (under torchrun: cuda:LOCAL_RANK)."),
    shard_size: int = typer.Option(PART_SHARD_SIZE, callback=at_least(1), help="Samples per shard."),
    shard_index: Optional[int] = typer.Option(None, help="This process's share (default: torchrun/Slurm or 0)."),
    num_shards: Optional[int] = typer.Option(None, help="Number of shares (default: torchrun/Slurm or 1)."),
    workers: int = typer.Option(1, callback=at_least(1), help="Local worker processes (CPU)."),
    holdout: Optional[Path] = typer.Option(None, help="A trained zoo never used here: report transfer success."),
    overwrite: bool = typer.Option(False, help="Replace a store made with another config."),
) -> None:
    """Replace the split's adversarial part with transfer adversarial examples (ensemble MI/TI/DI/logit attack).
    Options left out take `AttackConfig`'s defaults (datacentric/attacks/engine.py)."""
    chosen = devices.resolve(device)
    source = input or paths.split_dir(dataset) / "adversarial"
    if batch_size == "auto":
        ensemble, _ = load_ensemble(surrogates, chosen)
        height, width, channels = Store(source).image_shape
        size = auto_batch_size(ensemble, chosen, (channels, height, width))
    elif batch_size.isdigit() and int(batch_size) > 0:
        size = int(batch_size)
    else:
        raise DatacentricError(f"--batch-size must be a positive integer or auto, got '{batch_size}'")
    given = dict(iterations=iterations, combine=combine, linf_eps=linf_eps, l2_eps=l2_eps, loss=loss, target=target,
                 momentum=momentum, ti_size=ti_size, ti_sigma=ti_sigma, di_probability=di_probability)
    config = from_dict(AttackConfig, dict({k: v for k, v in given.items() if v is not None}, linf_step=linf_step,
                                          l2_step=l2_step, l1_normalize=not published_momentum, batch_size=size),
                       "attack options")
    store = attack_stage(source, out or paths.parts_dir(dataset) / "adversarial",
                         surrogates, config, seed=seed, device=chosen, shard_size=shard_size, shard_index=shard_index,
                         num_shards=num_shards, holdout=holdout, overwrite=overwrite, workers=workers)
    if store is None or not store.manifest.get("complete"):
        typer.echo("this process's shards are done; the last process to finish completes the store")
        return
    typer.echo(json.dumps({k: store.manifest["extra"][k] for k in store.manifest["extra"]}, indent=1))
    typer.echo(f"attacked {len(store)} samples → {store.root}")
