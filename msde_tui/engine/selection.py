"""Which dossiers a multi-dossier command runs on: ``--all`` or a ``--where`` filter.

A filter is a list of terms separated by spaces or commas (docs/OPERATIONS.md, "Choosing
dossiers"):

- ``all`` — every dossier of the list;
- ``001-099`` or ``042`` — a number range (both ends included) or one number;
- ``profile=NAME`` — the SQL Server dossiers reached through the connection profile NAME
  (``profile=embedded``: the embedded dossiers);
- ``changed`` — embedded dossiers whose movement counter differs from the one in the proof of
  their newest backup (or that have no backup yet) in the backup directory the command names,
  else the automatic backups' directory. SQL Server dossiers always count as changed (their
  counter is on the server: ``msde auto`` reads it there).

Terms of the same kind widen the choice (``001-010,020``: either range); different kinds
narrow it (``001-099 changed``: in the range *and* changed). Only the newest proof is read
for ``changed``, not the backup itself: choosing is not verifying.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from msde_tui.engine import naming
from msde_tui.engine.backends.embedded.dossier import movement_count
from msde_tui.engine.catalog import Dossier
from msde_tui.engine.errors import BackupInvalid, BadInput
from msde_tui.engine.proof import read_proof

_RANGE = re.compile(r"^(\d{1,3})(?:-(\d{1,3}))?$")
# 001SOC_20261128_120631.sqlite.bak, or ..._120631_2.sqlite.bak
_BACKUP = re.compile(r"^(?P<code>\d{3}[A-Z0-9]{1,12})_(?P<stamp>\d{8}_\d{6})(?:_(?P<n>\d{1,3}))?\.sqlite\.bak$")
HINT = "E.g. --where 001-099, --where profile=office, --where changed, or --all."


@dataclass(frozen=True)
class Where:
    """A parsed filter (``parse``); ``everything`` when it selects the whole list."""

    ranges: tuple[tuple[int, int], ...] = ()
    profiles: tuple[str, ...] = ()
    changed: bool = False
    everything: bool = False
    text: str = field(default="", compare=False)

    def matches_static(self, dossier: Dossier) -> bool:
        """Every term except ``changed`` (which needs to look at the dossier)."""
        number = int(dossier.number)
        if self.ranges and not any(lo <= number <= hi for lo, hi in self.ranges):
            return False
        if self.profiles:
            mine = "embedded" if dossier.is_embedded else (dossier.profile or "")
            if mine.lower() not in self.profiles:
                return False
        return True


def parse(text: str) -> Where:
    """Parse a ``--where`` filter; ``BadInput`` for anything it does not understand."""
    terms = [t for t in re.split(r"[\s,]+", text.strip()) if t]
    if not terms:
        raise BadInput("The --where filter is empty.", HINT)
    ranges: list[tuple[int, int]] = []
    profiles: list[str] = []
    changed = everything = False
    for term in terms:
        lower = term.lower()
        match = _RANGE.match(term)
        if lower == "all":
            everything = True
        elif lower == "changed":
            changed = True
        elif lower.startswith("profile="):
            name = term.split("=", 1)[1].strip()
            if not name:
                raise BadInput("profile= needs a connection profile name.", HINT)
            profiles.append(name.lower())
        elif match:
            lo = int(naming.check_number(match[1]))
            hi = int(naming.check_number(match[2])) if match[2] else lo
            if hi < lo:
                raise BadInput(f"The number range {term} goes backwards.", f"Write it {match[2]}-{match[1]}.")
            ranges.append((lo, hi))
        else:
            raise BadInput(f"'{term}' is not something --where understands.", HINT)
    return Where(tuple(ranges), tuple(profiles), changed, everything and not (ranges or profiles or changed),
                 text=text)


def newest_proven_movements(directory: Path, dossier: Dossier, names: Iterable[str] | None = None) -> int | None:
    """The movement counter in the proof of ``dossier``'s newest backup in ``directory`` whose
    proof is readable and names this dossier; None when there is none."""
    if names is None:
        try:
            names = [e.name for e in directory.iterdir()]
        except OSError:
            return None
    mine = []
    for name in names:
        found = _BACKUP.match(name)
        if found and found["code"] == dossier.code:
            mine.append((found["stamp"], int(found["n"] or 1), name))
    for _stamp, _n, name in sorted(mine, reverse=True):
        try:
            proof = read_proof(directory / name)
        except BackupInvalid:
            continue
        if proof.code == dossier.code and (not (proof.guid and dossier.guid) or proof.guid == dossier.guid):
            return proof.movements
    return None


def newest_backups(directory: Path, dossiers: Iterable[Dossier]) -> dict[str, Path]:
    """The newest embedded backup file in ``directory`` of each of ``dossiers``, by code (by
    the time stamp in its name; whether it is valid is for verify to say)."""
    wanted = {d.code for d in dossiers}
    best: dict[str, tuple[str, int, str]] = {}
    try:
        names = [e.name for e in Path(directory).iterdir()]
    except OSError:
        return {}
    for name in names:
        found = _BACKUP.match(name)
        if found and found["code"] in wanted:
            rank = (found["stamp"], int(found["n"] or 1), name)
            if found["code"] not in best or rank > best[found["code"]]:
                best[found["code"]] = rank
    return {code: Path(directory) / rank[2] for code, rank in best.items()}


def current_movements(home: Path, dossier: Dossier) -> int | None:
    """The dossier's movement counter now; None when its file cannot be read."""
    path = dossier.path(home)
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return None
    try:
        return movement_count(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def select(
    dossiers: Iterable[Dossier],
    where: Where,
    *,
    home: Path,
    backup_dir: Callable[[Dossier], Path],
) -> list[Dossier]:
    """The dossiers ``where`` keeps, in list order. ``backup_dir(d)`` says where ``changed``
    looks for ``d``'s newest backup (each directory is listed once)."""
    kept = [d for d in dossiers if where.matches_static(d)]
    if not where.changed:
        return kept
    listings: dict[Path, list[str]] = {}
    result = []
    for d in kept:
        if not d.is_embedded:
            result.append(d)
            continue
        directory = Path(backup_dir(d)).expanduser()
        if directory not in listings:
            try:
                listings[directory] = [e.name for e in directory.iterdir()]
            except OSError:
                listings[directory] = []
        last = newest_proven_movements(directory, d, listings[directory])
        now = current_movements(home, d)
        if last is None or now is None or now != last:
            result.append(d)
    return result
