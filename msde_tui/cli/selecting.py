"""``--all`` and ``--where`` for the commands that run on many dossiers (engine: ``selection``).

Their help texts live in ``cli.common`` (``ALL_HELP``, ``WHERE_HELP``): a command module names
them without loading the selection until it runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from msde_tui.cli.common import ALL_HELP, WHERE_HELP, State
from msde_tui.engine import selection
from msde_tui.engine.auto import policy as auto_policy
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BadInput
from msde_tui.i18n import _

__all__ = ["ALL_HELP", "WHERE_HELP", "auto_backup_dir", "choose"]


def auto_backup_dir(home: Path) -> Callable[[Dossier], Path]:
    """Where ``changed`` looks for a dossier's last backup: the automatic backups' directory."""
    config = auto_policy.load(home)
    return lambda d: config.effective(d.code).target_dir(home)


def choose(
    st: State,
    refs: list[str] | None,
    *,
    select_all: bool = False,
    where: str | None = None,
    backup_dir: Callable[[Dossier], Path] | None = None,
) -> list[Dossier]:
    """The dossiers named by ``refs``, or chosen by ``--all`` / ``--where``, each once, in order.

    Names and a filter cannot be mixed; naming nothing at all is bad input. An empty result
    of a filter is not an error (``--where changed`` when nothing changed): the caller says so.
    """
    refs = [r for r in (refs or []) if r.strip()]
    if refs and (select_all or where):
        raise BadInput(_("Name dossiers or use --all / --where, not both."),
                       _("Either name the dossiers (001 002) or give --all or --where alone."))
    catalog = st.catalog()
    if refs:
        chosen: dict[str, Dossier] = {}
        for ref in refs:
            dossier = catalog.get(ref)
            chosen.setdefault(dossier.number, dossier)
        return list(chosen.values())
    if not (select_all or where):
        raise BadInput(_("Which dossiers? Name them (001 002...), or use --all or --where."),
                       selection.HINT)
    wanted = selection.parse(where) if where else selection.Where(everything=True, text="all")
    return selection.select(catalog.dossiers(), wanted, home=st.home,
                            backup_dir=backup_dir or auto_backup_dir(st.home))
