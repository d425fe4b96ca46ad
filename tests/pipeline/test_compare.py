"""The comparison on the smoke pipeline: a baseline, a data arm and a training-method arm, with cost."""

import json
import os
import subprocess
import sys

import pytest

from datacentric.core.errors import DatacentricError
from datacentric.pipeline.compare import load_compare
from tests.helpers import copy_prepared
from tests.pipeline.test_smoke import REPO


def datacentric(data_dir, *args):
    env = {**os.environ, "DATACENTRIC_DATA": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "datacentric", *args], capture_output=True, text=True, env=env)


def test_compare_reports_every_arm_with_its_cost(tmp_path, prepared):
    data = copy_prepared(prepared, tmp_path)
    result = datacentric(data, "compare", os.path.join(REPO, "pipelines", "smoke-compare.toml"))
    assert result.returncode == 0, result.stderr[-3000:]
    run = data / "runs" / "smoke-compare"
    report = json.loads((run / "compare.json").read_text())
    assert list(report["arms"]) == ["standard", "data-smoke", "train-gnt"]
    assert [a["kind"] for a in report["arms"].values()] == ["baseline", "data", "training"]
    for name, arm in report["arms"].items():
        row = arm["members"]["cifar_resnet8-s0"]
        assert {"clean", "adv", "adv_evaluation", "cor", "R", "mce", "fgsm", "pgd", "ratio_adv"} <= set(row)
        assert arm["cost"]["train_seconds"] > 0 and arm["cost"]["backward_images"] >= 256  # 300 images, 1 epoch
    assert report["arms"]["data-smoke"]["cost"]["data_seconds"] > 0  # parts + surrogates
    assert report["arms"]["standard"]["members"]["cifar_resnet8-s0"]["mce"] == pytest.approx(1.0)
    assert report["arms"]["standard"]["delta"]["R"] == 0
    text = (run / "compare.md").read_text()
    assert "| train-gnt | training |" in text and "ΔR per hour" in text
    assert (run / "r_vs_cost.png").stat().st_size > 5000
    # the data arm's enhanced models are the smoke pipeline's: `enhance` afterwards copies them from the cache
    again = datacentric(data, "enhance", os.path.join(REPO, "pipelines", "smoke.toml"), "--until", "train")
    assert again.returncode == 0 and (again.stdout + again.stderr).count("epoch 1/1") == 3  # only the ablation zoo (3 members)
    weights = [json.loads((folder / "cifar_resnet8-s0" / "identity.json").read_text())["weights_sha256"]
               for folder in (run / "models" / "data-smoke", data / "runs" / "smoke" / "models" / "enhanced")]
    assert weights[0] == weights[1]
    seeds = datacentric(data, "seeds", str(run), str(run))
    assert seeds.returncode == 0 and "| train-gnt |" in seeds.stdout


@pytest.mark.parametrize("change, message", [
    ('name = "standard"', "including 'standard'"),
    ('recipe = "cpu-nothing"', "unknown training recipe"),
    ('data = "cifar10.toml"', "differs from the base pipeline's"),
])
def test_a_bad_comparison_is_refused_before_any_work(tmp_path, change, message):
    with open(os.path.join(REPO, "pipelines", "smoke-compare.toml")) as handle:
        text = handle.read()
    if change.startswith("name"):
        text = text.replace('name = "standard"', 'name = "plain"')
    elif change.startswith("recipe"):
        text = text.replace('recipe = "cpu-gnt"', change)
    else:
        text = text.replace('data = "smoke.toml"', change)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DatacentricError, match=message):
        load_compare(path)
