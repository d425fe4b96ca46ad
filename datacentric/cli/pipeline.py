"""Pipeline and benchmark commands: enhance, benchmark build, benchmark run, card."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional

import typer

from datacentric.benchmark import compare_report, report
from datacentric.benchmark.build import BenchConfig, build
from datacentric.benchmark.card import write_card
from datacentric.benchmark.run import Bench, add_corruption_errors, built, evaluate, seen_by_model, suite_functions
from datacentric.cli import app, at_least
from datacentric.core import device as devices
from datacentric.core import paths
from datacentric.core.io import write_json_atomic
from datacentric.core.tomlconfig import from_dict
from datacentric.models.loading import load_any
from datacentric.pipeline.compare import load_compare
from datacentric.pipeline.compare import run as run_comparison
from datacentric.pipeline.config import load_pipeline, with_seed
from datacentric.pipeline.runner import STAGES
from datacentric.pipeline.runner import run as run_pipeline

benchmark_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True, help="The robustness benchmark (test split only).")
app.add_typer(benchmark_app, name="benchmark")


SET_HELP = ("Override one key of the file: section.key=value, the value read as TOML (repeatable; recorded in "
            "the run's pipeline.json) [default: none].")


@app.command(help=f"""Run the whole pipeline, resuming whatever is already done.

