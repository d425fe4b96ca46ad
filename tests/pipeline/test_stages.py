"""The one stage loop: `enhance` under torchrun with two ranks (CPU) gives the same stores, models and report as
one process, with zoo training and evaluation split over both ranks."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import copy_prepared
from tests.pipeline.test_smoke import REPO

TORCHRUN = Path(sys.executable).with_name("torchrun")
# what may differ between two runs of the same work: times, per-epoch timing lines, and the barriers' markers
VOLATILE = {"timings.json", "metrics.jsonl", "identity.json", "costs.json"}


def enhance(command: list[str], data: Path) -> subprocess.CompletedProcess:
    # one thread per process on both sides: torchrun's default, and the same arithmetic for every model
    env = {**os.environ, "DATACENTRIC_DATA": str(data), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([*command, "enhance", os.path.join(REPO, "pipelines", "smoke.toml")], capture_output=True,
                            text=True, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def contents(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".ranks" not in p.parts and p.name not in VOLATILE and p.suffix != ".png"}


def test_torchrun_with_two_ranks_gives_the_bytes_of_one_process(tmp_path, prepared):
    data = copy_prepared(prepared, tmp_path / "data")  # both runs in the same folder: models record their store's path
    enhance([sys.executable, "-m", "datacentric"], data)
    shutil.move(data, tmp_path / "one")
    data = copy_prepared(prepared, tmp_path / "data")
    ranks = enhance([str(TORCHRUN), "--standalone", "--nproc_per_node=2", "-m", "datacentric"], data)
    one, two = contents(tmp_path / "one" / "runs" / "smoke"), contents(data / "runs" / "smoke")
    assert sorted(one) == sorted(two)
    assert [path for path in one if one[path] != two[path]] == []  # stores, models, results, report.md/json
    log = ranks.stdout + ranks.stderr
    for rank in ("rank 1/2", "rank 2/2"):  # both ranks trained and evaluated a share of the models
        assert f"{rank}: trained" in log and f"{rank}: evaluated" in log
