"""``msde``: the scriptable CLI over the engine (SPEC section 7).

Exit codes: 0 done, 1 the operation failed, 2 bad usage or input. ``--json`` prints one JSON
document on stdout. Errors are printed in plain words on stderr, never as a traceback.
Each command group lives in its own module with a ``register(app)`` function.
"""

from __future__ import annotations

import sys

import typer

from msde_tui.cli import (
    auto,
    backup,
    dossiers,
    jobs,
    lifecycle,
    log,
    pack,
    server,
)
from msde_tui.cli.common import State, fail, setup_state
from msde_tui.engine.errors import MsdeError

app = typer.Typer(
    name="msde",
    help="Back up, verify, restore, pack, archive, cut and hand over accounting dossiers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    home: str = typer.Option(None, "--home", help="Data directory (default: MSDE_HOME or the user data dir)."),
    json_output: bool = typer.Option(False, "--json", help="Print a machine-readable JSON result."),
    lang: str = typer.Option(None, "--lang", help="Language of messages: fr or en."),
) -> None:
    ctx.obj = setup_state(home=home, json_output=json_output, lang=lang)


for _module in (dossiers, backup, server, pack, lifecycle, auto, jobs, log):
    _module.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 done, 1 failed, 2 bad usage or input)."""
    try:
        app(args=argv, prog_name="msde", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        return code or State.last_exit_code
    except MsdeError as exc:
        return fail(exc)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return State.last_exit_code


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


__all__ = ["app", "entry", "main"]