Stages, in order (what --from and --until take): {' → '.join(STAGES)}.""")
def enhance(
    pipeline: Path = typer.Argument(..., metavar="PIPELINE", help="A pipeline TOML: your own (`datacentric init NAME` copies one) or a "
                                    "packaged one (`datacentric list pipelines`)."),
    start: Optional[str] = typer.Option(None, "--from", help=f"First stage to run: {', '.join(STAGES)} [default: "
                                        f"{STAGES[0]}]."),
    until: Optional[str] = typer.Option(None, help=f"Last stage to run (one of the same) [default: {STAGES[-1]}]."),
    seed: Optional[int] = typer.Option(None, callback=at_least(0), help="Override the pipeline's seed; the run goes "
                                       "to <name>-seed<N> [default: the pipeline's]."),
    set_: List[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP),
    force: bool = typer.Option(False, "--force", show_default="off", help="Remake split folders made with another config (and so "
                               "everything made from them)."),
) -> None:
    config = load_pipeline(pipeline, tuple(set_))
    run_pipeline(config if seed is None else with_seed(config, seed), start=start, until=until, force=force)


@app.command()
def compare(
    config: Path = typer.Argument(..., metavar="CONFIG", help="A comparison TOML (pipelines/compare-cifar10.toml)."),
    start: Optional[str] = typer.Option(None, "--from", help="First stage to run: data, train, benchmark, report "
                                        "[default: data]."),
    until: Optional[str] = typer.Option(None, help="Last stage to run [default: report]."),
    seed: Optional[int] = typer.Option(None, callback=at_least(0), help="Override the seed; the run goes to "
                                       "<name>-seed<N> [default: the file's]."),
    set_: List[str] = typer.Option([], "--set", metavar="KEY=VALUE", help=SET_HELP.replace("pipeline.json", "config.json")),
) -> None:
    """Every arm (data-centric sets and training methods) on one subset, target zoo and benchmark, with cost."""
    loaded = load_compare(config, tuple(set_))
    run_comparison(loaded if seed is None else dataclasses.replace(loaded, seed=seed), start=start, until=until)


@app.command()
def seeds(
    runs: List[Path] = typer.Argument(..., metavar="RUNS", help="Run folders of one pipeline or comparison (data/runs/cifar10, "
                                      "…-seed1, …)."),
) -> None:
    """Mean and range over several runs (seeds): enhanced − baseline per architecture, or per comparison arm."""
    is_comparison = all((Path(r) / "compare.json").is_file() for r in runs)
    typer.echo((compare_report if is_comparison else report).seeds_table(list(runs)))


@benchmark_app.command("build")
def benchmark_build(
    evaluation: Path = typer.Option(..., help="A trained zoo folder: the evaluation ensemble (clean-trained)."),
    surrogates: List[Path] = typer.Option([], help="Surrogate zoo folders it must not share a model with "
                                          "(repeatable) [default: none]."),
    attacker: Optional[Path] = typer.Option(None, help="A trained zoo folder: the independent attacker (the "
                                            "headline P_adv); it must share no model and no training image with "
                                            "the surrogates [default: none, P_adv from the evaluation ensemble]."),
    dataset: str = typer.Option("cifar10", help="A prepared dataset (its test split is used)."),
    store: Optional[Path] = typer.Option(None, help="The test store [default: data/prepared/<dataset>/test]."),
    out: Optional[Path] = typer.Option(None, help="Output [default: data/bench/<dataset>]."),
    clean_count: int = typer.Option(BenchConfig.clean_count, help="P_ori images."),
    adv_count: int = typer.Option(BenchConfig.adv_count, help="P_adv images, split over the attacks."),
    cor_per_cell: int = typer.Option(BenchConfig.cor_per_cell, help="P_cor images per corruption and severity."),
    autoattack_count: int = typer.Option(BenchConfig.autoattack_count, help="P_ori images each model meets "
                                         "AutoAttack on (standard version; needs the autoattack extra)."),
    cifar10c_dir: Optional[Path] = typer.Option(None, help="A folder of the released CIFAR-10-C arrays "
                                                "[default: none]."),
    imagecorruptions_per_cell: int = typer.Option(BenchConfig.imagecorruptions_per_cell, help="Images per "
                                                  "corruption and severity of the imagecorruptions library's set "
                                                  "(0: none)."),
    evaluation_model: List[str] = typer.Option([], help="An external attacker for a second P_adv (repeatable): "
                                               "PATH[,arch=NAME][,mean=R/G/B][,std=R/G/B][,prefix=P] of a timm "
                                               "checkpoint, torchvision state dict or RobustBench-style file "
                                               "[default: none]."),
    seed: int = typer.Option(BenchConfig.seed, callback=at_least(0), help="Which test images."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N]."),
) -> None:
    """Build P_ori, P_adv and P_cor from the test split (cached: a re-run reuses them)."""
    given = dict(clean_count=clean_count, adv_count=adv_count, cor_per_cell=cor_per_cell, seed=seed,
                 autoattack_count=autoattack_count, cifar10c_dir=str(cifar10c_dir) if cifar10c_dir else None,
                 imagecorruptions_per_cell=imagecorruptions_per_cell)
    config = from_dict(BenchConfig, dict({k: v for k, v in given.items() if v is not None},
                                         evaluation_models=tuple(evaluation_model)), "benchmark options")
    target = out or paths.data_dir() / "bench" / dataset
    manifest = build(store or paths.prepared_dir(dataset) / "test", target, evaluation, config,
                     surrogates=list(surrogates), device=devices.resolve(device), attacker=attacker)
    typer.echo(f"benchmark {manifest['counts']} → {target}")


@benchmark_app.command("run")
def benchmark_run(
    models: List[str] = typer.Argument(..., metavar="MODELS", help="Model files: model.pt files written by `train`, or checkpoints from "
                                       "elsewhere as PATH[,arch=NAME][,mean=R/G/B][,std=R/G/B][,prefix=P] "
                                       "(`datacentric models`)."),
    bench: Path = typer.Option(..., help="A built benchmark directory."),
    out: Path = typer.Option(..., help="Report directory."),
    baseline: Optional[str] = typer.Option(None, help="A baseline model (file spec) for CE and mCE (paper 003, eq. 1) "
                                           "[default: none]."),
    training_suite: Optional[str] = typer.Option(None, help="The corruption suite the models' training set contains: "
                                                 "splits P_cor into seen and unseen corruptions [default: read from "
                                                 "each model's own training store; none for a model from "
                                                 "elsewhere]."),
    device: str = typer.Option("auto", help="auto, cpu or cuda[:N]."),
) -> None:
    """Accuracy on P_ori, P_adv, P_cor, R, per corruption/severity/attack, white-box PGD-20 and FGSM."""
    chosen = devices.resolve(device)
    given = suite_functions(training_suite) if training_suite else None  # an unknown suite fails before any model
    seen_of = {spec: given if given is not None else seen_by_model(spec) for spec in ([baseline] if baseline else []) +
               list(models)}
    built(bench)  # a benchmark that was never built: one line, before any model loads
    named = [load_any(spec, chosen) for spec in ([baseline] if baseline else []) + list(models)]  # a bad one: no work
    for spec in (spec for spec, found in seen_of.items() if found is None):
        typer.echo(f"note: {spec}: its training set is not known, so every corruption counts as unseen "
                   "(--training-suite names its corruption suite)", err=True)
    seen_of = {spec: found or set() for spec, found in seen_of.items()}
    loaded = Bench.load(bench)  # read once for every model
    base = evaluate(named.pop(0), loaded, chosen, seen=seen_of[baseline]) if baseline else None
    results = {}
    for path, model in zip(models, named):
        result = evaluate(model, loaded, chosen, seen=seen_of[path])
        if base is not None:
            add_corruption_errors(result, base)
        results[str(path)] = result
        others = "".join(f"  adv ({source}) {result[f'adv_{source}']:.2f}" for source in ("evaluation", "external")
                         if f"adv_{source}" in result and source != result["adv_source"])
        extra = "".join(f"  {label} {result[key]:.2f}" for key, label in (
            ("autoattack", "AutoAttack"), ("imagecorruptions", "imagecorruptions"), ("cifar10c", "CIFAR-10-C"),
            ("cifar10c_mce", "CIFAR-10-C mCE")) if key in result)
        typer.echo(f"{path}: clean {result['clean']:.2f}  adv ({result['adv_source']}) {result['adv']:.2f}  "
                   f"cor {result['cor']:.2f}  R {result['R']:.2f}{others}{extra}")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "results.json", results, sort_keys=False)


@app.command()
def card(
    store: Path = typer.Option(..., help="A store (typically an enhanced one)."),
    out: Path = typer.Option(..., help="Output directory for card.md and its figures."),
) -> None:
    """A dataset card: counts, norm histograms, example grid, transfer success, provenance."""
    write_card(store, out)
    typer.echo(f"card → {out / 'card.md'}")
