"""The `attack` and `corrupt` commands' stages: one generator over a part store, shared, resumed."""

import dataclasses

import numpy as np
import pytest
import torch

from datacentric.attacks.engine import AttackConfig
from datacentric.core.errors import DatacentricError
from datacentric.corruptions.suites import get_suite
from datacentric.data.samples import Samples
from datacentric.data.store import Store, StoreInfo, write_store
from datacentric.parts.stages import attack, corrupt
from tests.helpers import write_zoo_dir

CPU = torch.device("cpu")
CONFIG = AttackConfig(iterations=3, batch_size=16)


@pytest.fixture()
def setup(tmp_path, cifar4k, trained_models):
    x, y = cifar4k
    index = np.arange(3000, 3060)
    info = StoreInfo("cifar10", "split", tuple(str(i) for i in range(10)), {"part": "adversarial"}, 0)
    write_store(tmp_path / "part", info, Samples.clean(x[index], y[index], index), shard_size=100)
    write_zoo_dir(tmp_path / "surrogates", {"cifar_vgg_small-s0": trained_models["cifar_vgg_small"],
                                            "cifar_resnet8-s0": trained_models["cifar_resnet8"]})
    write_zoo_dir(tmp_path / "holdout", {"cifar_mobilenetv2_small-s0": trained_models["cifar_mobilenetv2_small"]})
    return tmp_path


def run(setup, out, **kwargs):
    options = dict(seed=0, device=CPU, shard_size=25, progress=False)
    options.update(kwargs)
    return attack(setup / "part", setup / out, setup / "surrogates", options.pop("config", CONFIG), **options)


def test_two_shares_in_any_order_equal_one_process(setup):
    whole = run(setup, "whole", holdout=setup / "holdout")
    assert run(setup, "shared", shard_index=1, num_shards=2) is None  # shards 1 only: not complete yet
    shared = run(setup, "shared", shard_index=0, num_shards=2, holdout=setup / "holdout")
    other_batches = run(setup, "batches", config=dataclasses.replace(CONFIG, batch_size=5), shard_size=60)
    a, b, c = whole.load(), shared.load(), other_batches.load()
    assert np.array_equal(a.images, b.images) and np.array_equal(a.images, c.images)
    assert set(a.kind) == {"adversarial"} and (a.linf > 0).all()
    extra = whole.manifest["extra"]
    assert extra["whitebox_error"]["ensemble"]["adversarial"] > extra["whitebox_error"]["ensemble"]["clean"]
    assert "cifar_mobilenetv2_small-s0" in extra["transfer_error"]
    assert 0.5 < extra["budget_use"]["linf"] <= 1.0 + 1e-6 and 0 < extra["budget_use"]["l2"] <= 1.0 + 1e-6


def test_other_config_is_refused_and_killed_runs_resume(setup):
    store = run(setup, "out")
    reference = store.load().images
    (setup / "out" / "shard-00001.h5").unlink()  # as if killed before this shard landed
    assert np.array_equal(run(setup, "out").load().images, reference)
    with pytest.raises(DatacentricError, match="another config"):
        run(setup, "out", config=dataclasses.replace(CONFIG, iterations=4))


def make_part(tmp_path, cifar4k, count=120):
    x, y = cifar4k
    index = np.arange(1000, 1000 + count)
    info = StoreInfo("cifar10", "split", tuple(str(i) for i in range(10)), {"part": "corrupted"}, 0)
    write_store(tmp_path / "part", info, Samples.clean(x[index], y[index], index), shard_size=50)
    return tmp_path / "part"


def test_corrupt_gives_the_same_bytes_with_one_and_two_workers_and_any_shard_size(tmp_path, cifar4k):
    part = make_part(tmp_path, cifar4k)
    suite = get_suite("paper14")
    one = corrupt(part, tmp_path / "one", suite.name, seed=4, workers=1, shard_size=40, progress=False).load()
    two = corrupt(part, tmp_path / "two", suite.name, seed=4, workers=2, shard_size=25, progress=False).load()
    for name in ("images", "labels", "source_index", "corruption", "l2", "linf"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert set(one.kind) == {"corrupted"} and (one.l2 > 0).all()
    source = Store(part).load()
    np.testing.assert_array_equal(one.labels, source.labels)
    assert set(one.corruption) <= {e.name for e in suite.entries}


def test_a_resumed_corrupt_reuses_finished_shards(tmp_path, cifar4k):
    part = make_part(tmp_path, cifar4k, count=60)
    suite = get_suite("paper14")
    first = corrupt(part, tmp_path / "out", suite.name, seed=0, workers=1, shard_size=20, progress=False)
    reference = first.load()
    manifest = first.manifest
    manifest_shard = (tmp_path / "out" / "shard-00001.h5")
    manifest_shard.unlink()  # as if the run had been killed before this shard
    again = corrupt(part, tmp_path / "out", suite.name, seed=0, workers=1, shard_size=20, progress=False).load()
    assert np.array_equal(again.images, reference.images)
    assert manifest["config_hash"] == Store(tmp_path / "out").manifest["config_hash"]
