import json

from datacentric.data.store import Store
from tests.cli.test_data_commands import assert_one_line_error, run


def test_surrogates_then_attack_with_two_workers(tmp_path, data_dir, cifar_npz):
    run(["prepare", str(cifar_npz)], data_dir)
    run(["split", "--dataset", "cifar-small", "--ratio", "0:1:4", "--limit", "200"], data_dir)
    for zoo in ("cpu-surrogates", "cpu-holdout"):
        run(["surrogates", "train", "--dataset", "cifar-small", "--zoo", zoo, "--epochs", "1", "--device", "cpu"],
            data_dir)
    models = data_dir / "models" / "cifar-small"
    result = run(["attack", "--dataset", "cifar-small", "--surrogates", str(models / "cpu-surrogates"), "--holdout",
                  str(models / "cpu-holdout"), "--iterations", "2", "--workers", "2", "--shard-size", "10",
                  "--batch-size", "8", "--device", "cpu"], data_dir)
    store = Store(data_dir / "parts" / "cifar-small" / "adversarial")
    assert len(store) == 40 and set(store.load().kind) == {"adversarial"}
    assert "transfer_error" in store.manifest["extra"] and "whitebox_error" in result.stdout
    config = store.manifest["config"]
    assert config["generator"] == "transfer_attack" and config["settings"]["ti_size"] == 0  # AttackConfig's default: no TI


def test_attack_errors(tmp_path, data_dir, cifar_npz):
    run(["prepare", str(cifar_npz)], data_dir)
    assert_one_line_error(run(["surrogates", "train", "--dataset", "cifar-small", "--store",
                               str(data_dir / "prepared" / "cifar-small" / "test")], data_dir, check=False),
                          "not clean training data")
    assert_one_line_error(run(["attack", "--dataset", "cifar-small", "--surrogates", str(tmp_path)], data_dir,
                              check=False), "no trained zoo")
    (tmp_path / "zoo.json").write_text(json.dumps({"members": []}))
    assert_one_line_error(run(["attack", "--surrogates", str(tmp_path), "--batch-size", "many"], data_dir,
                              check=False), "--batch-size")
    assert_one_line_error(run(["attack", "--surrogates", str(tmp_path), "--batch-size", "8", "--combine", "max"],
                              data_dir, check=False), "combine must be")
