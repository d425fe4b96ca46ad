import numpy as np
import pytest

from datacentric.core.errors import DatacentricError
from datacentric.data.split import largest_remainder, parse_ratio, reserved_positions, split_indices, stratified_order


@pytest.mark.parametrize("total, weights, expected", [
    (50_000, [0, 1, 4], [0, 10_000, 40_000]),
    (10, [1, 1, 1], [4, 3, 3]),
    (7, [1, 2, 0], [2, 5, 0]),
    (1, [1, 1, 1], [1, 0, 0]),
])
def test_largest_remainder_counts_are_exact(total, weights, expected):
    assert largest_remainder(total, weights) == expected


@pytest.mark.parametrize("text, message", [
    ("1:-1:4", "negative"), ("0:0:0", "all zeros"), ("1:4", "needs 3 parts"), ("a:b:c", "numbers"),
    ("1:nan:1", "non-finite"),
])
def test_bad_ratios_are_refused(text, message):
    with pytest.raises(DatacentricError, match=message):
        parse_ratio(text)


def test_split_is_a_deterministic_partition():
    labels = np.repeat(np.arange(10), 103)
    first = split_indices(labels, [1, 2, 3], seed=5)
    again = split_indices(labels, [1, 2, 3], seed=5)
    other = split_indices(labels, [1, 2, 3], seed=6)
    assert [len(first[p]) for p in first] == largest_remainder(len(labels), [1, 2, 3])
    assert all(np.array_equal(first[p], again[p]) for p in first)
    assert not np.array_equal(first["corrupted"], other["corrupted"])
    together = np.concatenate(list(first.values()))
    assert np.array_equal(np.sort(together), np.arange(len(labels)))


def test_stratified_split_keeps_class_proportions_and_limit_is_balanced():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 5000)
    parts = split_indices(labels, [0, 1, 4], seed=0, stratify=True, limit=1000)
    assert [len(v) for v in parts.values()] == [0, 200, 800]
    expected = np.bincount(labels, minlength=10) / len(labels)
    for name, count in (("adversarial", 200), ("corrupted", 800)):
        observed = np.bincount(labels[parts[name]], minlength=10)
        assert np.all(np.abs(observed - expected * count) <= 1.5), (name, observed, expected * count)


def test_custom_part_names_and_bad_limits():
    labels = np.zeros(20, int)
    parts = split_indices(labels, [1, 1], seed=0, parts=("clean", "noise"))
    assert set(parts) == {"clean", "noise"}
    with pytest.raises(DatacentricError, match="limit"):
        split_indices(labels, [1, 1], seed=0, parts=("a", "b"), limit=21)
    with pytest.raises(DatacentricError, match="part names"):
        split_indices(labels, [1, 1, 1], seed=0, parts=("a", "b"))


def test_the_reserve_is_the_same_for_every_seed_and_no_subset_touches_it():
    labels = np.repeat(np.arange(10), 500)
    reserve = reserved_positions(labels, 2000)
    assert len(reserve) == 2000 and np.array_equal(np.bincount(labels[reserve]), np.full(10, 200))
    for seed in (0, 1, 7):
        parts = split_indices(labels, [1, 2, 2], seed=seed, stratify=True, limit=1000, reserve=2000)
        used = np.concatenate(list(parts.values()))
        assert len(used) == 1000 and not np.intersect1d(used, reserve).size
    whole = split_indices(labels, [1, 1], seed=0, parts=("a", "b"), reserve=2000)  # no limit: all but the reserve
    assert sum(len(v) for v in whole.values()) == 3000
    with pytest.raises(DatacentricError, match="after a reserve of 2000"):
        split_indices(labels, [1, 1], seed=0, parts=("a", "b"), limit=4000, reserve=2000)


def test_no_reserve_gives_the_split_made_before_reserves_existed():
    """Runs made before the reserve keep their subsets: the first `limit` of the seed's stratified order."""
    labels = np.repeat(np.arange(10), 100)
    parts = split_indices(labels, [1, 2, 2], seed=3, stratify=True, limit=500)
    before = stratified_order(labels, np.random.default_rng(3))[:500]
    assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.sort(before))
    assert np.array_equal(parts["clean"], np.sort(before[:100]))
