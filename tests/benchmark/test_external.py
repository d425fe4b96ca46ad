"""External attackers: a timm checkpoint, a torchvision state dict and a RobustBench-style file, each written
here, loaded through the adapter (same logits as the model it came from) and used as a second P_adv."""

import dataclasses
import json

import numpy as np
import pytest
import safetensors.torch
import torch
import torchvision

from datacentric.benchmark.build import EXTERNAL, build
from datacentric.benchmark.run import Bench, evaluate
from datacentric.core.errors import DatacentricError
from datacentric.data.store import Store
from datacentric.models.architectures import Normalised
from datacentric.models.external import load_external
from datacentric.models.predict import predict
from datacentric.models.saved import load_ensemble
from datacentric.training.config import load_recipe, load_zoo
from datacentric.training.stage import train_zoo
from tests.benchmark.test_benchmark import CPU, SMALL, bench  # noqa: F401  (the bench fixture's inputs)
from tests.cli.test_data_commands import run
from tests.helpers import write_zoo_dir

MEAN, STD = (0.49, 0.48, 0.45), (0.25, 0.24, 0.26)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, module_models):
    folder = tmp_path_factory.mktemp("external")
    ours = module_models["cifar_resnet8"]
    torch.save({"arch": "cifar_resnet8", "epoch": 3, "state_dict": ours.state_dict()}, folder / "timm.pth.tar")
    torch.manual_seed(0)
    resnet = torchvision.models.resnet18(num_classes=10).eval()
    torch.save(resnet.state_dict(), folder / "torchvision.pth")
    wrapped = {f"module.{k}": v for k, v in module_models["cifar_vgg_small"].state_dict().items()}
    torch.save({"state_dict": wrapped, "epoch": 99}, folder / "robustbench.pt")
    safetensors.torch.save_file(resnet.state_dict(), folder / "resnet18.safetensors")
    return folder, {"timm": ours, "torchvision": resnet, "robustbench": module_models["cifar_vgg_small"],
                    "safetensors": resnet}


def specs(folder):
    return {"timm": f"{folder}/timm.pth.tar",
            "torchvision": f"{folder}/torchvision.pth,arch=torchvision.resnet18,mean={'/'.join(map(str, MEAN))},"
                           f"std={'/'.join(map(str, STD))}",
            "robustbench": f"{folder}/robustbench.pt,arch=cifar_vgg_small",
            "safetensors": f"{folder}/resnet18.safetensors,arch=torchvision:resnet18,mean={'/'.join(map(str, MEAN))},"
                           f"std={'/'.join(map(str, STD))}"}


@pytest.mark.parametrize("kind", ["timm", "torchvision", "robustbench", "safetensors"])
def test_each_checkpoint_format_loads_as_the_model_it_came_from(checkpoints, kind):
    folder, originals = checkpoints
    model = load_external(specs(folder)[kind])
    images = torch.rand(4, 3, 32, 32)
    expected = originals[kind].eval()
    with torch.no_grad():
        reference = expected((images - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)) \
            if kind in ("torchvision", "safetensors") else expected(images)
        torch.testing.assert_close(model(images), reference)


def test_bad_specs_are_one_clear_error(checkpoints):
    folder, _ = checkpoints
    with pytest.raises(DatacentricError, match="arch="):
        load_external(f"{folder}/torchvision.pth")
    with pytest.raises(DatacentricError, match="does not fit"):
        load_external(f"{folder}/robustbench.pt,arch=cifar_resnet8")
    with pytest.raises(DatacentricError, match="settings are"):
        load_external(f"{folder}/timm.pth.tar,colour=blue")


