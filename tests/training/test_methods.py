"""Every training method trains cifar_resnet8 on real CIFAR-10 images, counts its cost, and resumes exactly."""

import json

import pytest
import torch

from datacentric.core.errors import DatacentricError
from datacentric.training.config import TrainConfig
from datacentric.training.methods import METHODS, create_method, list_methods, method_class
from tests.helpers import assert_same_weights, train_whole_and_resumed

method_class("standard")  # loads every method module
SMALL = {"standard": {}, "pgd_at": {"steps": 2}, "iat": {"steps": 2}, "mtlat": {"eps_max": 8 / 255},
         "gnt": {"sigmas": [0.05, 0.1]}, "speckle": {}, "ant": {"eps": 3.0, "history": 2}, "augmix": {"width": 2},
         "prime": {"width": 2}}
# image passes per image in the first epoch (ANT: no replay yet)
PASSES = {"standard": 1, "pgd_at": 3, "iat": 4, "mtlat": 1.5, "gnt": 1, "speckle": 1, "ant": 1.5, "augmix": 3, "prime": 3}


def test_every_registered_method_is_tested_and_documented():
    from pathlib import Path

    methods = (Path(__file__).resolve().parents[2] / "docs" / "METHODS.md").read_text()
    assert set(SMALL) == set(METHODS)
    for entry in list_methods():
        assert entry["summary"] and f"`{entry['name']}`" in methods, entry["name"]


@pytest.mark.parametrize("name", sorted(SMALL))
def test_method_trains_counts_its_cost_and_resumes_to_the_same_weights(tmp_path, cifar4k, name):
    images, labels = torch.from_numpy(cifar4k[0][:192]), torch.from_numpy(cifar4k[1][:192])
    config = TrainConfig(epochs=3, batch_size=64, lr=0.05, method=name, method_settings=SMALL[name])

    whole, resumed = train_whole_and_resumed(tmp_path, "cifar_resnet8", images, labels, config)
    lines = [json.loads(line) for line in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and all(line["method"] == name for line in lines)
    assert lines[0]["forward_images"] == pytest.approx(PASSES[name] * 192, rel=0.02)
    assert lines[0]["backward_images"] >= 192 and lines[0]["seconds"] > 0
    assert_same_weights(whole, resumed)


def test_bad_method_settings_are_refused():
    with pytest.raises(ValueError, match="unknown training method"):
        TrainConfig(method="sgd_magic")
    with pytest.raises(ValueError, match="non-negative"):
        TrainConfig(method="gnt", method_settings={"sigma": -1.0})
    with pytest.raises(DatacentricError, match="unknown keys"):
        create_method("pgd_at", {"stepz": 3}, num_classes=10)
