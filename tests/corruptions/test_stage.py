import numpy as np

from datacentric.corruptions.stage import corrupt
from datacentric.corruptions.suites import get_suite
from datacentric.data.samples import Samples
from datacentric.data.store import Store, StoreInfo, write_store


def make_part(tmp_path, cifar4k, count=120):
    x, y = cifar4k
    index = np.arange(1000, 1000 + count)
    info = StoreInfo("cifar10", "split", tuple(str(i) for i in range(10)), {"part": "corrupted"}, 0)
    write_store(tmp_path / "part", info, Samples.clean(x[index], y[index], index), shard_size=50)
    return tmp_path / "part"


def test_same_bytes_with_one_and_two_workers_and_any_shard_size(tmp_path, cifar4k):
    part = make_part(tmp_path, cifar4k)
    suite = get_suite("paper14")
    one = corrupt(part, tmp_path / "one", suite, seed=4, workers=1, shard_size=40, progress=False).load()
    two = corrupt(part, tmp_path / "two", suite, seed=4, workers=2, shard_size=25, progress=False).load()
    for name in ("images", "labels", "source_index", "corruption", "l2", "linf"):
        assert np.array_equal(getattr(one, name), getattr(two, name)), name
    assert set(one.kind) == {"corrupted"} and (one.l2 > 0).all()
    source = Store(part).load()
    np.testing.assert_array_equal(one.labels, source.labels)
    assert set(one.corruption) <= {e.name for e in suite.entries}


def test_a_resumed_run_reuses_finished_shards(tmp_path, cifar4k):
    part = make_part(tmp_path, cifar4k, count=60)
    suite = get_suite("paper14")
    first = corrupt(part, tmp_path / "out", suite, seed=0, workers=1, shard_size=20, progress=False)
    reference = first.load()
    manifest = first.manifest
    manifest_shard = (tmp_path / "out" / "shard-00001.h5")
    manifest_shard.unlink()  # as if the run had been killed before this shard
    again = corrupt(part, tmp_path / "out", suite, seed=0, workers=1, shard_size=20, progress=False).load()
    assert np.array_equal(again.images, reference.images)
    assert manifest["config_hash"] == Store(tmp_path / "out").manifest["config_hash"]
