"""``msde``: the scriptable CLI over the engine (SPEC section 7).

Exit codes: 0 done, 1 the operation failed, 2 bad usage or input. ``--json`` prints one JSON
document on stdout. Errors are printed in plain words on stderr, never as a traceback.
Each command group lives in its own module with a ``register(app)`` function, imported only
when one of its commands runs (``cli/lazy.py``: ``msde list`` does not load the SQL engine).
"""

from __future__ import annotations

import logging
import sys
import traceback

import typer

from msde_tui import i18n, osdep
from msde_tui.cli import clickwords
from msde_tui.cli.common import State, fail, setup_state
from msde_tui.cli.lazy import LazyGroup
from msde_tui.engine.atomic import os_problem
from msde_tui.engine.errors import MsdeError
from msde_tui.i18n import N_, _

app = typer.Typer(
    name="msde",
    help=N_("Back up, verify, restore, pack, archive, cut and hand over accounting dossiers."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


@app.callback()
def _global(
    ctx: typer.Context,
    home: str = typer.Option(None, "--home", help=N_("Data directory (default: MSDE_HOME or the user data dir).")),
    json_output: bool = typer.Option(False, "--json", help=N_("Print a machine-readable JSON result.")),
    lang: str = typer.Option(None, "--lang", help=N_("Language of messages: fr or en.")),
    debug: bool = typer.Option(False, "--debug", help=N_("Show the traceback of an error.")),
) -> None:
    ctx.obj = setup_state(home=home, json_output=json_output, lang=lang)


_GLOBAL_FLAGS = ("--json", "--debug")
_GLOBAL_VALUED = ("--home", "--lang")


def _command_index(argv: list[str]) -> int:
    """Index of the command name: the first token that is neither a global option nor its value."""
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 2 if argv[i] in _GLOBAL_VALUED else 1
    return min(i, len(argv))


def _hoist_globals(argv: list[str]) -> list[str]:
    """Move global options written after the command (``msde list --json``) before it.

    Tokens after ``--`` are left alone; options before the command keep their place.
    """
    i = _command_index(argv)
    front = argv[:i]
    hoisted: list[str] = []
    rest: list[str] = []
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest.extend(argv[i:])
            break
        if token in _GLOBAL_FLAGS or token.startswith(tuple(f"{o}=" for o in _GLOBAL_VALUED)):
            hoisted.append(token)
        elif token in _GLOBAL_VALUED and i + 1 < len(argv):
            hoisted += [token, argv[i + 1]]
            i += 1
        else:
            rest.append(token)
        i += 1
    return [*front, *hoisted, *rest]


def _lang_option(args: list[str]) -> str | None:
    """The value of ``--lang`` among the global options (before the command), if given."""
    front = args[: _command_index(args)]
    for i, token in enumerate(front):
        if token.startswith("--lang="):
            return token.split("=", 1)[1]
        if token == "--lang" and i + 1 < len(front):
            return front[i + 1]
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 done, 1 failed, 2 bad usage or input)."""
    args = _hoist_globals(list(sys.argv[1:] if argv is None else argv))
    language = i18n.setup(_lang_option(args))  # before any help or command is built: they speak it too
    with clickwords.speaking(language):  # Typer's own words (help panels, errors) as well
        return _run(args)


def _run(args: list[str]) -> int:
    osdep.prepare_console_streams()
    debug = "--debug" in args[: _command_index(args)]
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        app(args=args, prog_name="msde", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        return code or State.last_exit_code
    except MsdeError as exc:
        if debug:
            traceback.print_exc()
        return fail(exc)
    except KeyboardInterrupt:
        print(_("Interrupted."), file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one plain line, the traceback only with --debug
        if debug:
            traceback.print_exc()
        problem = os_problem(exc)  # a system error (read-only, full, not a directory): plain words
        if problem is not None:
            return fail(problem)
        return fail(MsdeError(
            _("Unexpected internal error ({error}).").format(error=f"{type(exc).__name__}: {exc}"),
            _("Run the command again with --debug and report the traceback."),
        ))
    return State.last_exit_code


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


__all__ = ["app", "entry", "main"]
