"""Progress bars on a terminal or in a notebook (`tqdm.auto` draws a widget there); in a log (no TTY, no
notebook) the stages print one line each instead."""

from __future__ import annotations

import sys

from tqdm import tqdm as text_tqdm
from tqdm.auto import tqdm


def in_notebook() -> bool:
    """Running inside a Jupyter kernel (IPython's ZMQ shell), where stderr is no terminal but a widget shows."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


def on_terminal() -> bool:
    return sys.stderr.isatty()


def bar(*, total: int | None, desc: str, unit: str = "img", enabled: bool = True, **kwargs) -> tqdm:
    """A tqdm bar (stderr on a terminal, a widget in a notebook), shown only when `enabled` and one of them."""
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.update(total=total, desc=desc, unit=unit, file=sys.stderr,
                  disable=not (enabled and (on_terminal() or in_notebook())))
    try:
        return tqdm(**kwargs)
    except ImportError:  # a notebook without ipywidgets: tqdm's notebook bar refuses; text bars still work there
        return text_tqdm(**kwargs)
