"""Every command's --help: each option shows its default, no `<bool>` metavar, and enhance names its stages."""

from __future__ import annotations

import click
import pytest
import typer

from datacentric.cli import app
from datacentric.pipeline.runner import STAGES

ROOT = typer.main.get_command(app)


def commands(group: click.Group = ROOT, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


ALL = dict(commands())


def help_of(path: tuple[str, ...]) -> tuple[str, click.Context]:
    context = click.Context(ALL[path], info_name=" ".join(path), terminal_width=200, max_content_width=200)
    return ALL[path].get_help(context), context


@pytest.mark.parametrize("path", list(ALL), ids=" ".join)
def test_every_option_shows_its_default(path):
    text, context = help_of(path)
    assert "<bool>" not in text
    for parameter in ALL[path].params:
        if not isinstance(parameter, click.Option) or parameter.required or parameter.name in ("help", "version"):
            continue  # flags too: "[default: off]"
        record = parameter.get_help_record(context)
        assert record and "default" in record[1], f"{' '.join(path)} {parameter.opts[0]}: {record}"


def test_store_and_output_have_one_name_everywhere():
    """A store a command reads is --store, what it writes is --out; none takes them as positionals."""
    for path, command in ALL.items():
        names = {opt for p in command.params for opt in getattr(p, "opts", [])}
        assert not names & {"--input", "--test-store", "--preview"}, path
        positionals = [p.name for p in command.params if isinstance(p, click.Argument)]
        assert not {"store", "out"} & set(positionals), (path, positionals)


def test_enhance_help_lists_the_stages():
    text, _ = help_of(("enhance",))
    assert " → ".join(STAGES) in " ".join(text.split())
    assert "--set" in text
