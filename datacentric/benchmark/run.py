"""`benchmark run`: one model's accuracies on a built benchmark, and the white-box attacks on the model itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from datacentric import __version__
from datacentric.attacks.autoattack import autoattack_accuracy
from datacentric.attacks.evaluation import run_named
from datacentric.benchmark import metrics
from datacentric.benchmark.build import CIFAR10C_SET, EXTERNAL, INDEPENDENT, LIBRARY
from datacentric.core.device import inference_bf16
from datacentric.core.errors import DatacentricError
from datacentric.core.io import json_digest, sha256_file, write_json_atomic
from datacentric.core.progress import bar
from datacentric.corruptions.suites import IMAGECORRUPTIONS, get_suite, load_suite
from datacentric.data.samples import Samples
from datacentric.data.store import Store
from datacentric.models.predict import predict
from datacentric.models.saved import Member, load_model, training_store
from datacentric.parts.provenance import seen_corruptions

WHITEBOX_COUNT = 500  # P_ori images attacked white-box (PGD-20 and FGSM at 8/255) per model
CLEAN_TTA = "flip_translate"  # the test-time views of the report's extra clean row (models/predict.py TTA)


def suite_functions(training_suite: str) -> set[str]:
    """The corruption functions a training suite applies."""
    return {entry.corruption_type for entry in load_suite(training_suite).entries}


def seen_by_model(spec: str) -> set[str] | None:
    """The corruption functions in the training set of a model file written by `train` (read from its zoo's
    training store and the parts that store was made from); None for a model from elsewhere or a store gone."""
    store = training_store(Path(spec.split(",")[0]))
    if store is None or not (store / "manifest.json").is_file():
        return None
    return seen_corruptions(Store(store))


def seen_in_training(suites, seen: set[str]) -> dict[str, bool]:
    """Evaluation corruption name (of the named suites) → whether the training set applies the same corruption
    type (`seen`: `suite_functions` of the training suite)."""
    return {entry.name: entry.corruption_type in seen for name in suites for entry in get_suite(name).entries}


@dataclass(frozen=True)
class Bench:
    """A built benchmark, read once (checksums verified) for every model it evaluates."""
    sets: dict[str, Samples]  # ori, adv, cor and the other attacker sources of this build (never leftovers)
    config: dict  # the BenchConfig it was built with

    @classmethod
    def load(cls, bench_dir: Path) -> "Bench":
        """Every set of this build (bench.json's counts: a leftover of an earlier build is never read)."""
        made = built(bench_dir)
        return cls({name: Store(Path(bench_dir) / name).load() for name in made["counts"]}, made["config"])


def built(bench_dir: Path) -> dict:
    """bench.json: how the benchmark was built and which sets it holds."""
    try:
        return json.loads((Path(bench_dir) / "bench.json").read_text())
    except (OSError, ValueError):
        raise DatacentricError(f"{bench_dir} is not a built benchmark (no readable bench.json): run "
                               "`datacentric benchmark build` first") from None


def bench_digest(bench_dir: Path) -> str:
    """The benchmark's content identity: every built set's config and shard checksums (manifests only)."""
    manifests = {name: Store(Path(bench_dir) / name).manifest for name in built(bench_dir)["counts"]}
    return json_digest({name: [m["config_hash"], sorted(entry["sha256"] for entry in m["shards"].values())]
                        for name, m in manifests.items()})


def evaluate(model: nn.Module, bench: Bench, device: torch.device, *, whitebox_count: int = WHITEBOX_COUNT,
             seed: int = 0, seen: set[str] = frozenset()) -> dict:
    """Every metric of one model, accuracies in percent; `cor_seen`/`cor_unseen` split P_cor by whether
    the enhanced set contains the corruption function (`seen`: names of corruptions/registry.py)."""
    sets = bench.sets
    predictions = {name: predict(model, torch.from_numpy(sets[name].images), device=device).numpy()
                   for name in ("ori", "adv", "cor")}
    ori, cor = sets["ori"], sets["cor"]
    result = {"clean": metrics.accuracy(predictions["ori"], ori.labels),
              "cor": metrics.accuracy(predictions["cor"], cor.labels)}
    # test-time views for clean accuracy only (no attack differentiates through them, so none may use them)
    result["clean_tta"] = metrics.accuracy(predict(model, torch.from_numpy(ori.images), device=device,
                                                   tta=CLEAN_TTA).numpy(), ori.labels)
    # P_adv per attacker source; the headline ("adv", "R") is the independent attacker's where the benchmark has one
    sources = {"evaluation": "adv", "independent": INDEPENDENT, "external": EXTERNAL}
    for source, folder in sources.items():
        if folder not in sets:
            continue
        attacked = sets[folder]
        predicted = predictions["adv"] if source == "evaluation" else \
            predict(model, torch.from_numpy(attacked.images), device=device).numpy()
        result[f"adv_{source}"] = metrics.accuracy(predicted, attacked.labels)
        result[f"R_{source}"] = metrics.robustness_r(result["clean"], result[f"adv_{source}"], result["cor"])
        result[f"per_attack_{source}"] = metrics.grouped_accuracy(predicted, attacked.labels, attacked.corruption)
    result["adv_source"] = "independent" if "adv_independent" in result else "evaluation"
    result["adv"] = result[f"adv_{result['adv_source']}"]
    result["R"] = result[f"R_{result['adv_source']}"]
    result["per_attack"] = result[f"per_attack_{result['adv_source']}"]
    result["per_corruption"] = metrics.grouped_accuracy(predictions["cor"], cor.labels, cor.corruption)
    result["per_severity"] = metrics.grouped_accuracy(predictions["cor"], cor.labels, cor.severity.astype(str))
    result["per_corruption_severity"] = _per_corruption_severity(predictions["cor"], cor)
    seen_functions, seen = seen, seen_in_training(bench.config["suites"], seen)
    seen_mask = np.array([seen[name] for name in cor.corruption])
    result["cor_seen"] = metrics.accuracy(predictions["cor"][seen_mask], cor.labels[seen_mask])
    result["cor_unseen"] = metrics.accuracy(predictions["cor"][~seen_mask], cor.labels[~seen_mask])
    result["cor_seen_names"] = sorted({str(name) for name in cor.corruption if seen[name]})  # for the figures
    if LIBRARY in sets:  # the imagecorruptions library's set, apart from P_cor
        library, seen_types = sets[LIBRARY], seen_in_training((IMAGECORRUPTIONS.name,), frozenset(seen_functions))
        predicted = predict(model, torch.from_numpy(library.images), device=device).numpy()
        mask = np.array([seen_types[name] for name in library.corruption], dtype=bool)
        result["imagecorruptions"] = metrics.accuracy(predicted, library.labels)
        result["imagecorruptions_seen"] = metrics.accuracy(predicted[mask], library.labels[mask])
        result["imagecorruptions_unseen"] = metrics.accuracy(predicted[~mask], library.labels[~mask])
        result["per_corruption_imagecorruptions"] = metrics.grouped_accuracy(predicted, library.labels,
                                                                             library.corruption)
    if CIFAR10C_SET in sets:  # the released arrays: RobustBench's mean over 15 corruptions × 5 severities
        released = sets[CIFAR10C_SET]
        predicted = predict(model, torch.from_numpy(released.images), device=device).numpy()
        result["cifar10c"] = metrics.accuracy(predicted, released.labels)
        result["cifar10c_per_corruption_severity"] = _per_corruption_severity(predicted, released)
    count = min(whitebox_count, len(ori))
    result["whitebox"] = {}
    for attack in ("pgd_linf", "fgsm"):
        adversarial = run_named(attack, model, ori.images[:count], ori.labels[:count], ori.source_index[:count],
                                seed=seed, device=device)
        result["whitebox"][attack] = metrics.accuracy(
            predict(model, torch.from_numpy(adversarial), device=device).numpy(), ori.labels[:count])
    autoattack_count = min(bench.config.get("autoattack_count", 0), len(ori))
    if autoattack_count:  # the field's white-box protocol, on P_ori's first images
        result["autoattack_run"] = autoattack_accuracy(model, ori.images[:autoattack_count],
                                                       ori.labels[:autoattack_count],
                                                       eps=bench.config["autoattack_eps"], seed=seed, device=device)
        result["autoattack"] = result["autoattack_run"]["accuracy"]
        result["autoattack_clean"] = metrics.accuracy(predictions["ori"][:autoattack_count],
                                                      ori.labels[:autoattack_count])
    perturbations = {**{f"attack:{k}": v for k, v in result["per_attack"].items()},
                     **{f"whitebox:{k}": v for k, v in result["whitebox"].items()},
                     **{f"corruption:{k}": v for k, v in result["per_corruption"].items()}}
    result["robustness_score"] = metrics.robustness_scores(perturbations, result["clean"])
    return result


def _per_corruption_severity(predicted: np.ndarray, samples: Samples) -> dict[str, dict[str, float]]:
    return {name: metrics.grouped_accuracy(predicted[samples.corruption == name], samples.labels[samples.corruption == name],
                                           samples.severity[samples.corruption == name].astype(str))
            for name in np.unique(samples.corruption)}


def add_corruption_errors(result: dict, baseline: dict) -> None:
    """CE per corruption and mCE of `result` against `baseline` (both from `evaluate`), on P_cor and, where the
    benchmark has them, on the released CIFAR-10-C arrays (`cifar10c_ce`, `cifar10c_mce`)."""
    def errors(r: dict, key: str) -> dict[str, dict[int, float]]:
        return {c: {int(s): 100 - a for s, a in sev.items()} for c, sev in r[key].items()}

    result["ce"], result["mce"] = metrics.corruption_errors(errors(result, "per_corruption_severity"),
                                                            errors(baseline, "per_corruption_severity"))
    if "cifar10c_per_corruption_severity" in result and "cifar10c_per_corruption_severity" in baseline:
        key = "cifar10c_per_corruption_severity"
        result["cifar10c_ce"], result["cifar10c_mce"] = metrics.corruption_errors(errors(result, key),
                                                                                  errors(baseline, key))


def evaluation_key(bench: str, weights: Path, seen: set[str], seed: int, device: torch.device) -> str:
    """What one model's `evaluate` result depends on: the benchmark's content, the weights' sha256, the
    seen corruptions, the white-box seed and size, the device's arithmetic (a GPU's bf16 gives other
    last digits than a CPU's fp32) and the package version (the metrics' code)."""
    return json_digest({"bench": bench, "weights": sha256_file(weights), "seen": sorted(seen), "seed": seed,
                        "whitebox_count": WHITEBOX_COUNT, "version": __version__, "clean_tta": CLEAN_TTA,
                        "arithmetic": "bf16" if inference_bf16(device) else f"fp32-{device.type}"})


@dataclass(frozen=True)
class ModelJob:
    """One trained model to score on a benchmark: the unit the stage loop hands to a rank."""

    set_name: str  # the trained set (baseline, enhanced, an arm, ...)
    member: str
    folder: Path  # the set's zoo folder
    seen: frozenset[str]  # corruption functions its training set contains


def model_jobs(model_dirs: dict[str, Path], members: list[str], seen: dict[str, set[str]]) -> list[ModelJob]:
    return [ModelJob(name, member, Path(folder), frozenset(seen[name]))
            for name, folder in model_dirs.items() for member in members]


def _saved_result(job: ModelJob, key: str) -> tuple[Path, dict]:
    saved = Member(job.folder / job.member).evaluations / f"{key[:20]}.json"
    try:
        record = json.loads(saved.read_text())
    except (OSError, ValueError):  # none yet, or damaged: evaluate again
        record = {}
    valid = isinstance(record, dict) and record.get("key") == key and record.get("digest") == json_digest(
        record.get("result"))  # an edited or damaged result is evaluated again, never reported
    return saved, record if valid else {}


def evaluate_models(jobs: list[ModelJob], bench_dir: Path, device: torch.device, *, seed: int,
                    progress: bool = True) -> None:
    """`evaluate` every model of `jobs` whose saved result (`evaluations/<key>.json`, `evaluation_key`) is
    missing or stale, and save it beside the model: a re-run, or one resumed after a kill, evaluates only
    models whose weights, benchmark or settings changed."""
    digest, bench = bench_digest(bench_dir), None
    with bar(total=len(jobs), desc="benchmark", unit="model", enabled=progress) as progress_bar:
        for job in jobs:
            weights = Member(job.folder / job.member).model
            key = evaluation_key(digest, weights, job.seen, seed, device)
            saved, record = _saved_result(job, key)
            if not record:
                bench = bench or Bench.load(bench_dir)
                result = evaluate(load_model(weights, device)[0], bench, device, seed=seed, seen=job.seen)
                saved.parent.mkdir(exist_ok=True)
                result = json.loads(json.dumps(result))  # as a later run reads it back (a digest of the same value)
                write_json_atomic(saved, {"key": key, "digest": json_digest(result), "result": result}, sort_keys=False)
            progress_bar.update(1)


def collect_results(jobs: list[ModelJob], bench_dir: Path, device: torch.device, *, seed: int,
                    reference: str) -> dict[str, dict[str, dict]]:
    """results[set][member] from the saved results of `jobs` (every one evaluated), each with CE and mCE
    against the `reference` set's model of the same architecture."""
    digest = bench_digest(bench_dir)
    results: dict[str, dict[str, dict]] = {}
    for job in jobs:
        key = evaluation_key(digest, Member(job.folder / job.member).model, job.seen, seed, device)
        _, record = _saved_result(job, key)
        if not record:
            raise DatacentricError(f"{job.folder / job.member} has no saved benchmark result: run the benchmark stage")
        results.setdefault(job.set_name, {})[job.member] = record["result"]
    for by_member in results.values():
        for member, result in by_member.items():
            add_corruption_errors(result, results[reference][member])
    return results


def evaluate_sets(model_dirs: dict[str, Path], members: list[str], bench_dir: Path, device: torch.device, *,
                  seed: int, seen: dict[str, set[str]], reference: str) -> dict[str, dict[str, dict]]:
    """`evaluate` for every trained set (name → folder of zoo members) and member, in one process:
    results[set][member] (`evaluate_models`, then `collect_results`)."""
    jobs = model_jobs(model_dirs, members, seen)
    evaluate_models(jobs, bench_dir, device, seed=seed)
    return collect_results(jobs, bench_dir, device, seed=seed, reference=reference)
