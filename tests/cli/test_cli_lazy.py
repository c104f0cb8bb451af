"""``msde`` builds a command from its module on first use; its table must match the modules.

msde_tui/cli/lazy.py lists every command with the module that registers it and the summary
``msde --help`` shows, so that listing commands imports none of them. These tests fail when a
module gains, loses or rewords a command and the table is not updated with it.
"""

from __future__ import annotations

import importlib

import pytest
import typer
import typer.main

from msde_tui import cli
from msde_tui.cli import lazy
from msde_tui.cli.lazy import COMMANDS, LazyGroup


def registered(module: str) -> dict[str, typer.core.TyperCommand | typer.core.TyperGroup]:
    holder = typer.Typer()
    importlib.import_module(f"msde_tui.cli.{module}").register(holder)
    return dict(typer.main.get_group(holder).commands)  # type: ignore[arg-type]


def test_every_command_a_module_registers_is_in_the_table_with_its_module() -> None:
    found = {name: module for module in lazy.modules() for name in registered(module)}
    assert found == {name: module for name, (module, _summary) in COMMANDS.items()}


def fresh_group() -> LazyGroup:
    group = typer.main.get_command(cli.app)
    assert isinstance(group, LazyGroup)
    return group


def root_help(group: LazyGroup, capsys: pytest.CaptureFixture[str]) -> str:
    with typer.Context(group, info_name="msde") as ctx:
        capsys.readouterr()
        text = group.get_help(ctx)
        return text + capsys.readouterr().out


def test_the_help_listing_from_the_table_is_the_one_the_commands_give(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    from_table = root_help(fresh_group(), capsys)
    loaded = fresh_group()
    loaded.load_all()
    from_commands = root_help(loaded, capsys)
    assert "Show the dossier list." in from_table and "pack-info" in from_table
    assert from_table == from_commands


def test_a_command_runs_from_its_own_module_only(monkeypatch: pytest.MonkeyPatch) -> None:
    group = fresh_group()
    with typer.Context(group, info_name="msde") as ctx:
        command = group.get_command(ctx, "log")
        assert command is not None and command.callback is not None
        assert command.callback.__module__ == "msde_tui.cli.log"
        assert set(group.commands) == {"log"}
        assert group.get_command(ctx, "no-such-command") is None  # looked for in every module
        assert set(group.commands) == set(COMMANDS)
