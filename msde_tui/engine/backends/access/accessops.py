"""The Access conversion in the runner's registry (``engine.runs.registry``): its plan
(``ConvertPlan``), its events (``runner.run_convert``), and what it will do in words before
anything is written (the wizard's summary, ``msde jobs``).

Describing reads the dossier list, the Access file's header and its table names (mdbtools);
it writes nothing. A plan that cannot run (not an Access dossier, a number taken, a target
that exists, Access holding the file open) is refused here, before the work starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from msde_tui.engine import naming
from msde_tui.engine.backends.access.plans import ConvertPlan
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.errors import BadInput, DossierExists
from msde_tui.engine.events import Event
from msde_tui.engine.runs import registry as runner
from msde_tui.engine.runs.registry import Description, Line, OperationDef
from msde_tui.i18n import _

SHOWN_TABLES = 6  # table names named in the summary; the rest are counted


def run_convert(plan: ConvertPlan, home: Path) -> AsyncIterator[Event]:
    from msde_tui.engine.runs import runner as operations

    return operations.run_convert(plan, home=home)


def target_of(plan: ConvertPlan, home: Path) -> tuple[str, str, str]:
    """(number, short, where) of the dossier ``plan`` makes: the embedded file's path or
    ``profile:database``. Refuses a taken number and an embedded file that exists."""
    short = naming.check_short(plan.short or plan.dossier.short)
    number = Catalog(home).free_number(plan.number)
    if plan.to == "embedded":
        target = Path(home) / naming.embedded_file_name(f"{number}{short}")
        if target.exists():
            raise DossierExists(
                _("{file} already exists.").format(file=target),
                _("Choose another number or move that file aside."),
            )
        return number, short, str(target)
    return number, short, f"{plan.to}:{naming.database_name(number, short)}"


def describe_convert(plan: ConvertPlan, home: Path) -> Description:
    from msde_tui.engine.backends.access import fileformat, reader
    from msde_tui.engine.backends.access.backend import refuse_if_open, source_file

    source = plan.dossier
    if source.backend != "access":
        raise BadInput(_("{code} is not an Access dossier.").format(code=source.code),
                       _("Choose an Access dossier (.mdb or .accdb)."))
    found = source_file(source)
    warning = refuse_if_open(found, plan.force)
    number, short, where = target_of(plan, home)
    code = f"{number}{short}"
    tables = reader.tables(found.path)
    names = ", ".join(tables[:SHOWN_TABLES]) + (
        " " + _("and {count} more").format(count=len(tables) - SHOWN_TABLES) if len(tables) > SHOWN_TABLES else "")
    access = _("Access {format} file {file} ({size})").format(
        format=found.format, file=found.path.name, size=fileformat.human_size(found.size))
    if plan.to == "embedded":
        what = _("new embedded dossier {code} ({file}) from the {access}").format(
            code=code, file=Path(where).name, access=access)
        actions = [
            _("copy {path} aside (a snapshot; the Access file is only read)").format(path=found.path),
            _("create {path} (built aside): {count} tables, every row copied").format(path=where, count=len(tables)),
            _("read every table back and compare its row digest with the Access rows"),
            _("rename it into place, then add {code} to the dossier list").format(code=code),
        ]
    else:
        profile, database = where.split(":", 1)
        what = _("new SQL Server dossier {code}: database {db} on {profile}, from the {access}").format(
            code=code, db=database, profile=profile, access=access)
        actions = [
            _("copy {path} aside (a snapshot; the Access file is only read)").format(path=found.path),
            _("CREATE DATABASE [{db}] on {profile}: {count} tables, every row copied").format(
                db=database, profile=profile, count=len(tables)),
            _("read every table back and compare its row digest with the Access rows "
              "(on a difference the database is dropped)"),
            _("add {code} to the dossier list").format(code=code),
        ]
    lines = [
        Line(source.code, what),
        Line(source.code, (_("1 table: {names}") if len(tables) == 1 else _("{count} tables: {names}")).format(
            count=len(tables), names=names or "-")),
        Line(source.code, _("the Access file is only read: msde cannot write the Access format")),
    ]
    warnings = (warning,) if warning else ()
    return Description(tuple(lines), "\n".join(actions) + "\n", warnings)


runner.register(OperationDef("convert", ConvertPlan, run_convert, describe_convert,
                             lambda p: (p.dossier.code,)))
