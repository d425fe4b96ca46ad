"""Nothing stale, nothing lost, nothing outside its folder: each case a user hit, as one `error:` line and exit 2
(or the right recovery), with nothing half-written."""

import errno
import json
import shutil

import numpy as np
import pytest
import torch

from datacentric.cli import main
from datacentric.core.errors import DatacentricError
from datacentric.data.export import MARKER
from datacentric.data.store import Store
from datacentric.models.saved import load_model
from tests.cli.test_data_commands import assert_one_line_error, run

TINY = ["--zoo", "smoke-tiny", "--epochs", "1", "--device", "cpu"]


@pytest.fixture(scope="module")
def prepared_once(tmp_path_factory, cifar4k):
    folder = tmp_path_factory.mktemp("reliability")
    x, y = cifar4k
    source = folder / "cifar-small.npz"
    np.savez(source, x_train=x[:600], y_train=y[:600], x_test=x[600:800], y_test=y[600:800])
    run(["prepare", str(source)], folder / "data")
    run(["split", "--dataset", "cifar-small", "--ratio", "1:1:0", "--limit", "400"], folder / "data")
    return folder / "data"


@pytest.fixture()
def prepared(data_dir, prepared_once):
    """A prepared and split small CIFAR-10 in this test's data directory (copied: tests may damage it)."""
    shutil.copytree(prepared_once, data_dir)
    return data_dir / "splits" / "cifar-small"


def weights(path):
    return load_model(path)[0].state_dict()


def test_a_model_of_another_store_is_never_reused(tmp_path, data_dir, prepared):
    first, second = str(prepared / "clean"), str(prepared / "adversarial")
    run(["train", "--store", first, "--out", str(tmp_path / "zoo"), *TINY], data_dir)
    trained_on_first = weights(tmp_path / "zoo" / "cifar_resnet8-s0" / "model.pt")
    assert_one_line_error(run(["train", "--store", second, "--out", str(tmp_path / "zoo"), "--resume", *TINY], data_dir,
                              check=False), "another store")
    run(["train", "--store", second, "--out", str(tmp_path / "zoo"), *TINY], data_dir)  # without --resume: trained again
    identity = json.loads((tmp_path / "zoo" / "cifar_resnet8-s0" / "identity.json").read_text())
    assert identity["store_hash"] == Store(second).manifest["config_hash"]
    retrained = weights(tmp_path / "zoo" / "cifar_resnet8-s0" / "model.pt")
    assert any(not torch.equal(a, b) for a, b in zip(trained_on_first.values(), retrained.values()))


def test_a_damaged_model_is_detected_and_retrained(tmp_path, data_dir, prepared):
    store = str(prepared / "clean")
    run(["train", "--store", store, "--out", str(tmp_path / "zoo"), *TINY], data_dir)
    model = tmp_path / "zoo" / "cifar_resnet8-s0" / "model.pt"
    good = model.read_bytes()
    damaged = bytearray(good)
    damaged[len(damaged) // 2] ^= 0xFF
    model.write_bytes(bytes(damaged))
    assert_one_line_error(run(["evaluate-clean", str(model), "--store", store], data_dir, check=False), "checksum")
    run(["train", "--store", store, "--out", str(tmp_path / "zoo"), *TINY], data_dir)  # not reused: trained again
    assert model.read_bytes() != bytes(damaged)
    load_model(model)


def test_export_overwrite_replaces_only_what_an_export_wrote(tmp_path, data_dir, prepared):
    out = tmp_path / "submission"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert_one_line_error(run(["export", "--store", str(prepared / "clean"), "--out", str(out)], data_dir, check=False), "--overwrite")
    run(["export", "--store", str(prepared / "clean"), "--out", str(out), "--overwrite"], data_dir)
    run(["export", "--store", str(prepared / "adversarial"), "--out", str(out), "--overwrite"], data_dir)
    assert (out / "notes.txt").read_text() == "mine" and np.load(out / "data.npy").shape == (200, 32, 32, 3)


def test_a_run_name_cannot_leave_the_runs_folder(tmp_path, data_dir):
    path = tmp_path / "escape.toml"
    path.write_text('name = "../../x"\n')
    assert_one_line_error(run(["enhance", str(path)], data_dir, check=False), "name must be")
    assert not data_dir.exists()


def test_a_moved_data_directory_still_resumes(tmp_path, data_dir, prepared):
    moved = tmp_path / "moved"
    shutil.copytree(data_dir, moved)
    run(["split", "--dataset", "cifar-small", "--ratio", "1:1:0", "--limit", "400"], moved)  # no "another config"
    assert Store(moved / "splits" / "cifar-small" / "clean").manifest["config_hash"] == \
        Store(prepared / "clean").manifest["config_hash"]
    link = tmp_path / "link"
    link.symlink_to(data_dir)
    run(["split", "--dataset", "cifar-small", "--ratio", "1:1:0", "--limit", "400"], link)


def test_an_unwritable_output_is_one_line(tmp_path, data_dir, prepared):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert_one_line_error(run(["export", "--store", str(prepared / "clean"), "--out", str(blocker / "out")], data_dir, check=False),
                          str(blocker))
    assert_one_line_error(run(["train", "--store", str(prepared / "clean"), "--out", str(blocker / "zoo"), *TINY], data_dir,
                              check=False), "Not a directory")


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("Can't write data (file write failed)")], ids=["OSError", "h5py"])
def test_a_full_disk_during_a_shard_write_is_one_line_and_leaves_no_temporaries(tmp_path, data_dir, prepared,
                                                                                monkeypatch, capsys, failure):
    def full(self, h5, shard_id, samples):  # the shard's HDF5 file is open when the disk fills
        raise failure

    monkeypatch.setattr(Store, "_fill_shard", full)
    out = tmp_path / "noisy"
    code = main(["corrupt", "--store", str(prepared / "clean"), "--out", str(out), "--workers", "1"])
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.startswith(f"error: cannot write {out / 'shard-00000.h5'}"), stderr
    assert len(stderr.splitlines()) == 1
    assert not list(out.glob(".*tmp*")) and Store(out, require_complete=False).shard_ids == []


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     RuntimeError("PytorchStreamWriter failed writing file data/0")],
                         ids=["OSError", "torch"])
