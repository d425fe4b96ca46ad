import json

import numpy as np
import pytest
import torch

from datacentric.benchmark import metrics
from datacentric.benchmark.build import BenchConfig, build
from datacentric.benchmark.run import Bench, evaluate, seen_in_training, suite_functions
from datacentric.core.errors import DatacentricError
from datacentric.data.samples import Samples
from datacentric.data.store import StoreInfo, write_store
from tests.helpers import write_zoo_dir

CPU = torch.device("cpu")
SMALL = BenchConfig(clean_count=40, adv_count=40, cor_per_cell=1, attacks=("pgd_linf", "mi_fgsm_8"), imagecorruptions_per_cell=0)


def test_r_follows_equation_7_on_hand_made_predictions():
    labels = np.array([0, 1, 2, 3])
    clean = metrics.accuracy(np.array([0, 1, 2, 3]), labels)  # 100
    adversarial = metrics.accuracy(np.array([0, 0, 0, 0]), labels)  # 25
    corrupted = metrics.accuracy(np.array([0, 1, 0, 0]), labels)  # 50
    assert (clean, adversarial, corrupted) == (100, 25, 50)
    assert metrics.robustness_r(clean, adversarial, corrupted) == pytest.approx(175 / 3)
    assert metrics.robustness_scores({"fog": 50.0}, 80.0) == {"fog": 0.625}
    ce, mce = metrics.corruption_errors({"fog": {1: 20, 2: 40}, "snow": {1: 10}}, {"fog": {1: 30, 2: 30}, "snow": {1: 20}})
    assert ce == {"fog": 1.0, "snow": 0.5} and mce == 0.75


class ClassZero(torch.nn.Module):
    def forward(self, x):
        logits = torch.zeros(len(x), 10) + 0 * x.mean()
        logits[:, 0] = 1.0
        return logits


def test_a_model_answering_class_zero_scores_10_percent_on_each_balanced_set(bench):
    result = evaluate(ClassZero(), Bench.load(bench), CPU, whitebox_count=20)
    assert result["clean"] == pytest.approx(10) and result["adv"] == pytest.approx(10)
    assert result["clean_tta"] == pytest.approx(10)  # test-time views change nothing for a constant answer
    assert result["cor"] == pytest.approx(10, abs=1.5)  # 115 corruption cells of one image each: near-balanced
    assert result["R"] == pytest.approx((result["clean"] + result["adv"] + result["cor"]) / 3)
    assert set(result["per_attack"]) == {"pgd_linf", "mi_fgsm_8"}
    assert len(result["per_corruption"]) == 23 and set(result["per_severity"]) == {"1", "2", "3", "4", "5"}


@pytest.fixture(scope="module")
def bench(tmp_path_factory, cifar4k, module_models):
    folder = tmp_path_factory.mktemp("bench")
    x, y = cifar4k
    index = np.arange(2000, 4000)  # stands in for a test split: images the models never saw
    info = StoreInfo("cifar10", "prepare", tuple(str(i) for i in range(10)), {"split": "test"}, 0)
    write_store(folder / "test", info, Samples.clean(x[index], y[index], index), shard_size=1000)
    write_zoo_dir(folder / "evaluation", {"cifar_mobilenetv2_small-s200": module_models["cifar_mobilenetv2_small"]})
    write_zoo_dir(folder / "surrogates", {"cifar_resnet8-s0": module_models["cifar_resnet8"]})
    build(folder / "test", folder / "out", folder / "evaluation", SMALL, surrogates=[folder / "surrogates"], device=CPU)
    return folder / "out"


def test_bench_records_how_it_was_made(bench):
    manifest = json.loads((bench / "bench.json").read_text())
    assert manifest["counts"] == {"ori": 40, "adv": 40, "cor": 115}
    assert manifest["evaluation_ensemble"][0]["name"] == "cifar_mobilenetv2_small-s200"


