import json

import torch

from datacentric.models.saved import load_model
from tests.cli.test_data_commands import assert_one_line_error, run


def test_train_a_zoo_then_evaluate_clean(tmp_path, data_dir, cifar_npz):
    run(["prepare", str(cifar_npz)], data_dir)
    train_store = data_dir / "prepared" / "cifar-small" / "train"
    test_store = data_dir / "prepared" / "cifar-small" / "test"
    run(["train", "--store", str(train_store), "--zoo", "cpu-surrogates", "--out", str(tmp_path / "zoo"), "--epochs", "1",
         "--eval-store", str(test_store), "--device", "cpu"], data_dir)
    model_path = tmp_path / "zoo" / "cifar_resnet8-s100" / "model.pt"
    model, meta = load_model(model_path)
    assert meta["arch"] == "cifar_resnet8" and meta["meta"]["train_config"]["epochs"] == 1
    assert model(torch.rand(1, 3, 32, 32)).shape == (1, 10)
    lines = (tmp_path / "zoo" / "cifar_vgg_small-s100" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and "test_acc" in json.loads(lines[0])
    result = run(["evaluate-clean", str(model_path), "--store", str(test_store), "--out", str(tmp_path / "acc.json")], data_dir)
    assert json.loads(result.stdout)["samples"] == 1000
    assert 0 <= json.loads((tmp_path / "acc.json").read_text())["accuracy"] <= 100
    # a second run finds every member done and trains nothing
    again = run(["train", "--store", str(train_store), "--zoo", "cpu-surrogates", "--out", str(tmp_path / "zoo"), "--epochs",
                 "1", "--eval-store", str(test_store), "--device", "cpu"], data_dir)
    assert "epoch" not in again.stderr


def test_train_errors(tmp_path, data_dir, cifar_npz):
    run(["prepare", str(cifar_npz)], data_dir)
    store = str(data_dir / "prepared" / "cifar-small" / "train")
    assert_one_line_error(run(["train", "--store", store, "--zoo", "nope", "--out", str(tmp_path)], data_dir, check=False),
                          "unknown zoo")
    assert_one_line_error(run(["train", "--store", store, "--recipe", "nope", "--out", str(tmp_path)], data_dir, check=False),
                          "unknown training recipe")
    assert_one_line_error(run(["train", "--store", store, "--epochs", "0", "--out", str(tmp_path)], data_dir, check=False),
                          "epochs")
    assert_one_line_error(run(["train", "--store", store, "--device", "cuda", "--out", str(tmp_path)], data_dir, check=False),
                          "CUDA is not available")
    assert_one_line_error(run(["evaluate-clean", str(tmp_path / "none.pt"), "--store", store], data_dir, check=False),
                          "does not exist")