def test_a_full_disk_during_a_model_write_is_one_line_and_leaves_no_temporaries(tmp_path, data_dir, prepared,
                                                                                monkeypatch, capsys, failure):
    def full(value, path, *args, **kwargs):
        with open(path, "wb") as handle:  # a partial file, as a full disk leaves it
            handle.write(b"partial")
        raise failure

    monkeypatch.setattr(torch, "save", full)
    zoo = tmp_path / "zoo"
    code = main(["train", "--store", str(prepared / "clean"), "--out", str(zoo), *TINY])
    stderr = capsys.readouterr().err
    assert code == 2 and stderr.startswith("error: cannot write ") and len(stderr.splitlines()) == 1, stderr
    assert not list(zoo.rglob(".*tmp*")) and not list(zoo.rglob("model.pt"))


BAD = [
    (["enhance", "SMOKE", "--seed", "-1"], "--seed must be at least 0"),
    (["split", "--dataset", "cifar-small", "--shard-size", "0"], "--shard-size must be at least 1"),
    (["enhance", "SMOKE", "--from", "report"], "needs"),
    (["enhance", "SMOKE", "--from", "report", "--until", "split"], "comes after"),
]


@pytest.mark.parametrize("args,message", BAD, ids=[" ".join(a[:3]) for a, _ in BAD])
def test_bad_command_lines_are_one_line_and_write_nothing(data_dir, prepared, args, message):
    from datacentric.core.tomlconfig import pipelines_dir

    args = [str(pipelines_dir() / "smoke.toml") if a == "SMOKE" else a for a in args]
    before = sorted(p.relative_to(data_dir) for p in data_dir.rglob("*") if "runs" not in p.parts)
    assert_one_line_error(run(args, data_dir, check=False), message)
    assert sorted(p.relative_to(data_dir) for p in data_dir.rglob("*") if "runs" not in p.parts) == before


@pytest.mark.parametrize("option,value,message", [("--linf-eps", "nan", "linf_eps"), ("--linf-eps", "2", "linf_eps"),
                                                  ("--seed", "-1", "--seed")])
def test_bad_attack_values_are_one_line_and_write_nothing(tmp_path, data_dir, prepared, option, value, message):
    run(["train", "--store", str(prepared / "clean"), "--out", str(tmp_path / "zoo"), *TINY], data_dir)
    out = tmp_path / "attacked"
    assert_one_line_error(run(["attack", "--store", str(prepared / "adversarial"), "--out", str(out), "--surrogates",
                               str(tmp_path / "zoo"), "--batch-size", "8", option, value], data_dir, check=False),
                          message)
    assert not out.exists()


def test_train_refuses_a_nan_learning_rate(tmp_path, data_dir, prepared):
    assert_one_line_error(run(["train", "--store", str(prepared / "clean"), "--out", str(tmp_path / "z"), "--lr", "nan", *TINY],
                              data_dir, check=False), "lr")
    assert not (tmp_path / "z").exists()


