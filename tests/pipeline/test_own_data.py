"""A user's own data through `enhance` from a pipeline file: a flat ImageFolder, a data.npy + label.npy pair and a
Hugging Face dataset saved to disk, each ending with a report."""

import json

import numpy as np
import pytest
from PIL import Image

from datacentric.data.source import held_out_positions
from datacentric.data.store import Store
from tests.cli.test_data_commands import run

PIPELINE = """
name = "own"
dataset = "{dataset}"
device = "cpu"

[split]
limit = 60
stratify = true

[evaluation]
zoo = "smoke-evaluation"
recipe = "cpu"
epochs = 1

[targets]
zoo = "smoke-tiny"
recipe = "cpu"
epochs = 1

[benchmark]
clean_count = 10
adv_count = 8
cor_per_cell = 1
suites = ["mtlat4"]

[[parts]]
name = "clean"
share = 0.5
generator = "clean"

[[parts]]
name = "corrupted"
share = 0.5
generator = "corruption"
"""


def flat_folder(root, x, y):
    for i, (image, label) in enumerate(zip(x, y)):
        (root / f"c{label}").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / f"c{label}" / f"{i:04d}.png")
    return root


def npy_pair(root, x, y):
    root.mkdir()
    np.save(root / "data.npy", x)
    np.save(root / "label.npy", y)
    return root / "data.npy"


def huggingface_on_disk(root, x, y):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"image": datasets.Image(), "label": datasets.ClassLabel(num_classes=10)})
    datasets.Dataset.from_dict({"image": [Image.fromarray(i) for i in x], "label": y.tolist()},
                               features=features).save_to_disk(str(root))
    return root


@pytest.mark.parametrize("make", [flat_folder, npy_pair, huggingface_on_disk])
def test_own_data_runs_through_enhance_from_a_pipeline_file(tmp_path, cifar4k, make):
    x, y = cifar4k
    source = make(tmp_path / "mine", x[:300], y[:300])  # one split: a stratified 20 % test split is held out
    pipeline = tmp_path / "own.toml"
    pipeline.write_text(PIPELINE.format(dataset=source))
    result = run(["enhance", str(pipeline)], tmp_path / "data", check=False, HF_DATASETS_CACHE=str(tmp_path / "hf"))
    assert result.returncode == 0, result.stderr[-3000:]
    test = Store(tmp_path / "data" / "prepared" / "mine" / "test")
    assert len(test) == len(held_out_positions(y[:300], 0.2, seed=0)[1])  # each class's 20 %, rounded
    assert test.manifest["config"]["held_out"] == {"test_fraction": 0.2, "seed": 0, "stratified": True}
    report = json.loads((tmp_path / "data" / "runs" / "own" / "report.json").read_text())
    assert {"clean", "adv", "cor", "R"} <= set(report["architectures"]["cifar_resnet8-s0"]["enhanced"])
