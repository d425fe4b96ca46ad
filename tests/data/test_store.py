import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from datacentric.core.errors import DatacentricError
from datacentric.data.samples import Samples, distances
from datacentric.data.store import Store, StoreInfo, shard_plan, write_store

INFO = StoreInfo("cifar10", "test", ("a", "b", "c"), {"alpha": 1}, seed=7)


def make_samples(count=50, soft=True, seed=0):
    rng = np.random.default_rng(seed)
    source = rng.integers(0, 256, (count, 8, 8, 3), dtype=np.uint8)
    images = np.clip(source.astype(int) + rng.integers(-3, 4, source.shape), 0, 255).astype(np.uint8)
    l2, linf = distances(source, images)
    return Samples(
        images=images,
        labels=rng.integers(0, 3, count),
        source_index=rng.permutation(1000)[:count],
        kind=rng.choice(["clean", "adversarial", "corrupted"], count),
        corruption=rng.choice(["", "snow", "gaussian_noise"], count),
        severity=rng.integers(0, 6, count).astype(np.int8),
        l2=l2,
        linf=linf,
        soft_labels=rng.random((count, 3)).astype(np.float32) + 0.01 if soft else None,
    )


def assert_same(a: Samples, b: Samples):
    for name in ("images", "labels", "source_index", "kind", "corruption", "severity", "l2", "linf", "soft_labels"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_round_trip_of_every_field(tmp_path):
    samples = make_samples()
    write_store(tmp_path / "s", INFO, samples, shard_size=16)
    store = Store(tmp_path / "s")
    assert len(store) == 50 and store.shard_ids == [0, 1, 2, 3]
    assert store.image_shape == samples.images.shape[1:]
    assert store.class_names == ["a", "b", "c"] and store.info == INFO
    assert_same(store.load(), samples)
    images, labels, soft = store.load_images_labels()
    np.testing.assert_array_equal(images, samples.images)
    np.testing.assert_array_equal(labels, samples.labels)
    np.testing.assert_array_equal(soft, samples.soft_labels)


def test_shards_are_readable_with_plain_h5py(tmp_path):
    samples = make_samples(soft=False)
    write_store(tmp_path / "s", INFO, samples, shard_size=100)
    with h5py.File(tmp_path / "s" / "shard-00000.h5") as h5:
        assert h5["images"].dtype == np.uint8 and h5["images"].compression == "lzf"
        assert json.loads(h5.attrs["config"]) == {"alpha": 1}
        assert json.loads(h5.attrs["class_names"]) == ["a", "b", "c"]
        assert h5.attrs["stage"] == "test" and h5.attrs["seed"] == 7
        assert list(h5["kind"][:].astype(str)) == list(samples.kind)
        assert "soft_labels" not in h5


def test_shard_plan_covers_every_position_once():
    plan = shard_plan(10, 4)
    assert [list(p) for p in plan] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert shard_plan(0, 4) == []


def test_resume_skips_recorded_shards(tmp_path):
    samples = make_samples()
    write_store(tmp_path / "s", INFO, samples, shard_size=16)
    mtimes = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "s").glob("shard-*.h5")}
    write_store(tmp_path / "s", INFO, samples, shard_size=16)
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in (tmp_path / "s").glob("shard-*.h5")}


def test_other_config_is_refused_unless_overwrite(tmp_path):
    write_store(tmp_path / "s", INFO, make_samples(), shard_size=16)
    other = StoreInfo("cifar10", "test", ("a", "b", "c"), {"alpha": 2}, seed=7)
    with pytest.raises(DatacentricError, match="another config"):
        write_store(tmp_path / "s", other, make_samples(), shard_size=16)
    write_store(tmp_path / "s", other, make_samples(seed=1), shard_size=16, overwrite=True)
    assert Store(tmp_path / "s").manifest["config"] == {"alpha": 2}


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_tampered_shard_is_detected_and_regenerated(tmp_path, damage, capsys):
    samples = make_samples()
    write_store(tmp_path / "s", INFO, samples, shard_size=16)
    path = tmp_path / "s" / "shard-00001.h5"
    if damage == "flip":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:1000])
    else:
        path.unlink()
    with pytest.raises(DatacentricError, match="shard-00001"):
        Store(tmp_path / "s").load()
    write_store(tmp_path / "s", INFO, samples, shard_size=16)
    problem = "is missing" if damage == "delete" else "fails its checksum"  # the message says which
    assert f"shard-00001.h5 {problem}" in capsys.readouterr().err
    assert_same(Store(tmp_path / "s").load(), samples)


def test_incomplete_store_is_not_readable(tmp_path):
    store = Store.create(tmp_path / "s", INFO)
    store.write_shard(0, make_samples(10))
    with pytest.raises(DatacentricError, match="incomplete"):
        Store(tmp_path / "s")
    with pytest.raises(DatacentricError, match="lacks shards"):
        store.finish(2)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: setattr(s, "labels", s.labels + 3), "labels must lie in"),
        (lambda s: setattr(s, "images", s.images.astype(np.float32)), "uint8"),
        (lambda s: setattr(s, "images", s.images[..., :2]), "C in"),
        (lambda s: setattr(s, "soft_labels", -s.soft_labels), "non-negative"),
        (lambda s: setattr(s, "l2", s.l2[:-1]), "l2 must have shape"),
    ],
)
def test_malformed_samples_are_refused_and_nothing_is_written(tmp_path, change, message):
    samples = make_samples()
    change(samples)
    store = Store.create(tmp_path / "s", INFO)
    with pytest.raises(DatacentricError, match=message):
        store.write_shard(0, samples)
    assert not list((tmp_path / "s").glob("*.h5")) and not list((tmp_path / "s").glob(".*.tmp-*"))


WRITER = """
import sys, time, numpy as np
sys.path.insert(0, {tests!r})
from data.test_store import INFO, make_samples
from datacentric.data.store import Store, shard_plan
samples = make_samples(200)
store = Store.create(sys.argv[1], INFO)
plan = shard_plan(len(samples), 10)
for shard_id, positions in enumerate(plan):
    if not store.has_shard(shard_id):
        store.write_shard(shard_id, samples.select(positions))
        time.sleep(float(sys.argv[2]))
store.finish(len(plan))
"""


def test_writer_killed_mid_write_resumes_to_the_same_store(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(tests=str(os.path.dirname(os.path.dirname(__file__)))))
    subprocess.run([sys.executable, str(script), str(tmp_path / "whole"), "0"], check=True)
    writer = subprocess.Popen([sys.executable, str(script), str(tmp_path / "killed"), "0.002"])
    manifest = tmp_path / "killed" / "manifest.json"
    deadline = time.time() + 60
    while time.time() < deadline:
        if manifest.exists() and len(json.loads(manifest.read_text() or "{}").get("shards", {})) >= 3:
            break
        time.sleep(0.01)
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    with pytest.raises(DatacentricError, match="incomplete"):
        Store(tmp_path / "killed")
    subprocess.run([sys.executable, str(script), str(tmp_path / "killed"), "0"], check=True)
    whole, killed = Store(tmp_path / "whole"), Store(tmp_path / "killed")
    assert_same(whole.load(), killed.load())
    assert {k: v["sha256"] for k, v in whole.manifest["shards"].items()} == {
        k: v["sha256"] for k, v in killed.manifest["shards"].items()}
    assert not list((tmp_path / "killed").glob(".*.tmp-*"))
