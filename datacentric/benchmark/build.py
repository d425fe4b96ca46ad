"""`benchmark build`: the evaluation sets P_ori, P_adv and P_cor, from the test split only, as stores.

P_adv comes from an evaluation ensemble that shares no model with any surrogate ensemble used to
make training data (and, when the config names external checkpoints, a second P_adv from those); P_cor
covers the `cifar10c` and `mtlat4` suites at severities 1–5. Each set is
a store (so the build resumes and is cached), and `bench.json` records how it was made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from datacentric.attacks.autoattack import require_autoattack
from datacentric.attacks.evaluation import CW_ITERATIONS, CW_SEARCH_STEPS, NAMED, run_named
from datacentric.benchmark import cifar10c
from datacentric.core.errors import DatacentricError
from datacentric.core.io import write_json_atomic
from datacentric.core.paths import portable
from datacentric.corruptions.apply import SuiteRunner
from datacentric.corruptions.suites import IMAGECORRUPTIONS, get_suite
from datacentric.data.samples import Samples, distances
from datacentric.data.split import stratified_order
from datacentric.data.store import Store, StoreInfo, shard_size_for, write_store
from datacentric.models.ensemble import Ensemble
from datacentric.models.loading import describe, load_any
from datacentric.models.predict import predict
from datacentric.models.saved import load_ensemble, member_identities, training_images, zoo_identity

BENCH_SETS = ("ori", "adv", "cor")
INDEPENDENT = "adv-independent"  # P_adv from the independent attacker (the headline), when the pipeline has one
EXTERNAL = "adv-external"  # P_adv from external attackers (`evaluation_models`), when the config names any
LIBRARY = "cor-imagecorruptions"  # the imagecorruptions library's corruptions, reported apart from P_cor
CIFAR10C_SET = "cifar10c"  # the released CIFAR-10-C arrays, when the config names their folder


@dataclass(frozen=True)
class BenchConfig:
    """Sizes and contents of the evaluation sets (counts are images)."""

    clean_count: int = 1000  # P_ori
    adv_count: int = 1000  # P_adv, split evenly over the attacks
    attacks: tuple[str, ...] = ("pgd_linf", "mi_fgsm_8", "mi_fgsm_16", "cw_l2")
    cor_per_cell: int = 16  # P_cor images per (corruption, severity)
    suites: tuple[str, ...] = ("cifar10c", "mtlat4")
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    seed: int = 0
    evaluation_models: tuple[str, ...] = ()  # external attackers (models/external.py specs): a second P_adv
    cw_iterations: int = CW_ITERATIONS  # cw_l2's Adam steps per binary-search step (CPU-sized; a GPU affords more)
    cw_search_steps: int = CW_SEARCH_STEPS  # cw_l2's binary-search steps over the constant c
    imagecorruptions_per_cell: int = 0  # images per (corruption, severity) of the imagecorruptions library's set; 0: none
    autoattack_count: int = 0  # P_ori images each model meets AutoAttack on (standard, white-box); 0: none
    autoattack_eps: float = 8 / 255  # its L∞ budget (RobustBench's CIFAR-10 L∞ threat model)
    cifar10c_dir: str = ""  # a folder of the released CIFAR-10-C arrays (<corruption>.npy, labels.npy); "": none
    cifar10c_count: int = 1000  # test images per (corruption, severity) taken from them (10000: all)

    def __post_init__(self):
        object.__setattr__(self, "attacks", tuple(self.attacks))
        object.__setattr__(self, "suites", tuple(self.suites))
        object.__setattr__(self, "severities", tuple(self.severities))
        object.__setattr__(self, "evaluation_models", tuple(self.evaluation_models))
        if self.clean_count < 1 or self.adv_count < 1 or self.cor_per_cell < 1 or self.seed < 0:
            raise ValueError("clean_count ≥ 1, adv_count ≥ 1, cor_per_cell ≥ 1 and seed ≥ 0 are required (R needs "
                             "P_ori, P_adv and P_cor)")
        missing = [spec for spec in self.evaluation_models if not Path(spec.split(",")[0]).is_file()]
        if missing:
            raise ValueError(f"evaluation model {missing[0].split(',')[0]} does not exist")
        if min(self.imagecorruptions_per_cell, self.autoattack_count) < 0 or self.autoattack_count > self.clean_count:
            raise ValueError("imagecorruptions_per_cell ≥ 0 and 0 ≤ autoattack_count ≤ clean_count are required "
                             "(AutoAttack runs on P_ori's first images)")
        if self.autoattack_count:
            require_autoattack()
        if not 0 < self.autoattack_eps <= 1 or not 1 <= self.cifar10c_count <= 10000:
            raise ValueError("autoattack_eps lies in (0, 1] ([0, 1] pixel units) and cifar10c_count in 1..10000")
        if self.cifar10c_dir:
            cifar10c.check_folder(Path(self.cifar10c_dir))
        if self.cw_iterations < 1 or self.cw_search_steps < 1:
            raise ValueError("cw_iterations and cw_search_steps must be at least 1")
        unknown = [a for a in self.attacks if a not in NAMED and a != "cw_l2"]
        if unknown or not self.attacks:
            raise ValueError(f"unknown attacks {unknown}; known: {', '.join([*NAMED, 'cw_l2'])}")
        for name in self.suites:
            try:
                get_suite(name)
            except DatacentricError as error:
                raise ValueError(str(error)) from None
        if not set(self.severities) <= {1, 2, 3, 4, 5}:
            raise ValueError("severities lie in 1..5")


def check_size(config: BenchConfig, test_store: Path) -> int:
    """The test images the benchmark takes (P_ori + P_adv + P_cor + the imagecorruptions set), or one error line
    when the split is smaller: a pipeline checks this right after `prepare`, before any work that would be lost."""
    library = len(IMAGECORRUPTIONS.entries) * len(config.severities) * config.imagecorruptions_per_cell
    needed = config.clean_count + config.adv_count + _cells(config) * config.cor_per_cell + library
    available = len(Store(test_store))
    if needed > available:
        raise DatacentricError(f"the benchmark needs {needed} test images (clean_count + adv_count + "
                               f"{_cells(config)} corruption cells × cor_per_cell + {library} for the imagecorruptions "
                               f"set), {test_store} has {available}")
    return needed


def require_test_split(store: Store) -> None:
    manifest = store.manifest
    if manifest["stage"] != "prepare" or manifest["config"].get("split") != "test":
        raise DatacentricError(f"{store.root} is not a prepared test split: a benchmark is built from test data only, "
                               "never from data that overlaps a training split")


def require_disjoint(evaluation: Path, surrogates: list[Path], *, what: str = "the evaluation ensemble") -> None:
    ours = member_identities(evaluation)
    for folder in surrogates:
        shared = ours & member_identities(folder)
        if shared or evaluation.resolve() == folder.resolve():
            raise DatacentricError(f"{what} shares models with surrogate ensemble {folder}: "
                                   f"{sorted(shared)}; train a separate one")


def require_independent(attacker: Path, surrogates: list[Path]) -> None:
    """The independent attacker shares no (architecture, seed) and no training image with any surrogate."""
    require_disjoint(attacker, surrogates, what="the independent attacker")
    ours = training_images(attacker)
    for folder in surrogates:
        shared = np.intersect1d(ours, training_images(folder))
        if len(shared):
            raise DatacentricError(f"the independent attacker was trained on {len(shared)} images that surrogate "
                                   f"ensemble {folder} was trained on (e.g. source index {int(shared[0])}); train it on "
                                   "images outside every subset ([attacker] reserve)")


def build(test_store: Path, out_dir: Path, evaluation: Path, config: BenchConfig, *, surrogates: list[Path],
          device: torch.device, attacker: Path | None = None, training_zoos: list[Path] = (),
          overwrite: bool = False, replace_stale: bool = False, progress: bool = True) -> dict:
    """P_ori, P_adv (from the evaluation ensemble; also from `attacker`, the independent attacker, and
    from external models where given), P_cor; each a store under `out_dir`, and `bench.json`.
    The attacker must share no model and no training image with the surrogates and `training_zoos`
    (other zoos trained on the pipeline's subset)."""
    source = Store(test_store)
    require_test_split(source)
    require_disjoint(evaluation, surrogates)
    if attacker is not None:
        require_independent(attacker, [*surrogates, *training_zoos])
    samples = source.load()
    needed = check_size(config, test_store)
    order = stratified_order(samples.labels, np.random.default_rng(config.seed))
    ensemble, members = load_ensemble(evaluation, device)
    # What each set is made from, by content: the test split, the config, and for an attacked set its attackers'
    # weights (zoo_identity holds their sha256), so retrained attackers remake exactly the sets they attacked.
    made_from = {"test_store": portable(test_store), "test_hash": source.manifest["config_hash"],
                 "config": dataclasses.asdict(config)}
    attacked_by = {"ori": {}, "cor": {}, "adv": {"evaluation_ensemble": zoo_identity(evaluation)}}
    manifest = {**made_from, "evaluation_ensemble": members, "evaluation_dir": portable(evaluation),
                "surrogates_checked": [portable(s) for s in surrogates]}
    info = lambda name: StoreInfo(source.manifest["dataset"], f"benchmark-{name}", tuple(source.class_names),  # noqa: E731
                                  {**made_from, **attacked_by[name]}, config.seed)

    def write(name: str, store_info: StoreInfo, made: Samples) -> None:
        write_store(out_dir / name, store_info, made, shard_size=shard_size_for(made.image_shape), overwrite=overwrite,
                    replace_stale=replace_stale, progress=False)

    def make(name: str, store_info: StoreInfo, samples: Callable[[], Samples]) -> None:
        """A set made again only when missing, made from other inputs, or damaged (`_complete`)."""
        if not _complete(out_dir / name, store_info):
            write(name, store_info, samples())

    clean_part = samples.select(order[: config.clean_count])
    write("ori", info("ori"), clean_part)
    adv_part = samples.select(order[config.clean_count : config.clean_count + config.adv_count])
    make("adv", info("adv"), lambda: _attacked(adv_part, ensemble, config, device))
    cor_end = config.clean_count + config.adv_count + _cells(config) * config.cor_per_cell
    cor_part = samples.select(order[config.clean_count + config.adv_count : cor_end])
    make("cor", info("cor"), lambda: _corrupted(cor_part, config.suites, config))
    made = list(BENCH_SETS)
    if config.imagecorruptions_per_cell:  # the library's corruptions, on images of their own
        library_part = samples.select(order[cor_end:needed])
        library_info = StoreInfo(source.manifest["dataset"], f"benchmark-{LIBRARY}", tuple(source.class_names),
                                 made_from, config.seed)
        make(LIBRARY, library_info, lambda: _corrupted(library_part, (IMAGECORRUPTIONS.name,), config,
                                                       per_cell=config.imagecorruptions_per_cell))
        made.append(LIBRARY)
    if config.cifar10c_dir:  # the released arrays: the same test images at every corruption and severity
        released = cifar10c.read(Path(config.cifar10c_dir), config.cifar10c_count, samples, seed=config.seed)
        released_info = StoreInfo(source.manifest["dataset"], f"benchmark-{CIFAR10C_SET}", tuple(source.class_names),
                                  {**made_from, "arrays": cifar10c.digest(released)}, config.seed)
        make(CIFAR10C_SET, released_info, lambda: released)
        made.append(CIFAR10C_SET)
    if attacker is not None:  # the same images, attacked the same ways by the independent attacker
        independent, attacker_members = load_ensemble(attacker, device)
        for member, model in zip(attacker_members, independent.models):  # how well trained: P_ori accuracy
            member["clean_accuracy"] = _accuracy(model, clean_part, device)
        independent_info = StoreInfo(source.manifest["dataset"], f"benchmark-{INDEPENDENT}", tuple(source.class_names),
                                     {**made_from, "attacker": zoo_identity(attacker)}, config.seed)
        make(INDEPENDENT, independent_info, lambda: _attacked(adv_part, independent, config, device))
        manifest["attacker"] = attacker_members
    if config.evaluation_models:  # the same images, attacked the same ways by the external models

        external = {**made_from, "external": [describe(spec) for spec in config.evaluation_models]}
        external_info = StoreInfo(source.manifest["dataset"], "benchmark-adv-external", tuple(source.class_names),
                                  external, config.seed)
        make(EXTERNAL, external_info, lambda: _attacked(
            adv_part, Ensemble([load_any(spec, device) for spec in config.evaluation_models]), config, device))
        manifest["external"] = external["external"]
    made += ([INDEPENDENT] if attacker is not None else []) + ([EXTERNAL] if config.evaluation_models else [])
    manifest["counts"] = {name: len(Store(out_dir / name)) for name in made}
    write_json_atomic(out_dir / "bench.json", manifest)
    return manifest


def _accuracy(model, part: Samples, device: torch.device) -> float:
    predicted = predict(model, torch.from_numpy(part.images), device=device).numpy()
    return float((predicted == part.labels).mean() * 100)


def _cells(config: BenchConfig) -> int:
    return sum(len(get_suite(name).entries) for name in config.suites) * len(config.severities)


def _complete(path: Path, info: StoreInfo) -> bool:
    """Made before from the same inputs, and every shard still matches its checksum (a damaged one is dropped
    from the manifest, and the set is made again)."""
    try:
        store = Store(path)
    except DatacentricError:
        return False
    return store.manifest["config_hash"] == info.config_hash and \
        all(store.has_shard(i) for i in range(store.manifest["num_shards"]))


def _attacked(part: Samples, ensemble, config: BenchConfig, device: torch.device) -> Samples:
    """Each attack on an equal share of the images, transferred from the evaluation ensemble."""
    chunks = np.array_split(np.arange(len(part)), len(config.attacks))
    images, names = np.empty_like(part.images), np.empty(len(part), dtype="<U32")
    for attack, chunk in zip(config.attacks, chunks):
        images[chunk] = run_named(attack, ensemble, part.images[chunk], part.labels[chunk], part.source_index[chunk],
                                  seed=config.seed, device=device, cw_iterations=config.cw_iterations,
                                  cw_search_steps=config.cw_search_steps)
        names[chunk] = attack
    l2, linf = distances(part.images, images)
    return Samples(images, part.labels, part.source_index, np.full(len(part), "adversarial"), names,
                   np.zeros(len(part), np.int8), l2, linf)


def _corrupted(part: Samples, suites: tuple[str, ...], config: BenchConfig, *, per_cell: int | None = None) -> Samples:
    """`per_cell` (default `cor_per_cell`) distinct images for every (corruption, severity) of the suites."""
    per_cell = per_cell or config.cor_per_cell
    names, severities = [], []
    for suite_name in suites:
        for entry in get_suite(suite_name).entries:
            for severity in config.severities:
                names += [entry.name] * per_cell
                severities += [severity] * per_cell
    names, severities = np.array(names), np.array(severities, np.int8)
    images = np.empty_like(part.images)
    offset = 0
    for suite_name in suites:
        runner = SuiteRunner(get_suite(suite_name))
        size = len(get_suite(suite_name).entries) * len(config.severities) * per_cell
        rows = slice(offset, offset + size)
        images[rows] = runner.corrupt_assigned(part.images[rows], part.source_index[rows], names[rows],
                                               severities[rows], config.seed)
        offset += size
    l2, linf = distances(part.images, images)
    return Samples(images, part.labels, part.source_index, np.full(len(part), "corrupted"), names, severities, l2, linf)
