"""Atomic writes and content digests: a kill or a full disk leaves the old file or the new one, never half
of one, and no temporary behind."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator

from datacentric.core.errors import DatacentricError


def json_digest(value: Any) -> str:
    """sha256 (hex) of `value` as key-sorted JSON: the identity of a cache entry."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_name(path: Path) -> Path:
    """The sibling a writer fills before renaming it into place: `.NAME.tmp-PID` (a killed writer's is found
    and removed by its PID)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write; on success it is fsynced and renamed over `path`, on any
    failure it is removed. An OSError or RuntimeError while writing (a full disk: h5py and torch raise
    either) becomes one DatacentricError naming the path."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except (OSError, RuntimeError) as error:
        raise DatacentricError(f"cannot write {path}: {getattr(error, 'strerror', None) or error}") from None
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` fills a temporary sibling, which then replaces `path` (see `atomic_path`)."""
    with atomic_path(path) as tmp:
        write(tmp)


def write_json_atomic(path: Path, value: Any, *, sort_keys: bool = True) -> None:
    """Write JSON so that a kill leaves either the old file or the new one, never half of one."""
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(value, indent=1, sort_keys=sort_keys)))


def write_text_atomic(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(text))


@contextlib.contextmanager
def exclusive(folder: Path, what: str) -> Iterator[None]:
    """Hold `folder`'s lock for the block, or stop at once with one error line when another process holds it
    (one writer per run folder: two runs of one name would mix their configs' outputs)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise DatacentricError(f"{what} {folder} is in use by {holder}: wait for it to finish, or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
