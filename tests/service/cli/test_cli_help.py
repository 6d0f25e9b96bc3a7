"""The command line's help: every command's, flags shown without a value, the import's columns."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from service.cli import app as cli
from service.registry.bulk import REQUIRED_COLUMNS
from service.registry.rows import CELL_FIELDS

runner = CliRunner()


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    # Typer ships its own copy of Click: a group is whatever has sub-commands.
    if hasattr(command, "commands"):
        for name, sub in sorted(command.commands.items()):
            found += _commands(sub, (*path, name))
    return found


COMMANDS = _commands(typer.main.get_command(cli))


def test_the_walk_finds_every_command() -> None:
    assert {("demo",), ("serve",), ("worker",), ("token", "list"), ("import", "workers")} <= set(
        COMMANDS
    )


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "lifeline")
def test_help_shows_no_value_for_a_flag(path: tuple[str, ...]) -> None:
    shown = runner.invoke(cli, [*path, "--help"])
    assert shown.exit_code == 0, shown.output
    assert "<bool>" not in shown.output
    assert "--help" in shown.output


def test_worker_means_one_thing() -> None:
    """``lifeline worker`` is the background work; API processes and the demo's register size
    have words of their own."""
    serve = runner.invoke(cli, ["serve", "--help"]).output
    demo = runner.invoke(cli, ["demo", "--help"]).output
    assert "--processes" in serve and "--workers" not in serve
    assert "--people" in demo and "--workers" not in demo
    refused = runner.invoke(cli, ["demo", "--no-serve", "--workers", "10"])
    assert refused.exit_code == 2


def test_import_help_lists_every_column() -> None:
    shown = runner.invoke(cli, ["import", "workers", "--help"], terminal_width=200).output
    for column in CELL_FIELDS:
        assert column in shown, column
    assert f"Required: {', '.join(REQUIRED_COLUMNS)}." in shown


def test_readme_lists_every_column_and_command() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    for column in CELL_FIELDS:
        assert f"`{column}`" in readme, column
    for command in COMMANDS:
        if command and command != ("org", "create"):
            assert f"lifeline {' '.join(command)}" in readme, command
