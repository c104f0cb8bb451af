"""The ``msde`` command group that imports a command's module only when that command runs.

Importing every command module up front pulled the SQL engine, pyarrow, numpy and the
drivers into every ``msde`` process (~0.7 s before ``msde list`` printed a line). Here each
command name maps to the module whose ``register(app)`` defines it; ``msde list`` imports
``cli.dossiers`` only, and ``msde --help`` lists every command from the one-line summaries
below without importing any command module. ``tests/test_cli_lazy.py`` checks this table
against what the modules register (names, order, summaries), so a new or reworded command
fails there until its line here is added or updated.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer
import typer.main
from typer._click.exceptions import UsageError
from typer._click.formatting import HelpFormatter
from typer.core import TyperCommand, TyperGroup

from msde_tui.cli import clickwords
from msde_tui.i18n import N_, _

PACKAGE = "msde_tui.cli"

# command -> (module in msde_tui.cli that registers it, the summary ``msde --help`` shows);
# in the order ``msde --help`` lists them. The summaries are English, marked N_ (the command's
# docstring is the same text) and shown in the user's language (``translate_help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("dossiers", N_("Show the dossier list.")),
    "rename": ("dossiers", N_("Change the company name shown in the list (the dossier's data is "
                           "not touched).")),
    "remove": ("dossiers", N_("Remove a dossier from the list. Its data stays unless --delete-data "
                           "is given.")),
    "free": ("dossiers", N_("Print the first free dossier number.")),
    "add": ("dossiers", N_("Put an existing dossier in the list: an embedded file (--file) or a "
                        "SQL Server database.")),
    "demo": ("dossiers", N_("Create demo dossiers (Belgian chart, journals, VAT, openings) in the "
                         "data directory.")),
    "check": ("dossiers", N_("List the integrity problems of dossiers (exit 0 healthy, 1 problems found or "
                          "not checked).")),
    "backup": ("backup", N_("Back up dossiers: a file copy + proof (embedded, Access) or a native "
                         "BACKUP (SQL Server).")),
    "verify": ("backup", N_("Verify backups: re-read and compare with the proof, integrity check, "
                         "identity.")),
    "restore": ("backup", N_("Restore a backup as dossier NUMBER; never over an existing one "
                          "without --replace.")),
    "pack": ("pack", N_("Write a PBF of each dossier, or a PTF with --partial.")),
    "import": ("pack", N_("Import a PBF or an export copy (a file, or a database on a server) as a "
                       "new dossier.")),
    "apply": ("pack", N_("Apply a PTF to the dossier it follows, in one transaction.")),
    "export": ("pack", N_("Write the export copy E + base name (E001SOC.sqlite or EPW0001SOC).")),
    "pack-info": ("pack", N_("Check every member of a packed file and show what it holds.")),
    "archive": ("lifecycle", N_("Archive fiscal years into a PAF per dossier, then replace them by "
                             "one balance entry each.")),
    "unarchive": ("lifecycle", N_("Import a PAF back into the dossier it came from: every detail "
                               "returns, the balance entry goes.")),
    "cut": ("lifecycle", N_("Move the fiscal years before --keep-from into a new dossier "
                         "<code>_CUTnnn.")),
    "audit": ("lifecycle", N_("Tax-audit transfer: a copy Admin<code> of the years asked for "
                           "(never restorable), + FEC.")),
    "log": ("log", N_("Show the audit log: who did what, when, on which dossiers, with which "
                   "result.")),
    "convert": ("access", N_("Convert an Access dossier into a new embedded dossier or SQL Server "
                          "database, every\ntable's rows checked equal; the Access file is only "
                          "read.")),
    "server": ("server", N_("SQL Server connection profiles: add, list, remove, test, browse server "
                         "directories.")),
    "auto": ("auto", N_("Automatic backups (the document's Options: 'Opérationnelle', backups "
                     "kept, delay in days, maximum of new movements, directory). Run by a "
                     "scheduler: SQL Server Express has no SQL Server Agent, so use --install "
                     "systemd|cron|taskscheduler to get the entry that runs 'msde auto' (hourly "
                     "by default); each run backs up, with verification, only the dossiers "
                     "whose delay or movement count is reached, then keeps the N newest "
                     "verified backups. SQL Server dossiers: the run never prompts; it takes "
                     "the password from MSDE_PASSWORD_<PROFILE> (or MSDE_PASSWORD) in the "
                     "scheduler's environment.")),
    "jobs": ("jobs", N_("Detached jobs started from the wizard: list, show, cancel.")),
}


def translate_help(command: Any) -> None:
    """Put a built command's help texts in the current language: its own, its options' and
    arguments', its subcommands'. The modules write them in English, marked N_ (the
    summary of a top-level command is the one in COMMANDS); the command objects are built
    afresh for each run, so the English stays in the modules."""
    if command.help:
        command.help = _(command.help)
    for param in command.params:
        if getattr(param, "help", None):
            param.help = _(param.help)
    for sub in getattr(command, "commands", {}).values():
        translate_help(sub)
    _translate_help_option(command)


HELP_OPTION = N_("Show this message and exit.")  # the help of --help (Typer's own words)


def _translate_help_option(command: Any) -> None:
    """``--help``'s own help, in the current language (Typer builds that option on first use)."""
    built = command.get_help_option

    def get_help_option(ctx: typer.Context) -> Any:
        option = built(ctx)
        if option is not None and option.help == HELP_OPTION:
            option.help = _(HELP_OPTION)
        return option

    command.get_help_option = get_help_option