def test_external_attackers_make_a_second_p_adv_that_the_report_uses(tmp_path, checkpoints, bench):  # noqa: F811
    folder, _ = checkpoints
    config = dataclasses.replace(SMALL, evaluation_models=(specs(folder)["timm"], specs(folder)["robustbench"]))
    source = bench.parent
    manifest = build(source / "test", tmp_path / "bench", source / "evaluation", config,
                     surrogates=[source / "surrogates"], device=CPU)
    assert [e["spec"] for e in manifest["external"]] == list(config.evaluation_models)
    attacked, clean = Store(tmp_path / "bench" / EXTERNAL).load(), Store(tmp_path / "bench" / "adv").load()
    assert np.array_equal(attacked.source_index, clean.source_index)  # the same images, other attackers
    assert (attacked.linf > 0).mean() > 0.9 and not np.array_equal(attacked.images, clean.images)
    result = evaluate(load_external(specs(folder)["timm"]), Bench.load(tmp_path / "bench"), CPU, whitebox_count=10)
    assert result["adv_external"] < result["clean"]  # white-box for the timm model, which is one of the attackers
    assert result["R_external"] == pytest.approx((result["clean"] + result["adv_external"] + result["cor"]) / 3)
    assert json.loads((tmp_path / "bench" / "bench.json").read_text())["counts"][EXTERNAL] == 40


def test_benchmark_run_and_evaluate_measure_a_checkpoint_of_each_format(tmp_path, checkpoints, bench,  # noqa: F811
                                                                       data_dir, module_models):
    """`benchmark run` and `evaluate-clean` take every accepted format, and a datacentric model file too."""
    folder, originals = checkpoints
    write_zoo_dir(tmp_path / "zoo", {"cifar_resnet8-s0": module_models["cifar_resnet8"]})
    named = {**specs(folder), "datacentric": str(tmp_path / "zoo" / "cifar_resnet8-s0" / "model.pt")}
    result = run(["benchmark", "run", *named.values(), "--bench", str(bench), "--out", str(tmp_path / "report"),
                  "--device", "cpu"], data_dir)
    measured = json.loads((tmp_path / "report" / "results.json").read_text())
    assert list(measured) == list(named.values())
    assert measured[named["timm"]]["clean"] == measured[named["datacentric"]]["clean"]  # the same weights
    test_store = bench.parent / "test"
    for kind, spec in named.items():
        assert {"clean", "adv", "cor", "whitebox"} <= set(measured[spec]), kind
        result = run(["evaluate-clean", spec, "--store", str(test_store), "--device", "cpu"], data_dir)
        reported = json.loads(result.stdout.strip().splitlines()[-1])
        model = originals.get(kind, module_models["cifar_resnet8"])
        images, labels = Store(test_store).load_images_labels()[:2]
        if kind in ("torchvision", "safetensors"):
            model = Normalised(model, list(MEAN), list(STD))
        expected = float((predict(model.eval(), torch.from_numpy(images)).numpy() == labels).mean() * 100)
        assert reported["accuracy"] == pytest.approx(expected), kind


def test_a_checkpoint_is_a_zoo_member_used_as_it_is(tmp_path, checkpoints, bench, module_models):  # noqa: F811
    """A checkpoint from elsewhere joins a zoo (surrogates, evaluation ensemble, attacker) untrained: copied into
    the zoo folder with its recipe, it reloads with the same logits and serves as the evaluation ensemble."""
    folder, originals = checkpoints
    source = bench.parent
    members = load_zoo([specs(folder)["torchvision"], {"checkpoint": specs(folder)["robustbench"], "weight": 2.0}])
    assert [m.name for m in members] == ["checkpoint-torchvision", "checkpoint-robustbench"]
    recipe = load_recipe("cpu", epochs=1)
    train_zoo(source / "test", members, recipe, tmp_path / "zoo", device=CPU, progress=False)
    ensemble, entries = load_ensemble(tmp_path / "zoo", CPU)
    assert [e["weight"] for e in entries] == [1.0, 2.0]
    images = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ensemble.models[1](images), originals["robustbench"].eval()(images))
        torch.testing.assert_close(ensemble.models[0](images), load_external(specs(folder)["torchvision"])(images))
    again = train_zoo(source / "test", members, recipe, tmp_path / "zoo", device=CPU, progress=False)
    assert all(path.is_file() for path in again.values())  # the same files: kept, not copied again
    config = dataclasses.replace(SMALL, clean_count=20, adv_count=20)
    manifest = build(source / "test", tmp_path / "bench", tmp_path / "zoo", config, surrogates=[source / "surrogates"],
                     device=CPU)
    assert manifest["counts"]["adv"] == 20
    with pytest.raises(DatacentricError, match="does not exist"):
        load_zoo([f"{folder}/missing.pt,arch=cifar_resnet8"])