@pytest.mark.parametrize("text,message", [
    ('[split]\nlimit = "three"\n', "limit must be an integer"),
    ('[attack]\niterations = 2.5\n', "iterations must be an integer"),
    ('[targets]\nzoo = "nope"\n', "unknown zoo"),
    ('[targets]\nrecipe = "nope"\n', "unknown training recipe"),
    ('[corrupt]\nsuite = "nope"\n', "unknown corruption suite"),
    ('[benchmark]\nsuites = ["nope"]\n', "unknown corruption suite"),
    ('seed = -1\n', "seed must be"),
    ('[targets]\nmethod = "nope"\n', "unknown training method"),
])
def test_bad_pipeline_values_stop_at_load(tmp_path, data_dir, text, message):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n' + text)
    assert_one_line_error(run(["enhance", str(path)], data_dir, check=False), message)
    assert not data_dir.exists()


@pytest.mark.parametrize("labels,message", [(-1, "non-negative"), (1000, "skip classes")])
def test_bad_npz_labels_are_refused_before_anything_is_written(tmp_path, data_dir, cifar4k, labels, message):
    x, y = cifar4k
    y = y[:200].copy()
    y[5] = labels
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=x[:200], y_train=y, x_test=x[200:300], y_test=cifar4k[1][200:300])
    assert_one_line_error(run(["prepare", str(path)], data_dir, check=False), message)
    assert not (data_dir / "prepared").exists()


def test_training_on_a_damaged_store_writes_nothing(tmp_path, data_dir, prepared):
    shard = prepared / "clean" / "shard-00000.h5"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    assert_one_line_error(run(["train", "--store", str(prepared / "clean"), "--out", str(tmp_path / "zoo"), *TINY], data_dir,
                              check=False), "fails its checksum")
    assert not (tmp_path / "zoo").exists()


def test_a_failed_checkpoint_write_leaves_no_temporary(tmp_path, cifar4k, monkeypatch):
    from datacentric.models import create
    from datacentric.training import trainer
    from datacentric.training.config import TrainConfig

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trainer.torch, "save", full)
    images, labels = torch.from_numpy(cifar4k[0][:64]), torch.from_numpy(cifar4k[1][:64])
    with pytest.raises(DatacentricError, match="cannot write .*checkpoint.pt: No space left on device"):
        trainer.train(create("cifar_resnet8", 10), images, labels, TrainConfig(epochs=1, batch_size=32),
                      device=torch.device("cpu"), checkpoint=tmp_path / "checkpoint.pt", progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("named", ["../victim.txt", "ABSOLUTE_FILE", "ABSOLUTE_DIR", "legacy"])
def test_an_export_marker_naming_anything_else_deletes_nothing(tmp_path, data_dir, prepared, named):
    out = tmp_path / "submission"
    run(["export", "--store", str(prepared / "clean"), "--out", str(out)], data_dir)
    victim, folder = tmp_path / "victim.txt", tmp_path / "precious"
    victim.write_text("keep")
    (folder / "inside").mkdir(parents=True)
    (folder / "inside" / "file").write_text("keep")
    name = {"ABSOLUTE_FILE": str(victim), "ABSOLUTE_DIR": str(folder)}.get(named, named)
    marker = out / MARKER
    if named == "legacy":  # the old plain list of names, which carried no checksums
        marker.write_text("data.npy\nlabel.npy\n../victim.txt\n")
    else:
        marker.write_text(json.dumps({"files": {name: "0" * 64, "data.npy": "0" * 64}}))
    result = run(["export", "--store", str(prepared / "adversarial"), "--out", str(out), "--overwrite"], data_dir, check=False)
    assert_one_line_error(result, "nothing was replaced")
    assert victim.read_text() == "keep" and (folder / "inside" / "file").read_text() == "keep"
    assert (out / "data.npy").exists() and (out / "label.npy").exists()


def test_an_exported_file_changed_since_is_not_replaced(tmp_path, data_dir, prepared):
    out = tmp_path / "submission"
    run(["export", "--store", str(prepared / "clean"), "--out", str(out)], data_dir)
    np.save(out / "data.npy", np.zeros(3))  # edited by hand after the export
    result = run(["export", "--store", str(prepared / "adversarial"), "--out", str(out), "--overwrite"], data_dir, check=False)
    assert_one_line_error(result, "changed since an export wrote it")
    assert np.load(out / "data.npy").shape == (3,)
