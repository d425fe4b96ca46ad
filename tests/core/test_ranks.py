"""Ranks: shares from torchrun and Slurm, and the filesystem barrier."""

import multiprocessing
import time

import pytest

from datacentric.core.errors import DatacentricError
from datacentric.core.ranks import Ranks, shard_assignment


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


def test_each_rank_takes_every_worlds_item_and_all_ranks_cover_the_list():
    items = list(range(10))
    shares = [Ranks(rank, 3).mine(items) for rank in range(3)]
    assert shares[1] == [1, 4, 7] and sorted(sum(shares, [])) == items


def _rank(index, folder, passed):
    if index == 2:
        time.sleep(1.0)  # the last rank arrives late
    Ranks(index, 3, job="test").barrier(folder)
    passed.put((index, time.monotonic()))


def test_the_barrier_lets_no_rank_pass_before_all_arrive(tmp_path):
    context = multiprocessing.get_context("fork")
    passed = context.Queue()
    started = time.monotonic()
    ranks = [context.Process(target=_rank, args=(i, tmp_path, passed)) for i in range(3)]
    for process in ranks:
        process.start()
    times = dict(passed.get(timeout=60) for _ in ranks)
    for process in ranks:
        process.join(timeout=10)
    assert all(process.exitcode == 0 for process in ranks)
    assert min(times.values()) - started >= 1.0  # nobody passed before the late rank arrived


def test_a_rank_that_stopped_with_an_error_stops_the_others_at_their_barrier(tmp_path):
    Ranks(1, 2, job="failing").fail(tmp_path)
    with pytest.raises(DatacentricError, match="rank 1 stopped with an error"):
        Ranks(0, 2, job="failing").barrier(tmp_path)
