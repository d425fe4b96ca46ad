"""The data commands end to end, as a user runs them, and the `run` helper every CLI test uses."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

from datacentric import __version__
from datacentric.cli import main
from datacentric.data.store import Store

CLI = [sys.executable, "-m", "datacentric"]


def run(args, data_dir, check=True, process=None, **env):
    """The CLI with DATACENTRIC_DATA=data_dir and `env`; returns exit code, stdout and stderr.

    Commands run `datacentric.cli.main` in this process — the function the console script calls, so the
    same error handling — because a subprocess pays seconds of imports and the suite runs dozens of
    commands; `process=True` runs a real process, as a user does (test_bad_input_is_one_error_line: real
    exit codes, and no import-time warning on stderr; the smoke pipelines run as processes too)."""
    environment = {"DATACENTRIC_DATA": str(data_dir), **env}
    if process:
        result = subprocess.run(CLI + args, capture_output=True, text=True, env={**os.environ, **environment})
    else:
        result = run_in_process(args, environment)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def run_in_process(args, environment):
    stdout, stderr = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, environment), contextlib.redirect_stdout(stdout), \
            contextlib.redirect_stderr(stderr):
        code = main(list(args))
    return subprocess.CompletedProcess(CLI + args, code, stdout.getvalue(), stderr.getvalue())


def assert_one_line_error(result, pattern):
    assert result.returncode == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr and pattern in lines[0], lines


def test_prepare_split_inspect_export(tmp_path, data_dir, cifar_npz):
    run(["prepare", str(cifar_npz)], data_dir, process=True)  # one command as a user runs it: a real process
    train = Store(data_dir / "prepared" / "cifar-small" / "train")
    assert len(train) == 3000 and train.class_names[0] == "airplane"
    run(["split", "--dataset", "cifar-small", "--ratio", "1:1:4", "--seed", "3", "--stratify"], data_dir)
    plan = json.loads((data_dir / "splits" / "cifar-small" / "plan.json").read_text())
    assert plan["counts"] == {"clean": 500, "adversarial": 500, "corrupted": 2000}
    indices = sum(plan["indices"].values(), [])
    assert sorted(indices) == list(range(3000))
    part = Store(data_dir / "splits" / "cifar-small" / "adversarial").load()
    np.testing.assert_array_equal(part.images, train.load().images[part.source_index])
    shown = run(["inspect", "--store", str(data_dir / "splits" / "cifar-small" / "corrupted"), "--out",
                 str(tmp_path / "grid.png"), "--json"], data_dir)
    summary = json.loads(shown.stdout.split("\npreview")[0])
    assert summary["samples"] == 2000 and summary["kinds"] == {"clean": 2000}
    assert (tmp_path / "grid.png").stat().st_size > 1000
    run(["export", "--store", str(data_dir / "splits" / "cifar-small" / "adversarial"), "--out", str(tmp_path / "sub")], data_dir)
    data, label = np.load(tmp_path / "sub" / "data.npy"), np.load(tmp_path / "sub" / "label.npy")
    assert data.shape == (500, 32, 32, 3) and data.dtype == np.uint8
    np.testing.assert_allclose(label.sum(1), 1) and np.testing.assert_array_equal(label.argmax(1), part.labels)
    run(["export", "--store", str(data_dir / "splits" / "cifar-small" / "clean"), "--out", str(tmp_path / "folder"), "--format",
         "imagefolder"], data_dir)
    assert len(list((tmp_path / "folder").rglob("*.png"))) == 500


def test_prepare_whole_cifar10_archive_and_split_0_1_4(data_dir, prepared):
    """The whole archive as `prepare cifar10` wrote it (the session's `prepared` fixture runs that command), split
    as paper 004 did."""
    shutil.copytree(prepared / "prepared", data_dir / "prepared")
    assert len(Store(data_dir / "prepared" / "cifar10" / "test")) == 10_000
    run(["split", "--ratio", "0:1:4", "--seed", "0"], data_dir)
    plan = json.loads((data_dir / "splits" / "cifar10" / "plan.json").read_text())
    assert plan["counts"] == {"clean": 0, "adversarial": 10_000, "corrupted": 40_000}
    assert len(Store(data_dir / "splits" / "cifar10" / "corrupted")) == 40_000


@pytest.mark.parametrize("args, pattern", [
    (["prepare", "imagenet-9000"], "unknown dataset"),
    (["prepare", "cifar10", "--no-download"], "DATACENTRIC_CIFAR10_ARCHIVE"),
    (["prepare", "{tmp}/missing.tar.gz"], "does not exist"),
    (["split"], "not prepared"),
    (["inspect", "--store", "{tmp}"], "is not a store"),
    (["benchmark", "run", "{tmp}/m.pt", "--bench", "{tmp}", "--out", "{tmp}/out"], "not a built benchmark"),
])
def test_bad_input_is_one_error_line(tmp_path, data_dir, args, pattern):
    # the first case as a real process (its exit code, and no import-time warning on stderr); the rest in-process
    result = run([a.format(tmp=tmp_path) for a in args], data_dir, check=False, process=args[:2] == ["prepare", "imagenet-9000"],
                 DATACENTRIC_CIFAR10_ARCHIVE="")
    assert_one_line_error(result, pattern)


def test_bad_split_and_export_inputs(tmp_path, data_dir, cifar_npz):
    run(["prepare", str(cifar_npz)], data_dir)
    for ratio, pattern in (("1:-1:4", "negative"), ("0:0:0", "all zeros"), ("1:4", "needs 3 parts")):
        assert_one_line_error(run(["split", "--dataset", "cifar-small", "--ratio", ratio], data_dir, check=False),
                              pattern)
    run(["split", "--dataset", "cifar-small", "--ratio", "0:1:4"], data_dir)
    assert_one_line_error(run(["split", "--dataset", "cifar-small", "--ratio", "1:1:1"], data_dir, check=False),
                          "another config")
    run(["split", "--dataset", "cifar-small", "--ratio", "1:1:1", "--overwrite"], data_dir)
    shard = next((data_dir / "splits" / "cifar-small" / "clean").glob("shard-*.h5"))
    shard.write_bytes(shard.read_bytes()[:-100])
    result = run(["export", "--store", str(shard.parent), "--out", str(tmp_path / "out")], data_dir, check=False)
    assert_one_line_error(result, "fails its checksum")
    assert not (tmp_path / "out").exists()


def test_version(tmp_path):
    result = run(["--version"], tmp_path)
    assert result.stdout.strip() == f"datacentric {__version__}"


def test_competition_rules(tmp_path):
    from datacentric.core.errors import DatacentricError
    from datacentric.data.export import competition_arrays

    with pytest.raises(DatacentricError, match="at most 50000"):
        competition_arrays(np.zeros((50_001, 32, 32, 3), np.uint8), np.zeros(50_001, int), None, 10)
    with pytest.raises(DatacentricError, match="uint8 N×32×32×3"):
        competition_arrays(np.zeros((5, 28, 28, 1), np.uint8), np.zeros(5, int), None, 10)
    with pytest.raises(DatacentricError, match=">= 0"):
        competition_arrays(np.zeros((2, 32, 32, 3), np.uint8), None, -np.ones((2, 10), np.float32), 10)
