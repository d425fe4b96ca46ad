"""Frozen copies of a part (`copies = k`): k draws of the same generator, each from its own seed, all in the set."""

import numpy as np
import pytest

from datacentric.core.errors import DatacentricError
from datacentric.core.randomness import copy_seed
from datacentric.data.store import Store
from datacentric.pipeline.config import load_pipeline
from tests.cli.test_data_commands import run
from tests.cli.test_safety import SMALL_BENCH, small_npz

PARTS = """
[[parts]]
name = "clean"
share = 0.5
generator = "clean"

[[parts]]
name = "augmix"
share = 0.5
generator = "augmix"
copies = {copies}
[parts.settings]
width = 2
"""


def pipeline(tmp_path, cifar4k, copies: int, name: str):
    source = small_npz(tmp_path / "small.npz", cifar4k)
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\ndataset = "{source}"\n[split]\nlimit = 120\n' + SMALL_BENCH
                    + PARTS.format(copies=copies))
    return path


def test_copies_grow_the_set_with_fresh_draws_and_copy_zero_is_the_single_part(tmp_path, data_dir, cifar4k):
    for copies, name in ((1, "one"), (3, "three")):
        path = pipeline(tmp_path, cifar4k, copies, name)
        run(["enhance", str(path), "--until", "split"], data_dir)
        run(["enhance", str(path), "--from", "parts", "--until", "assemble"], data_dir)
    one, three = data_dir / "runs" / "one", data_dir / "runs" / "three"
    assert len(Store(one / "enhanced")) == 120 and len(Store(three / "enhanced")) == 120 + 2 * 60
    first = Store(three / "parts" / "augmix").load()
    np.testing.assert_array_equal(first.images, Store(one / "parts" / "augmix").load().images)  # copy 0: the run's seed
    copies = [Store(three / "parts" / f"augmix.copy{c}").load() for c in (1, 2)]
    for copy in copies:  # the same clean images, drawn again
        np.testing.assert_array_equal(copy.source_index, first.source_index)
        assert (np.abs(copy.images.astype(int) - first.images).reshape(len(first), -1).max(axis=1) > 0).all()
    assert not np.array_equal(copies[0].images, copies[1].images)
    enhanced = Store(three / "enhanced")
    assert enhanced.manifest["config"]["copies"] == {"augmix": 3}
    assert np.bincount(enhanced.load().source_index).max() == 3  # each AugMix image in all three copies


def test_copy_seeds_are_distinct_and_copy_zero_keeps_the_seed():
    seeds = [copy_seed(0, c) for c in range(8)] + [copy_seed(1, c) for c in range(8)]
    assert seeds[0] == 0 and seeds[8] == 1 and len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**31 for s in seeds)


@pytest.mark.parametrize("copies, message", [(0, "copies must be an integer"), (2.5, "must be an integer"),
                                             (True, "must be an integer")])
def test_bad_copies_are_one_clear_error(tmp_path, cifar4k, copies, message):
    path = tmp_path / "p.toml"
    path.write_text('name = "p"\n' + PARTS.format(copies=str(copies).lower()))
    with pytest.raises(DatacentricError, match=message):
        load_pipeline(path)


def test_a_copied_part_cannot_feed_another(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('name = "p"\n' + PARTS.format(copies=2) + '\n[[parts]]\nname = "mixed"\ninput = "augmix"\n'
                    'generator = "mixup"\n')
    with pytest.raises(DatacentricError, match="have copies and feed another part"):
        load_pipeline(path)
