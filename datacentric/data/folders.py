"""ImageFolder sources: a tree (or a .tar/.tar.gz of one) with train/ and test/ class folders, or flat class folders.

Layouts, where `<class>` folders hold the images of one class:
    [prefix/]train/<class>/<file> and [prefix/]test/<class>/<file>: the two splits as given;
    [prefix/]<class>/<file> (no train/ or test/): one split, and a seeded stratified test split is held out.
Classes are sorted by name, files by name within a class: the order, and so every store hash, does not
depend on the file system or the archive's member order. A folder is read lazily (paths only); an archive
is read once into memory as encoded bytes (a tar stream has no random access).
"""

from __future__ import annotations

import tarfile
import zlib
from pathlib import Path

import numpy as np

from datacentric.core.errors import DatacentricError
from datacentric.core.progress import bar
from datacentric.data.source import Encoded, EncodedSplit, SourceData, hold_out

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".webp")


def _split_of(relative: str) -> tuple[str, str, str] | None:
    """('train'|'test', class, file) for paths like [prefix/]train/<class>/<file>, else None."""
    parts = Path(relative).parts
    for i, part in enumerate(parts[:-2]):
        if part in ("train", "test") and len(parts) - i == 3:
            return part, parts[i + 1], parts[i + 2]
    return None


def _assemble(files: dict[str, Encoded], where: str, *, test_fraction: float, seed: int) -> SourceData:
    """Both splits from {relative path: encoded image}: the train/test layout when any file is in it, else flat."""
    layout = {relative: _split_of(relative) for relative in files}
    if any(layout.values()):
        entries = {key: value for key, value in layout.items() if value}
    else:  # flat: the class is each image's folder, and all images sit at the same depth
        depths = {len(Path(relative).parts) for relative in files}
        if len(depths) != 1 or depths == {1}:
            raise DatacentricError(f"{where} has neither train/<class>/ and test/<class>/ folders nor one folder "
                                   "per class holding the images")
        entries = {relative: ("all", Path(relative).parent.name, Path(relative).name) for relative in files}
    class_names = sorted({cls for split, cls, _ in entries.values() if split in ("train", "all")})
    if not class_names:
        raise DatacentricError(f"{where} has no train/<class>/ images")
    index = {name: label for label, name in enumerate(class_names)}
    splits = {}
    for split in ("train", "test", "all"):
        chosen = sorted((cls, name, relative) for relative, (s, cls, name) in entries.items() if s == split)
        unknown = sorted({cls for cls, _, _ in chosen} - set(class_names))
        if unknown:
            raise DatacentricError(f"{where} has test classes missing from train: {unknown}")
        labels = np.array([index[cls] for cls, _, _ in chosen], np.int64)
        relatives = [relative for _, _, relative in chosen]
        splits[split] = EncodedSplit(lambda i, r=relatives: files[r[i]], [f"{where}:{r}" for r in relatives],
                                     labels)
    # the name, not the location: a moved data directory or archive must give the same store hashes
    description = f"imagefolder:{Path(where).name}"
    if len(splits["all"]):
        return hold_out(splits["all"], class_names, description, fraction=test_fraction, seed=seed)
    if not len(splits["test"]):
        raise DatacentricError(f"{where} has no test/<class>/ images")
    return SourceData(splits["train"], splits["test"], class_names, description)


def load_imagefolder(root: Path, *, test_fraction: float, seed: int) -> SourceData:
    """A folder tree, read lazily: only paths are held until `prepare` reads a shard."""
    files = {str(path.relative_to(root)): path for path in sorted(root.rglob("*"))
             if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()}
    if not files:
        raise DatacentricError(f"{root} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return _assemble(files, str(root), test_fraction=test_fraction, seed=seed)


def load_archive(path: Path, *, test_fraction: float, seed: int) -> SourceData:
    """A .tar/.tar.gz of an ImageFolder tree: its images' encoded bytes in memory (nothing unpacked to disk)."""
    files: dict[str, Encoded] = {}
    try:
        with tarfile.open(path, "r:*") as archive, bar(total=None, desc=f"read {path.name}", unit="file",
                                                          mininterval=1.0) as progress:
            for member in archive:
                progress.update()
                if member.isfile() and Path(member.name).suffix.lower() in IMAGE_SUFFIXES:
                    files[member.name] = archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatacentricError(f"{path} is not a readable tar archive ({reason})") from None
    if not files:
        raise DatacentricError(f"{path} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return _assemble(files, str(path), test_fraction=test_fraction, seed=seed)
