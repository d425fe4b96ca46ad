"""The one stage loop: `enhance` under torchrun with two ranks (CPU) gives the same stores, models and report as
one process, with zoo training and evaluation split over both ranks."""

import sys
from pathlib import Path

from tests.conftest import enhance_smoke
from tests.helpers import copy_prepared

TORCHRUN = Path(sys.executable).with_name("torchrun")
# what may differ between two runs of the same work: times, per-epoch timing lines, the lock and barrier markers
VOLATILE = {"timings.json", "metrics.jsonl", "identity.json", "costs.json", ".lock"}


def contents(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".ranks" not in p.parts and p.name not in VOLATILE and p.suffix != ".png"}


def test_torchrun_with_two_ranks_gives_the_bytes_of_one_process(tmp_path, prepared, smoke_run):
    data = copy_prepared(prepared, tmp_path / "data")
    ranks = enhance_smoke(data, command=(str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "datacentric"))
    one, two = contents(smoke_run[0] / "runs" / "smoke"), contents(data / "runs" / "smoke")
    assert sorted(one) == sorted(two)
    assert [path for path in one if one[path] != two[path]] == []  # stores, models, results, report.md/json
    log = ranks.stdout + ranks.stderr
    for rank in ("rank 1/2", "rank 2/2"):  # both ranks trained and evaluated a share of the models
        assert f"{rank}: trained" in log and f"{rank}: evaluated" in log
