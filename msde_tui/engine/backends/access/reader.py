"""Read Access files through mdbtools (Debian's ``mdbtools`` package, 1.0).

Why mdbtools and not a Python reader: it is the reader the Access world has relied on for
twenty years (Jet 3, Jet 4 and ACE), maintained, packaged by Debian, and it reads every row of
the three reference files (Access 97, 2000 and 2007). The PyPI reader ``access-parser`` 0.0.6
was tried first: it fails on the Access 97 table ``Umsätze`` (a date read as NaN) and warns
about rows it cannot parse, so it cannot back a "read every row" verification. The price:
mdbtools is a system package (``bootstrap.py`` installs it when run as root, otherwise says
how) and is not available on Windows (docs/OPERATIONS.md, "Access dossiers").

Only three mdbtools commands are used, each given its arguments as a list (no shell):
``mdb-tables -1`` (user tables), ``mdb-schema -T TABLE FILE access`` (column types as Access
names them) and ``mdb-json`` (every row, one JSON object per line; NULL values are left out).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from msde_tui.engine.errors import AccessReaderMissing, AccessUnreadable

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S"
TIMEOUT_S = 600  # wall and CPU seconds one mdbtools command may take
MEMORY_LIMIT = 1 << 30  # its address space: a sane read of a 2 GB Access file needs far less
MAX_WARNINGS = 1000
FATAL = ("beyond EOF", "Unrecognized format", "Error", "Couldn't", "Could not", "Can't")
INSTALL_HINT = (
    "Install mdbtools (Debian/Ubuntu: 'sudo apt install mdbtools'; 'python3 bootstrap.py' "
    "does it when run as root), then try again."
)
# "\t[Name]\t\t\tType (size) NOT NULL, "
_COLUMN_RE = re.compile(r"^\t\[(?P<name>[^\]]+)\]\t+(?P<type>.+?)(?P<notnull> NOT NULL)?,?\s*$")
_SIZE_RE = re.compile(r"^(?P<base>.+?)(?: \((?P<args>[\d, ]+)\))?$")


@dataclass(frozen=True)
class AccessColumn:
    name: str
    type: str  # as mdbtools names it: "Long Integer", "Currency", "Memo/Hyperlink", ...
    size: tuple[int, ...] = ()  # Text (5) -> (5,), Numeric (18, 2) -> (18, 2)
    nullable: bool = True


def tool(name: str) -> str:
    """The full path of mdbtools' ``name`` command, or AccessReaderMissing."""
    found = shutil.which(name)
    if found is None:
        raise AccessReaderMissing(
            f"The Access reader is not installed ({name} from mdbtools was not found).",
            INSTALL_HINT,
        )
    return found


def available() -> bool:
    """True when mdbtools can be used here."""
    return all(shutil.which(n) for n in ("mdb-tables", "mdb-schema", "mdb-json"))


