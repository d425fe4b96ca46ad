"""Progress bars on a terminal only: in a log (no TTY) the stages print one line each instead."""

from __future__ import annotations

import sys

from tqdm import tqdm


def on_terminal() -> bool:
    return sys.stderr.isatty()


def bar(*, total: int | None, desc: str, unit: str = "img", enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm bar on stderr, shown only when `enabled` and stderr is a terminal."""
    kwargs.setdefault("dynamic_ncols", True)
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not (enabled and on_terminal()), **kwargs)
