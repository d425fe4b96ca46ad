"""Progress bars: off in a log, on in a notebook (a Jupyter kernel's shell), as `tqdm.auto` draws them there."""

import sys
import types

from datacentric.core import progress


def test_a_log_gets_no_bar_and_a_notebook_gets_one(monkeypatch):
    assert not progress.in_notebook()  # pytest: neither a terminal (captured) nor a kernel
    monkeypatch.setattr(progress, "on_terminal", lambda: False)
    with progress.bar(total=3, desc="log") as bar:
        assert bar.disable

    class ZMQInteractiveShell:  # the shell class name IPython's kernel uses
        pass

    monkeypatch.setitem(sys.modules, "IPython",
                        types.SimpleNamespace(get_ipython=lambda: ZMQInteractiveShell()))
    assert progress.in_notebook()
    with progress.bar(total=3, desc="notebook") as bar:
        assert not bar.disable
    with progress.bar(total=3, desc="notebook", enabled=False) as bar:
        assert bar.disable  # a caller's `progress=False` still wins
