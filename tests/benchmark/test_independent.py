"""The independent attacker: the headline P_adv, refused when it shares a model or a training image with a surrogate."""

import json

import numpy as np
import pytest
import torch

from datacentric.benchmark.build import BenchConfig, build
from datacentric.benchmark.report import compare, markdown
from datacentric.benchmark.run import Bench, evaluate
from datacentric.core.errors import DatacentricError
from datacentric.data.samples import Samples
from datacentric.data.store import StoreInfo, write_store
from datacentric.models.saved import load_model
from tests.helpers import write_zoo_dir

CPU = torch.device("cpu")
SMALL = BenchConfig(clean_count=40, adv_count=40, cor_per_cell=1, attacks=("pgd_linf", "mi_fgsm_8"))
CLASSES = tuple(str(i) for i in range(10))


def train_store(path, x, y, index):
    info = StoreInfo("cifar10", "split", CLASSES, {"part": path.name}, 0)
    write_store(path, info, Samples.clean(x[index], y[index], index), shard_size=1000)
    return path


@pytest.fixture()
def folders(tmp_path, cifar4k, trained_models):
    x, y = cifar4k
    test = np.arange(2000, 4000)
    write_store(tmp_path / "test", StoreInfo("cifar10", "prepare", CLASSES, {"split": "test"}, 0),
                Samples.clean(x[test], y[test], test), shard_size=1000)
    subset = train_store(tmp_path / "subset", x, y, np.arange(0, 1000))
    reserve = train_store(tmp_path / "reserve", x, y, np.arange(1000, 2000))
    write_zoo_dir(tmp_path / "surrogates", {"cifar_resnet8-s100": trained_models["cifar_resnet8"]}, store=subset)
    write_zoo_dir(tmp_path / "evaluation", {"cifar_mobilenetv2_small-s200": trained_models["cifar_mobilenetv2_small"]},
                  store=subset)
    write_zoo_dir(tmp_path / "attacker", {"cifar_vgg_small-s300": trained_models["cifar_vgg_small"]}, store=reserve)
    return tmp_path


def test_the_independent_attacker_makes_the_headline_p_adv_and_the_ensemble_a_second_line(folders):
    build(folders / "test", folders / "out", folders / "evaluation", SMALL, surrogates=[folders / "surrogates"],
          device=CPU, attacker=folders / "attacker", training_zoos=[folders / "evaluation"])
    bench = json.loads((folders / "out" / "bench.json").read_text())
    assert bench["counts"]["adv-independent"] == 40 and bench["attacker"][0]["name"] == "cifar_vgg_small-s300"
    model, _ = load_model(folders / "attacker" / "cifar_vgg_small-s300" / "model.pt", CPU)
    result = evaluate(model, Bench.load(folders / "out"), CPU, whitebox_count=20)
    assert result["adv_source"] == "independent" and result["adv"] == result["adv_independent"]
    assert result["R"] == pytest.approx((result["clean"] + result["adv_independent"] + result["cor"]) / 3)
    assert result["R_evaluation"] == pytest.approx((result["clean"] + result["adv_evaluation"] + result["cor"]) / 3)
    # white-box on the attacker itself: its own P_adv is far below what the ensemble's transfer leaves it
    assert result["adv_independent"] < result["adv_evaluation"]
    text = markdown(compare({"m": {"baseline": result, "enhanced": result}}, context={}))
    assert "independent attacker" in text
    assert text.count("| ACC(P_adv), evaluation ensemble |") == 3  # baseline, enhanced and difference tables


def test_an_attacker_sharing_a_model_with_a_surrogate_is_refused(folders, trained_models):
    write_zoo_dir(folders / "shared", {"cifar_resnet8-s100": trained_models["cifar_resnet8"]},
                  store=folders / "reserve")
    with pytest.raises(DatacentricError, match="independent attacker shares models"):
        build(folders / "test", folders / "out", folders / "evaluation", SMALL, surrogates=[folders / "surrogates"],
              device=CPU, attacker=folders / "shared")


def test_an_attacker_trained_on_a_surrogate_image_is_refused(folders, cifar4k, trained_models):
    x, y = cifar4k
    overlapping = train_store(folders / "overlap", x, y, np.arange(990, 1990))  # 10 images of the subset
    write_zoo_dir(folders / "attacker2", {"cifar_vgg_small-s300": trained_models["cifar_vgg_small"]},
                  store=overlapping)
    with pytest.raises(DatacentricError, match="trained on 10 images that surrogate ensemble"):
        build(folders / "test", folders / "out", folders / "evaluation", SMALL, surrogates=[folders / "surrogates"],
              device=CPU, attacker=folders / "attacker2")


def test_the_build_command_takes_bench_config_defaults_for_options_left_out(folders, data_dir):
    from tests.cli.test_data_commands import run

    run(["benchmark", "build", "--evaluation", str(folders / "evaluation"), "--surrogates", str(folders / "surrogates"),
         "--attacker", str(folders / "attacker"), "--store", str(folders / "test"), "--out", str(folders / "cli"),
         "--clean-count", "40", "--adv-count", "8", "--cor-per-cell", "1", "--device", "cpu"], data_dir)
    config = json.loads((folders / "cli" / "bench.json").read_text())["config"]
    defaults = BenchConfig()
    assert (config["clean_count"], config["adv_count"], config["cor_per_cell"]) == (40, 8, 1)
    assert config["seed"] == defaults.seed and tuple(config["attacks"]) == defaults.attacks
    assert tuple(config["suites"]) == defaults.suites and tuple(config["severities"]) == defaults.severities
