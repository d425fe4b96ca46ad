"""The `datacentric` command: one thin Typer command per stage; errors become one line and exit code 2."""

from __future__ import annotations

import sys

import typer

from datacentric import __version__
from datacentric.core.errors import DatacentricError

app = typer.Typer(
    add_completion=False,
    rich_markup_mode=None,  # plain help: rich markup would eat every "[default: …]" written in a help text
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Offline dataset enhancement for model robustness (paper 004's data-centric method).",
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"datacentric {__version__}")
        raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                          help="Print the version and exit.")) -> None:
    """Offline dataset enhancement for model robustness (paper 004's data-centric method)."""

def at_least(minimum: int):
    """An option callback: integers below `minimum` are one `error:` line (typer's own check prints a panel)."""
    def check(context, parameter, value):
        if value is not None and value < minimum:
            raise DatacentricError(f"--{parameter.name.replace('_', '-')} must be at least {minimum}, got {value}")
        return value
    return check


# Importing the command modules registers their commands on `app`.
from datacentric.cli import attack as _attack  # noqa: E402,F401
from datacentric.cli import catalog as _catalog  # noqa: E402,F401
from datacentric.cli import corrupt as _corrupt  # noqa: E402,F401
from datacentric.cli import data as _data  # noqa: E402,F401
from datacentric.cli import pipeline as _pipeline  # noqa: E402,F401
from datacentric.cli import train as _train  # noqa: E402,F401


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; bad input prints `error: ...` on one line and returns 2, an interrupt returns 130."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    except DatacentricError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # permissions, disk full, missing files: the system's reason and the path
        reason = error.strerror or str(error).splitlines()[0] or type(error).__name__
        path = f": {error.filename}" if getattr(error, "filename", None) else ""
        print(f"error: {reason}{path}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: finished shards are kept; re-run the same command to resume", file=sys.stderr)
        return 130
    return 0


def entry_point() -> None:
    sys.exit(main())