@lru_cache(maxsize=1)
def reader_version() -> str:
    """``mdbtools v1.0.0`` (what the proofs record as the reader), or ``mdbtools``."""
    try:
        out = subprocess.run([tool("mdb-json"), "--version"], capture_output=True, text=True,
                             timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "mdbtools"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "mdbtools"


class _Reader:
    """One mdbtools command, fenced: a damaged file can send mdbtools 1.0 into a loop that
    prints "offset … is beyond EOF" by the hundred megabytes while its memory grows without end.
    So its address space is capped (``MEMORY_LIMIT``), its CPU time and wall time too, and it is
    stopped at its first fatal message (or after ``MAX_WARNINGS`` lines on stderr)."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _limit(self.proc.pid)
        self.said: list[str] = []
        self.stopped = ""
        self._errors = threading.Thread(target=self._watch_stderr, daemon=True)
        self._errors.start()
        self._timer = threading.Timer(TIMEOUT_S, self._stop, ("it took too long",))
        self._timer.daemon = True
        self._timer.start()

    def _stop(self, why: str) -> None:
        if not self.stopped:
            self.stopped = why
        with contextlib.suppress(OSError):
            self.proc.kill()

    def _watch_stderr(self) -> None:
        assert self.proc.stderr is not None
        count = 0
        for raw in self.proc.stderr:
            count += 1
            text = raw.decode("utf-8", "replace").strip()
            if text and len(self.said) < 5:
                self.said.append(text)
            if any(p in text for p in FATAL) or count > MAX_WARNINGS:
                self._stop(text[:200] or "the reader reported errors")
                return

    def finish(self, path: Path, what: str, *, stopped_by_us: bool = False) -> None:
        """Wait for the end; AccessUnreadable when it failed or was stopped."""
        if self.proc.poll() is None and stopped_by_us:
            self.proc.kill()
        code = self.proc.wait()
        self._timer.cancel()
        self._errors.join(timeout=10)
        if stopped_by_us and not self.stopped:
            return
        if self.stopped or code != 0:
            detail = self.stopped or (self.said[-1] if self.said else f"exit code {code}")
            raise AccessUnreadable(
                f"{Path(path).name}: {what} cannot be read ({detail[:200]}).",
                "The file is damaged or not a complete Access file; use a verified backup.",
            )


def _limit(pid: int) -> None:
    """Cap the memory and CPU time of the reader process (Linux; elsewhere nothing to do)."""
    try:
        import resource

        resource.prlimit(pid, resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.prlimit(pid, resource.RLIMIT_CPU, (TIMEOUT_S, TIMEOUT_S))
    except (ImportError, AttributeError, OSError, ValueError):
        pass


def _run(args: list[str], path: Path, what: str) -> str:
    run = _Reader(args)
    assert run.proc.stdout is not None
    out = run.proc.stdout.read()
    run.finish(path, what)
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AccessUnreadable(f"The reader gave unreadable text for {what} of {Path(path).name}.",
                               "The file may be damaged; try a backup.") from exc


def tables(path: Path) -> list[str]:
    """The user tables of ``path`` in the file's order (Access' own MSys* tables left out)."""
    text = _run([tool("mdb-tables"), "-1", str(path)], path, "the list of tables")
    return [line for line in text.split("\n") if line]


def columns(path: Path, table: str) -> list[AccessColumn]:
    """The columns of ``table`` with their Access types."""
    text = _run([tool("mdb-schema"), "--no-relations", "--no-indexes", "-T", table, str(path),
                 "access"], path, f"the columns of table {table}")
    found = []
    for line in text.split("\n"):
        match = _COLUMN_RE.match(line)
        if not match:
            continue
        base = _SIZE_RE.match(match["type"].strip())
        assert base is not None  # the pattern matches any text
        size = tuple(int(x) for x in base["args"].split(",")) if base["args"] else ()
        found.append(AccessColumn(match["name"], base["base"], size, not match["notnull"]))
    if not found:
        raise AccessUnreadable(f"{Path(path).name}: table {table} shows no column to the reader.",
                               "The file may be damaged; use a verified backup.")
    return found


def lines(path: Path, table: str, should_stop: Callable[[], bool] | None = None) -> Iterator[bytes]:
    """Every row of ``table`` as mdbtools prints it: one JSON object per line (UTF-8 bytes).

    Dates and times come as ``YYYY-MM-DDTHH:MM:SS``. A reader that stops with an error raises
    AccessUnreadable, also after some rows were given.
    """
    args = [tool("mdb-json"), "-D", DATETIME_FORMAT, "-T", DATETIME_FORMAT, str(path), table]
    run = _Reader(args)
    assert run.proc.stdout is not None
    cancelled = False
    try:
        for line in run.proc.stdout:
            if should_stop is not None and should_stop():
                cancelled = True
                break
            line = line.rstrip(b"\n")
            if line:
                yield line
    finally:
        run.finish(path, f"table {table}", stopped_by_us=cancelled or sys.exc_info()[0] is not None)
