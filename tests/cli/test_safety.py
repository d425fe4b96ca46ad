"""Issue 33's cases, each as a user hit it: nothing outside its folder, nothing stale, damage repaired or refused,
every error one line. (The export marker and full-disk cases are in test_reliability.py.)"""

import json
import os
import pathlib
import shutil

import h5py
import numpy as np
import pytest
import torch

from datacentric.core.errors import DatacentricError
from datacentric.core.io import exclusive, sha256_file
from datacentric.core.tomlconfig import pipelines_dir
from datacentric.data.stages import dataset_name
from datacentric.data.store import Store
from datacentric.models import create
from datacentric.models.external import load_external
from datacentric.models.saved import save_model
from tests.cli.test_data_commands import assert_one_line_error, run
from tests.conftest import CIFAR10_CLASSES

SMALL_BENCH = "[benchmark]\nclean_count = 40\nadv_count = 40\ncor_per_cell = 1\n"  # fits 200 test images


def small_npz(path, cifar4k, start=0, count=300, classes=CIFAR10_CLASSES):
    x, y = cifar4k
    np.savez(path, x_train=x[start:start + count], y_train=y[start:start + count], x_test=x[3000:3200],
             y_test=y[3000:3200], class_names=np.array(classes))
    return path


# ---- paths stay inside their folders --------------------------------------------------------------------

@pytest.mark.parametrize("given, name", [("../../x.npz", "x"), ("/some/where/mnist.npz", "mnist"),
                                         ("data/cifar-small/", "cifar-small"), ("cifar10", "cifar10")])
def test_a_dataset_given_as_a_path_is_prepared_under_its_plain_name(given, name):
    assert dataset_name(given) == name


def test_a_pipeline_dataset_path_outside_the_data_directory_prepares_inside_it(tmp_path, data_dir, cifar4k):
    (tmp_path / "far").mkdir()
    source = small_npz(tmp_path / "far" / "mine.npz", cifar4k)
    pipeline = tmp_path / "p.toml"
    relative = os.path.relpath(source, os.getcwd())  # "../../…": a path that climbs out of the working directory
    pipeline.write_text(f'name = "p"\ndataset = "{relative}"\n' + SMALL_BENCH)
    run(["enhance", str(pipeline), "--until", "prepare"], data_dir)
    assert len(Store(data_dir / "prepared" / "mine" / "train")) == 300
    assert sorted(p.name for p in data_dir.iterdir()) == ["prepared", "runs"]


def test_split_part_names_cannot_leave_the_output_folder(tmp_path, data_dir, cifar4k):
    run(["prepare", str(small_npz(tmp_path / "small.npz", cifar4k))], data_dir)
    result = run(["split", "--dataset", "small", "--parts", "a,../../../../tmp/x,c"], data_dir, check=False)
    assert_one_line_error(result, "part name")
    assert not (data_dir / "splits").exists()


def test_class_names_cannot_leave_an_imagefolder_export(tmp_path, data_dir, cifar4k):
    classes = ("../../x",) + CIFAR10_CLASSES[1:]
    run(["prepare", str(small_npz(tmp_path / "odd.npz", cifar4k, classes=classes))], data_dir)
    out = tmp_path / "export"
    result = run(["export", "--store", str(data_dir / "prepared" / "odd" / "test"), "--out", str(out), "--format", "imagefolder"],
                 data_dir, check=False)
    assert_one_line_error(result, "cannot be folder names")
    assert not out.exists() and not (tmp_path / "x").exists()


def test_a_shard_reading_another_file_through_hdf5_external_storage_is_refused(tmp_path, data_dir, cifar4k):
    run(["prepare", str(small_npz(tmp_path / "small.npz", cifar4k))], data_dir)
    store = data_dir / "prepared" / "small" / "test"
    secret = tmp_path / "secret.bin"
    secret.write_bytes(bytes(range(256)) * 2400)  # 200 × 32 × 32 × 3 bytes someone wants exported
    shard = store / "shard-00000.h5"
    with h5py.File(shard, "a") as h5:  # a forged shard: its images come from a file outside the store
        del h5["images"]
        h5.create_dataset("images", shape=(200, 32, 32, 3), dtype=np.uint8, external=[(str(secret), 0, 614400)])
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["shards"]["0"]["sha256"] = sha256_file(shard)  # a forger updates the checksum too
    (store / "manifest.json").write_text(json.dumps(manifest))
    result = run(["export", "--store", str(store), "--out", str(tmp_path / "out")], data_dir, check=False)
    assert_one_line_error(result, "not stored in the shard itself")
    assert not (tmp_path / "out").exists()


