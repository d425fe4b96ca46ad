"""What the part-generator and training-method registries share: a `register` decorator and a listing."""

from __future__ import annotations

import dataclasses


def registrar(table: dict, what: str):
    """A class decorator factory: `@register("name", Settings)` sets the class's `name` and `Settings` and
    adds it to `table` (a name registered twice is a bug)."""
    def register(name: str, settings: type):
        def decorate(cls):
            if name in table:
                raise ValueError(f"{what} '{name}' is registered twice")
            cls.name, cls.Settings = name, settings
            table[name] = cls
            return cls
        return decorate
    return register


def describe(cls) -> dict:
    """A registered class as `datacentric methods` lists it: name, paper, first docstring line, defaults."""
    defaults = {f.name: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
                for f in dataclasses.fields(cls.Settings)}
    return {"name": cls.name, "paper": cls.paper, "summary": (cls.__doc__ or "").strip().splitlines()[0],
            "settings": defaults}
