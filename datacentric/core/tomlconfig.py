"""Typed config reading: TOML files into frozen dataclasses that refuse unknown keys and wrong types."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from datacentric.core.errors import DatacentricError


def pipelines_dir() -> Path:
    """The pipelines, recipes and zoos shipped inside the package (datacentric/pipelines, which a checkout
    also shows as pipelines/), or $DATACENTRIC_PIPELINES."""
    return Path(os.environ.get("DATACENTRIC_PIPELINES", Path(__file__).resolve().parents[1] / "pipelines"))


def find_pipeline(name: str | Path, beside: Path | None = None) -> Path:
    """A pipeline file a comparison names: one beside `beside` (the comparison's own folder, so a copied set of
    pipelines stays together), else the packaged one. An absolute path is used as it is."""
    for candidate in ([Path(beside) / name] if beside else []) + [pipelines_dir() / name]:
        if candidate.is_file():
            return candidate
    return pipelines_dir() / name  # missing: read_toml says so, naming the packaged path


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as error:
        raise DatacentricError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise DatacentricError(f"{path} is not UTF-8 text (a TOML file must be)") from None
    except tomllib.TOMLDecodeError as error:
        raise DatacentricError(f"{path} is not valid TOML: {error}") from None


def apply_overrides(table: dict, overrides: tuple[str, ...] | list[str], where: str) -> dict:
    """`section.key=value` overrides (the CLI's `--set`) applied to a TOML table read from `where`: the value is
    read as TOML (`3`, `0.5`, `true`, `["a", "b"]`, `"text"`), else taken as a string (`suite=cifar10c-light`);
    a number in the path indexes an array (`parts.1.share=0.4`). The typed config checks the result as it
    checks the file."""
    for override in overrides:
        dotted, sep, raw = override.partition("=")
        keys = [k.strip() for k in dotted.split(".")]
        if not sep or not all(keys):
            raise DatacentricError(f"--set takes section.key=value, got {override!r}")
        try:
            value = tomllib.loads(f"value = {raw.strip()}")["value"]
        except tomllib.TOMLDecodeError:
            value = raw.strip()
        node = table
        for depth, key in enumerate(keys[:-1]):
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise DatacentricError(f"--set {override}: {'.'.join(keys[:depth])} has no entry {key}")
                node = node[int(key)]
            else:
                node = node.setdefault(key, {})
            if not isinstance(node, (dict, list)):
                raise DatacentricError(f"--set {override}: {'.'.join(keys[:depth + 1])} in {where} is not a table")
        if isinstance(node, list):
            if not keys[-1].isdigit() or int(keys[-1]) >= len(node):
                raise DatacentricError(f"--set {override}: no entry {keys[-1]} to set")
            node[int(keys[-1])] = value
        else:
            node[keys[-1]] = value
    return table


def from_dict(cls, data: dict, where: str):
    """Build dataclass `cls` from a table, refusing unknown keys (a typo must not pass silently) and values
    of the wrong type (`iterations = 2.5`, `limit = "three"`); range checks are the dataclass's own."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise DatacentricError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(names)}")
    hints = typing.get_type_hints(cls)
    for key, value in data.items():
        expected = hints[key]
        if not _matches(value, expected):
            raise DatacentricError(f"{where}: {key} must be {_describe(expected)}, got {value!r}")
    try:
        return cls(**data)
    except (TypeError, ValueError) as error:
        raise DatacentricError(f"{where}: {error}") from None


def _matches(value: Any, expected: Any) -> bool:
    """Does a TOML value fit a field's annotation? (ints pass as floats; bools are not ints)"""
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if expected is Any or dataclasses.is_dataclass(expected):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, option) for option in args)
    if expected is type(None):
        return value is None
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is str:
        return isinstance(value, str)
    if origin is tuple or expected is tuple:
        element = args[0] if args else Any
        return isinstance(value, (list, tuple)) and all(_matches(v, element) for v in value)
    if origin is dict or expected is dict:
        return isinstance(value, dict)
    return True


def _describe(expected: Any) -> str:
    origin, args = typing.get_origin(expected), typing.get_args(expected)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is tuple:
        return f"a list of {_describe(args[0])}" if args else "a list"
    return {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a table",
            type(None): "absent"}.get(expected, getattr(expected, "__name__", str(expected)))