def test_training_data_and_shared_models_are_refused(tmp_path, cifar4k, trained_models):
    x, y = cifar4k
    info = StoreInfo("cifar10", "prepare", tuple(str(i) for i in range(10)), {"split": "train"}, 0)
    write_store(tmp_path / "train", info, Samples.clean(x[:300], y[:300]), shard_size=300)
    write_zoo_dir(tmp_path / "evaluation", {"cifar_resnet8-s0": trained_models["cifar_resnet8"]})
    write_zoo_dir(tmp_path / "surrogates", {"cifar_resnet8-s0": trained_models["cifar_resnet8"],
                                            "cifar_vgg_small-s0": trained_models["cifar_vgg_small"]})
    with pytest.raises(DatacentricError, match="test data only"):
        build(tmp_path / "train", tmp_path / "out", tmp_path / "evaluation", SMALL, surrogates=[], device=CPU)
    test_info = StoreInfo("cifar10", "prepare", tuple(str(i) for i in range(10)), {"split": "test"}, 0)
    write_store(tmp_path / "test", test_info, Samples.clean(x[:300], y[:300]), shard_size=300)
    with pytest.raises(DatacentricError, match="shares models"):
        build(tmp_path / "test", tmp_path / "out", tmp_path / "evaluation", SMALL,
              surrogates=[tmp_path / "surrogates"], device=CPU)


def test_seen_corruptions_are_those_the_training_suite_applies():
    config = {"suites": ["cifar10c", "mtlat4"]}
    paper14 = {name for name, seen in seen_in_training(config["suites"], suite_functions("paper14")).items() if seen}
    assert paper14 == {"gaussian_noise", "motion_blur", "snow", "frost", "elastic", "pixelate", "jpeg",
                       "gaussian_blur", "saturate"}
    light = seen_in_training(config["suites"], suite_functions("cifar10c-light"))
    assert {name for name, seen in light.items() if not seen} == {"occlusion", "colour_distortion", "translation",
                                                                 "rotation"}


def test_the_cw_budget_comes_from_the_benchmark_config(monkeypatch, cifar4k):
    import datacentric.attacks.evaluation as evaluation
    from datacentric.benchmark.build import _attacked

    calls = []
    monkeypatch.setattr(evaluation, "cw_l2", lambda model, x, y, **kw: calls.append(kw) or x)
    part = Samples.clean(cifar4k[0][:8], cifar4k[1][:8])
    config = BenchConfig(clean_count=8, adv_count=8, attacks=("cw_l2",), cw_iterations=7, cw_search_steps=2)
    made = _attacked(part, torch.nn.Identity(), config, CPU)
    assert calls == [{"iterations": 7, "search_steps": 2}] and set(made.corruption) == {"cw_l2"}
    with pytest.raises(ValueError, match="cw_iterations"):
        BenchConfig(cw_iterations=0)


def test_a_model_is_evaluated_again_only_when_its_weights_bench_or_settings_change(bench, tmp_path, trained_models,
                                                                                   monkeypatch):
    import copy

    import datacentric.benchmark.run as run

    changed = copy.deepcopy(trained_models["cifar_resnet8"])
    write_zoo_dir(tmp_path / "a", {"cifar_resnet8-s0": trained_models["cifar_resnet8"]})
    write_zoo_dir(tmp_path / "b", {"cifar_resnet8-s0": changed})
    evaluated = []
    original = run.evaluate
    monkeypatch.setattr(run, "evaluate", lambda model, *a, **kw: evaluated.append(model) or original(model, *a, **kw))

    def results(seen=frozenset()):
        return run.evaluate_sets({"a": tmp_path / "a", "b": tmp_path / "b"}, ["cifar_resnet8-s0"], bench, CPU,
                                 seed=0, seen={"a": set(), "b": set(seen)}, reference="a")

    first = results()
    assert len(evaluated) == 2
    assert results() == first and len(evaluated) == 2  # a re-run reads the saved results
    with torch.no_grad():
        next(changed.parameters()).add_(0.01)
    write_zoo_dir(tmp_path / "b", {"cifar_resnet8-s0": changed})
    results()
    assert len(evaluated) == 3  # new weights in b: b alone again
    results(seen={"gaussian_noise"})
    assert len(evaluated) == 4  # another seen set: another P_cor split
    for saved in (tmp_path / "a").glob("*/evaluations/*.json"):
        saved.write_text("{not json")
    assert results(seen={"gaussian_noise"}) and len(evaluated) == 5  # a damaged result is made again
