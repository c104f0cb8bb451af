"""``python3 bootstrap.py run``'s second half, in the checkout's .venv: demo dossiers, then the wizard.

    python -m msde_tui.launch [--after-setup] [msde-tui options]

When the dossier list of the data directory (``--home``, else ``MSDE_HOME``, else the user
data directory) is empty, demo dossiers are created first and listed on the terminal, before
the wizard takes the screen. The wizard then runs in this same process: learning whether
dossiers exist costs reading the dossier list, not a second ``msde`` process (which would
import the CLI and the SQL engine). After a set-up (``--after-setup``) or a demo creation, on
a terminal, it waits for Enter so that what was done can be read before the wizard covers it.
"""

from __future__ import annotations

import sys

from msde_tui import i18n
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.paths import data_dir
from msde_tui.i18n import _

AFTER_SETUP = "--after-setup"


def _option(argv: list[str], name: str) -> str | None:
    """The value of ``--name VALUE`` or ``--name=VALUE`` in ``argv`` (the wizard's own options)."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def demo_if_empty(home_option: str | None) -> bool:
    """Create demo dossiers when the list is empty, saying so; True when it did."""
    home = data_dir(home_option)
    if Catalog(home).dossiers():
        return False
    print(_("No dossiers yet in {home}: creating demo dossiers ...").format(home=home), flush=True)
    from msde_tui.cli import main as msde

    code = msde(["--home", str(home), "demo"])
    if code:
        raise SystemExit(code)
    print(_("Demo dossiers created."), flush=True)
    return True


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    after_setup = AFTER_SETUP in args
    args = [a for a in args if a != AFTER_SETUP]
    i18n.setup(_option(args, "--lang"))
    try:
        created = not {"-h", "--help"} & set(args) and demo_if_empty(_option(args, "--home"))
        if (after_setup or created) and sys.stdin.isatty() and sys.stdout.isatty():
            input(_("Press Enter to open the wizard (Ctrl+C to stop here)."))
    except KeyboardInterrupt:
        print()
        raise SystemExit(130) from None
    from msde_tui.app import main as wizard

    wizard(args)


if __name__ == "__main__":
    main()
