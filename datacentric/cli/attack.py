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

ATTACK = AttackConfig()  # the defaults the options show
surrogates_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="Surrogate ensembles for the transfer attack.")
app.add_typer(surrogates_app, name="surrogates")


@surrogates_app.command("train")
def surrogates_train(
    dataset: str = typer.Option("cifar10", help="A prepared dataset's name."),
    zoo: str = typer.Option("cpu-surrogates", help="A zoo (`datacentric list zoos`)."),
    store: Optional[Path] = typer.Option(None, help="Clean training store [default: data/prepared/<dataset>/train]."),
    out: Optional[Path] = typer.Option(None, help="Output [default: data/models/<dataset>/<zoo>]."),
    recipe: str = typer.Option("cpu", help="A training recipe (`datacentric list recipes`)."),
    epochs: Optional[int] = typer.Option(None, help="Override the recipe's epochs [default: the recipe's]."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N]."),
    resume: bool = typer.Option(False, show_default="off", help="Continue each member from its last epoch checkpoint."),
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
    store: Optional[Path] = typer.Option(None, help="Input store [default: data/splits/<dataset>/adversarial]."),
    out: Optional[Path] = typer.Option(None, help="Output store [default: data/parts/<dataset>/adversarial]."),
    iterations: int = typer.Option(ATTACK.iterations, callback=at_least(1), help="Attack iterations (paper 004)."),
    combine: str = typer.Option(ATTACK.combine, help="sum (paper 004: both norms, added) | linf | l2 | split."),
    linf_eps: float = typer.Option(ATTACK.linf_eps, show_default="8/255", help="L∞ budget, [0, 1] pixel units."),
    l2_eps: float = typer.Option(ATTACK.l2_eps, help="L2 budget over all C·H·W values, [0, 1] units."),
    linf_step: Optional[float] = typer.Option(None, help="L∞ step [default: max(2/255, 2.5·eps/iterations)]."),
    l2_step: Optional[float] = typer.Option(None, help="L2 step [default: max(0.025, 2.5·eps/iterations)]."),
    loss: str = typer.Option(ATTACK.loss, help="logit (−z_y, paper 004) | ce | cw."),
    target: str = typer.Option(ATTACK.target, help="none | least_likely | random."),
    momentum: float = typer.Option(ATTACK.momentum, help="MI momentum μ (0: none)."),
    published_momentum: bool = typer.Option(False, "--published-momentum", show_default="off", help="Un-normalised gradient sum, as "
                                            "the published code (canonical MI-FGSM normalises by the L1 norm)."),
    ti_size: int = typer.Option(ATTACK.ti_size, help="TI kernel side in pixels at 32 px (0: no TI; published: 5)."),
    ti_sigma: float = typer.Option(ATTACK.ti_sigma, help="TI kernel sigma in pixels at 32 px (published: 3)."),
    di_probability: float = typer.Option(ATTACK.di_probability, help="DI probability per sample and step "
                                         "(0: no DI)."),
    batch_size: str = typer.Option("auto", help="Images per batch, or auto (fits the device)."),
    seed: int = typer.Option(0, callback=at_least(0), help="Global seed: each sample's randomness comes from (seed, source index)."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N] (under torchrun: cuda:LOCAL_RANK)."),
    shard_size: int = typer.Option(PART_SHARD_SIZE, callback=at_least(1), help="Samples per shard."),
    shard_index: Optional[int] = typer.Option(None, help="This process's share [default: torchrun/Slurm's rank, "
                                              "or 0]."),
    num_shards: Optional[int] = typer.Option(None, help="Number of shares [default: torchrun/Slurm's world size, "
                                             "or 1]."),
    workers: int = typer.Option(1, callback=at_least(1), help="Local worker processes (CPU)."),
    holdout: Optional[Path] = typer.Option(None, help="A trained zoo never used here: report transfer success "
                                           "[default: none]."),
    overwrite: bool = typer.Option(False, show_default="off", help="Replace a store made with another config."),
) -> None:
    """Replace the split's adversarial part with transfer adversarial examples (ensemble MI/TI/DI/logit attack).
    The defaults are paper 004's published attack (`AttackConfig`, a GPU's work); the CPU default pipeline's
    [attack] is smaller."""
    chosen = devices.resolve(device)
    source = store or paths.split_dir(dataset) / "adversarial"
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
    made = attack_stage(source, out or paths.parts_dir(dataset) / "adversarial",
                        surrogates, config, seed=seed, device=chosen, shard_size=shard_size, shard_index=shard_index,
                        num_shards=num_shards, holdout=holdout, overwrite=overwrite, workers=workers)
    if made is None or not made.manifest.get("complete"):
        typer.echo("this process's shards are done; the last process to finish completes the store")
        return
    typer.echo(json.dumps({k: made.manifest["extra"][k] for k in made.manifest["extra"]}, indent=1))
    typer.echo(f"attacked {len(made)} samples → {made.root}")