def test_an_architecture_named_in_a_checkpoint_never_reaches_a_hub(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"arch": "hf-hub:timm/resnet18.a1_in1k", "state_dict": create("cifar_resnet8", 10).state_dict()},
               path)
    with pytest.raises(DatacentricError, match="not a model name"):
        load_external(str(path))


class TouchPayload:
    """A pickle that runs code when loaded: it would create `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


@pytest.mark.parametrize("command", ["benchmark run", "evaluate-clean"])
def test_a_checkpoint_that_would_run_code_is_refused_without_running_it(tmp_path, data_dir, command):
    marker, path = tmp_path / "payload-ran", tmp_path / "model.pt"
    torch.save({"state_dict": {"weight": torch.zeros(10, 4)}, "hook": TouchPayload(marker)}, path)
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "bench.json").write_text(json.dumps({"counts": {}, "config": {}}))  # models load first
    for spec in (str(path), f"{path},arch=cifar_resnet8"):
        args = (["benchmark", "run", spec, "--bench", str(tmp_path / "bench"), "--out", str(tmp_path / "out")]
                if command == "benchmark run" else ["evaluate-clean", spec, "--store", str(tmp_path / "store")])
        result = run(args, data_dir, check=False)
        assert_one_line_error(result, f"cannot load model {path}")
        assert not marker.exists() and not (tmp_path / "out").exists()


# ---- nothing stale: content, not names ------------------------------------------------------------------

def test_other_data_under_the_same_name_is_refused_by_prepare_and_prepared_again_by_a_run(tmp_path, data_dir,
                                                                                          cifar4k):
    first, second = tmp_path / "a" / "set.npz", tmp_path / "b" / "set.npz"
    first.parent.mkdir(), second.parent.mkdir()
    small_npz(first, cifar4k, start=0)
    small_npz(second, cifar4k, start=1000)
    out = tmp_path / "prepared"
    run(["prepare", str(first), "--out", str(out)], data_dir)
    assert_one_line_error(run(["prepare", str(second), "--out", str(out)], data_dir, check=False),
                          "prepared from other data")
    run(["prepare", str(second), "--out", str(out), "--overwrite"], data_dir)
    np.testing.assert_array_equal(Store(out / "train").load().images, cifar4k[0][1000:1300])


def test_a_split_of_another_config_is_refused_naming_every_folder_and_writing_nothing(tmp_path, data_dir, cifar4k):
    source = small_npz(tmp_path / "small.npz", cifar4k)
    text = f'name = "p"\ndataset = "{source}"\n[split]\nratio = "1:1:0"\nlimit = 200\n' + SMALL_BENCH
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(text)
    run(["enhance", str(pipeline), "--until", "split"], data_dir)
    run_dir = data_dir / "runs" / "p"
    written = (run_dir / "pipeline.json").read_text()
    pipeline.write_text(text.replace("limit = 200", "limit = 250"))
    result = run(["enhance", str(pipeline), "--until", "split"], data_dir, check=False)
    assert_one_line_error(result, "--force")
    assert str(run_dir / "split") in result.stderr and str(run_dir / "subset") in result.stderr
    assert (run_dir / "pipeline.json").read_text() == written  # the rejected config is not written
    run(["enhance", str(pipeline), "--until", "split", "--force"], data_dir)
    assert len(Store(run_dir / "subset" / "clean")) == 250


def test_other_source_data_under_the_same_path_remakes_the_split_only_when_forced(tmp_path, data_dir, cifar4k):
    source = small_npz(tmp_path / "set.npz", cifar4k, start=0)
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f'name = "p"\ndataset = "{source}"\n[split]\nratio = "1:1:0"\nlimit = 200\n' + SMALL_BENCH)
    run(["enhance", str(pipeline), "--until", "split"], data_dir)
    subset = data_dir / "runs" / "p" / "subset" / "clean"
    first = Store(subset).load().images
    small_npz(source, cifar4k, start=1000)  # other images, the same file name
    assert_one_line_error(run(["enhance", str(pipeline), "--until", "split"], data_dir, check=False), "--force")
    run(["enhance", str(pipeline), "--until", "split", "--force"], data_dir)
    again = Store(subset).load()
    assert not np.array_equal(again.images, first) and again.source_index.max() < 300
    assert Store(data_dir / "prepared" / "set" / "train").manifest["config"]["source_sha256"] == sha256_file(source)


# ---- damage is repaired or refused, never used ------------------------------------------------------------

def test_a_damaged_prepared_shard_is_made_again(tmp_path, data_dir, cifar4k):
    source = small_npz(tmp_path / "small.npz", cifar4k)
    run(["prepare", str(source)], data_dir)
    shard = data_dir / "prepared" / "small" / "train" / "shard-00000.h5"
    good = shard.read_bytes()
    shard.write_bytes(good[:-100] + bytes(100))
    result = run(["prepare", str(source)], data_dir)
    assert "regenerating" in result.stderr and shard.read_bytes() == good


def test_an_edited_manifest_is_one_line(tmp_path, data_dir, cifar4k):
    run(["prepare", str(small_npz(tmp_path / "small.npz", cifar4k))], data_dir)
    manifest_path = data_dir / "prepared" / "small" / "test" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["shards"]["0"]["count"] = "many"
    manifest_path.write_text(json.dumps(manifest))
    assert_one_line_error(run(["inspect", "--store", str(manifest_path.parent)], data_dir, check=False), "is damaged")


def test_a_damaged_checkpoint_is_not_resumed(tmp_path, cifar4k, capsys):
    from datacentric.training.config import TrainConfig
    from datacentric.training.trainer import train

    images, labels = torch.from_numpy(cifar4k[0][:64]), torch.from_numpy(cifar4k[1][:64])
    config = TrainConfig(epochs=1, batch_size=32, bf16=False)
    checkpoint = tmp_path / "checkpoint.pt"
    torch.manual_seed(0)
    whole = train(create("cifar_resnet8", 10), images, labels, config, device=torch.device("cpu"),
                  checkpoint=checkpoint, progress=False)
    checkpoint.write_bytes(checkpoint.read_bytes()[:-64] + bytes(64))
    torch.manual_seed(0)
    again = train(create("cifar_resnet8", 10), images, labels, config, device=torch.device("cpu"),
                  checkpoint=checkpoint, resume=True, progress=False)
    assert "does not match its checksum" in capsys.readouterr().err
    for a, b in zip(whole.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)  # trained again from the first epoch, not loaded from the damage


class Payload:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_malicious_checkpoint_on_resume_is_one_line_and_runs_nothing(tmp_path, data_dir, cifar4k, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run(["prepare", str(small_npz(tmp_path / "small.npz", cifar4k))], data_dir)
    train = ["train", "--store", str(data_dir / "prepared" / "small" / "train"), "--out", str(tmp_path / "zoo"), "--zoo",
             "smoke-tiny", "--epochs", "1", "--device", "cpu"]
    run(train, data_dir)
    member = tmp_path / "zoo" / "cifar_resnet8-s0"
    (member / "model.pt").unlink()  # as if killed after the last checkpoint, before the model was saved
    shutil.rmtree(data_dir / "cache")  # and never finished before: nothing to copy from the model cache
    torch.save({"payload": Payload()}, member / "checkpoint.pt")  # replaced, checksum and all
    (member / "checkpoint.pt.sha256").write_text(sha256_file(member / "checkpoint.pt"))
    assert_one_line_error(run(train + ["--resume"], data_dir, check=False), "cannot load")
    assert not (tmp_path / "PWNED").exists()


def test_an_edited_saved_evaluation_is_never_reported(tmp_path):
    import datacentric.benchmark.run as run_module

    record = {"key": "k", "digest": "not the digest", "result": {"clean": 99.0}}
    folder = tmp_path / "set" / "m" / "evaluations"
    folder.mkdir(parents=True)
    (folder / "k.json").write_text(json.dumps(record))
    job = run_module.ModelJob("set", "m", tmp_path / "set", frozenset())
    assert run_module._saved_result(job, "k")[1] == {}  # an edited value is never reported


# ---- one writer per run folder, every error one line ---------------------------------------------------------

def test_a_second_run_of_the_same_folder_is_refused_while_the_first_runs(tmp_path, data_dir):
    with exclusive(data_dir / "runs" / "smoke", "run folder"):
        result = run(["enhance", str(pipelines_dir() / "smoke.toml"), "--until", "prepare"], data_dir, check=False)
    assert_one_line_error(result, "is in use by process")


@pytest.mark.parametrize("case, message", [
    ("non_utf8", "not UTF-8"),
    ("export_zip", "format must be"),
    ("cor_per_cell_0", "cor_per_cell ≥ 1"),
    ("missing_evaluation_model", "does not exist"),
])
def test_bad_pipeline_values_are_one_line_before_any_work(tmp_path, data_dir, case, message):
    path = tmp_path / "p.toml"
    body = {"non_utf8": None, "export_zip": '[export]\nformat = "zip"\n',
            "cor_per_cell_0": "[benchmark]\ncor_per_cell = 0\n",
            "missing_evaluation_model": f'[benchmark]\nevaluation_models = ["{tmp_path}/none.pt"]\n'}[case]
    if body is None:
        path.write_bytes('name = "p"\n# caf\u00e9\n'.encode("latin-1"))
    else:
        path.write_text('name = "p"\n' + body)
    assert_one_line_error(run(["enhance", str(path)], data_dir, check=False), message)
    assert not data_dir.exists()


def test_a_benchmark_larger_than_the_test_split_fails_right_after_prepare(tmp_path, data_dir, cifar4k):
    source = small_npz(tmp_path / "small.npz", cifar4k)
    path = tmp_path / "p.toml"
    path.write_text(f'name = "p"\ndataset = "{source}"\n[benchmark]\ncor_per_cell = 1000\n')
    result = run(["enhance", str(path)], data_dir, check=False)
    assert_one_line_error(result, "the benchmark needs")
    assert not (data_dir / "runs" / "p" / "split").exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_text("not an archive\n"), "not a readable tar archive"),
    (lambda p: np.savez(p, x_train=np.zeros((0, 32, 32, 3), np.uint8), y_train=np.zeros(0, np.int64),
                        x_test=np.zeros((0, 32, 32, 3), np.uint8), y_test=np.zeros(0, np.int64)), "holds no"),
], ids=["text.tar.gz", "empty.npz"])
def test_bad_sources_are_one_line(tmp_path, data_dir, make, message):
    path = tmp_path / ("text.tar.gz" if "archive" in message else "empty.npz")
    make(path)
    assert_one_line_error(run(["prepare", str(path)], data_dir, check=False), message)


def test_an_unknown_torchvision_builder_is_one_line(tmp_path):
    path = tmp_path / "weights.pt"
    save_model(path, create("cifar_resnet8", 10), arch="cifar_resnet8", num_classes=10, in_chans=3, meta={})
    with pytest.raises(DatacentricError, match="torchvision has no model 'get_model'"):
        load_external(f"{path},arch=torchvision.get_model")


def test_set_on_the_command_line_is_applied_and_recorded_in_the_run(tmp_path, data_dir, cifar4k):
    source = small_npz(tmp_path / "small.npz", cifar4k)
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(f'name = "p"\ndataset = "{source}"\n[split]\nratio = "1:1:0"\nlimit = 200\n' + SMALL_BENCH)
    run(["enhance", str(pipeline), "--until", "split", "--set", "split.limit=150"], data_dir)
    recorded = json.loads((data_dir / "runs" / "p" / "pipeline.json").read_text())
    assert recorded["split"]["limit"] == 150 and recorded["overrides"] == ["split.limit=150"]
    assert len(Store(data_dir / "runs" / "p" / "subset" / "clean")) == 150
    assert_one_line_error(run(["enhance", str(pipeline), "--set", "split.limit=x"], data_dir, check=False),
                          "limit must be an integer")
