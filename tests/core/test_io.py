"""Atomic writes: a failed write (a full disk) is one error line naming the path, leaves the old file or none,
and no temporary."""

import errno

import pytest

from datacentric.core.errors import DatacentricError
from datacentric.core.grid import save_figure
from datacentric.core.io import write_json_atomic, write_text_atomic


class HalfWrittenFigure:
    """A figure whose save fills part of the file, then finds the disk full."""

    def savefig(self, path, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"\x89PNG half")
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_figure_that_fails_halfway_leaves_the_old_one_and_no_temporary(tmp_path):
    out = tmp_path / "severity.png"
    out.write_bytes(b"the previous figure")
    with pytest.raises(DatacentricError, match=f"cannot write {out}: No space left on device"):
        save_figure(HalfWrittenFigure(), out)
    assert out.read_bytes() == b"the previous figure" and sorted(p.name for p in tmp_path.iterdir()) == ["severity.png"]


def test_text_and_json_replace_the_old_file_whole(tmp_path):
    write_text_atomic(tmp_path / "report.md", "# new\n")
    write_json_atomic(tmp_path / "report.json", {"b": 1, "a": [1, 2]})
    assert (tmp_path / "report.md").read_text() == "# new\n"
    assert (tmp_path / "report.json").read_text().startswith('{\n "a"')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "report.md"]
