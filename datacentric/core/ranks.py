"""Ranks: which share of the work this process does, under torchrun (RANK, WORLD_SIZE, LOCAL_RANK), a Slurm
array (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or alone, and a barrier through the shared filesystem.

Every share is a pure function of (rank, world): rank r takes items r, r + world, r + 2·world, ... of a list
that every rank builds the same way, so any number of ranks gives the same outputs as one process.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence, TypeVar

from datacentric.core.errors import DatacentricError

Item = TypeVar("Item")
POLL_SECONDS = 0.2
_BARRIERS = itertools.count()  # every rank passes the same barriers in the same order: their numbers agree


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1
    job: str = "local"  # what the ranks of one launch share (torchrun's run id, Slurm's array job id)

    @classmethod
    def from_env(cls) -> Ranks:
        """torchrun's RANK/WORLD_SIZE, else a Slurm array's task id and count, else one process."""
        env = os.environ
        if "WORLD_SIZE" in env and "RANK" in env:
            rank, world = int(env["RANK"]), int(env["WORLD_SIZE"])
            # a launch's ranks share their parent (the torchrun agent) on one node; across nodes, give --rdzv-id
            job = env.get("TORCHELASTIC_RUN_ID", "none")
            job = f"agent{os.getppid()}" if job == "none" else job
        elif "SLURM_ARRAY_TASK_ID" in env and "SLURM_ARRAY_TASK_COUNT" in env:
            first = int(env.get("SLURM_ARRAY_TASK_MIN", 0))
            rank, world = int(env["SLURM_ARRAY_TASK_ID"]) - first, int(env["SLURM_ARRAY_TASK_COUNT"])
            job = env.get("SLURM_ARRAY_JOB_ID", "slurm")
        else:
            rank, world, job = 0, 1, "local"
        if not 0 <= rank < world:
            raise DatacentricError(f"rank {rank} is outside 0..{world - 1}")
        return cls(rank, world, job)

    @property
    def leader(self) -> bool:
        """Rank 0: the one that does the work that is not shared (a whole-store write, a report)."""
        return self.rank == 0

    def mine(self, items: Sequence[Item]) -> list[Item]:
        """This rank's items: every world-th one, starting at its rank."""
        return [item for i, item in enumerate(items) if i % self.world == self.rank]

    def barrier(self, folder: Path) -> None:
        """Wait until every rank has reached this barrier (the next in this process's sequence): a marker file
        per rank in `folder`, which must be on a filesystem all ranks share. One process passes at once."""
        if self.world == 1:
            return
        gate = Path(folder) / ".ranks" / self.job / f"{next(_BARRIERS):05d}"
        gate.mkdir(parents=True, exist_ok=True)
        (gate / str(self.rank)).touch()
        while len(list(gate.iterdir())) < self.world:
            failed = sorted(gate.parent.glob("failed-*"))
            if failed:
                raise DatacentricError(f"rank {failed[0].name.split('-')[1]} stopped with an error (see its log); "
                                       "re-run the same command to resume")
            time.sleep(POLL_SECONDS)

    def fail(self, folder: Path) -> None:
        """Tell the other ranks, waiting at a barrier, that this one stopped with an error."""
        if self.world > 1:
            gate = Path(folder) / ".ranks" / self.job
            gate.mkdir(parents=True, exist_ok=True)
            (gate / f"failed-{self.rank}").touch()


def shard_assignment(shard_index: int | None = None, num_shards: int | None = None) -> tuple[int, int]:
    """(index, count) from the arguments, else the process's ranks (`Ranks.from_env`)."""
    if shard_index is not None or num_shards is not None:
        index, count = shard_index or 0, num_shards or 1
        if not 0 <= index < count:
            raise DatacentricError(f"shard index {index} is outside 0..{count - 1}")
        return index, count
    ranks = Ranks.from_env()
    return ranks.rank, ranks.world
