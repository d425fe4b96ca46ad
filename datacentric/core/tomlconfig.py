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
    """pipelines/ of this checkout (or $DATACENTRIC_PIPELINES)."""
    return Path(os.environ.get("DATACENTRIC_PIPELINES", Path(__file__).resolve().parents[2] / "pipelines"))


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text())
    except OSError as error:
        raise DatacentricError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise DatacentricError(f"{path} is not UTF-8 text (a TOML file must be)") from None
    except tomllib.TOMLDecodeError as error:
        raise DatacentricError(f"{path} is not valid TOML: {error}") from None


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