def modules() -> list[str]:
    """The command modules, each once, in the order of their first command."""
    return list(dict.fromkeys(module for module, _summary in COMMANDS.values()))


class _SpokenFormatter(HelpFormatter):
    """Click's formatter with the usage line ("Usage: ", "COMMAND") in the user's language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, clickwords.usage_args(args), _(clickwords.USAGE) if prefix is None else prefix)


class SpokenContext(typer.Context):
    """The context of every msde command: its usage line (in errors and in ``--help``) speaks
    the user's language."""

    formatter_class = _SpokenFormatter


def _speaking(command: Any) -> None:
    """``command`` and its subcommands write their usage line in the user's language."""
    command.context_class = SpokenContext
    for sub in getattr(command, "commands", {}).values():
        _speaking(sub)


class _SpokenUsageError(UsageError):
    """A usage error of Click's, its message in the user's language (exit code 2 kept)."""

    def __init__(self, original: UsageError) -> None:
        super().__init__(clickwords.shown(original.format_message()), original.ctx)
        self.exit_code = original.exit_code


def _spoken(error: UsageError) -> UsageError:
    if isinstance(error, _SpokenUsageError):  # already said in the user's language, by a group below
        return error
    if type(error).__name__ == "NoArgsIsHelpError":  # its "message" is the help, and Typer
        return error  # knows it by its class name
    return _SpokenUsageError(error)


class LazyGroup(TyperGroup):
    """A Typer group whose commands are built from their module on first use.

    Every usage error, of the group or of a command (an unknown option, a missing argument, a
    bad value), passes through ``make_context`` or ``invoke`` here and leaves in the user's
    language (``clickwords.shown``); every command's usage line too (``SpokenContext``)."""

    context_class = SpokenContext

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        translate_help(self)  # the group's own help and global options (no command loaded yet)
        self._listing = False  # True while the group's own help is written
        self._loaded: set[str] = set()

    def load(self, module: str) -> None:
        """Import ``msde_tui.cli.<module>`` and add the commands its ``register`` defines."""
        if module in self._loaded:
            return
        self._loaded.add(module)
        holder = typer.Typer()
        importlib.import_module(f"{PACKAGE}.{module}").register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            translate_help(command)
            _speaking(command)
            self.commands.setdefault(name, command)

    def load_all(self) -> None:
        for module in modules():
            self.load(module)

    def list_commands(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        if cmd_name not in self.commands:
            if cmd_name in COMMANDS:
                module, summary = COMMANDS[cmd_name]
                if self._listing:  # the summary is all ``msde --help`` shows
                    return TyperCommand(cmd_name, help=_(summary))
                self.load(module)
            else:  # a command missing from COMMANDS still runs (slower), as do typos' errors
                self.load_all()
        return self.commands.get(cmd_name)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except UsageError as error:
            raise _spoken(error) from None

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except UsageError as error:
            raise _spoken(error) from None

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
