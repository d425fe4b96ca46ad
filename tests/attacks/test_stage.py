import dataclasses
import json

import numpy as np
import pytest
import torch

from datacentric.attacks.engine import AttackConfig
from datacentric.attacks.stage import attack, shard_assignment
from datacentric.data.samples import Samples
from datacentric.data.store import Store, StoreInfo, write_store
from datacentric.errors import DatacentricError
from datacentric.models.io import save_model

CPU = torch.device("cpu")
CONFIG = AttackConfig(iterations=3, batch_size=16)


def write_zoo_dir(folder, models: dict, store=None) -> None:
    """A trained-zoo folder as `train` writes it, from in-memory models named `<arch>-s<seed>`; `store`:
    the training store it records."""
    members = []
    for name, model in models.items():
        arch, seed = name.split("-s")
        save_model(folder / name / "model.pt", model, arch=arch, num_classes=10, in_chans=3, meta={})
        (folder / name / "identity.json").write_text(json.dumps({"arch": arch, "test": True}))
        members.append({"name": name, "arch": arch, "seed": int(seed), "weight": 1.0})
    (folder / "zoo.json").write_text(json.dumps({"members": members, **({"store": str(store)} if store else {})}))


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


def test_shard_assignment_from_torchrun_and_slurm(monkeypatch):
    assert shard_assignment(None, None) == (0, 1)
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "5")
    monkeypatch.setenv("SLURM_ARRAY_TASK_COUNT", "4")
    monkeypatch.setenv("SLURM_ARRAY_TASK_MIN", "3")
    assert shard_assignment(None, None) == (2, 4)
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert shard_assignment(None, None) == (1, 8)
    assert shard_assignment(3, 4) == (3, 4)
    with pytest.raises(DatacentricError, match="outside"):
        shard_assignment(4, 4)
