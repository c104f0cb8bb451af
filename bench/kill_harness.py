"""Kill harness: SIGKILL the CLI at random moments and check nothing is left between states.

    .venv/bin/python bench/kill_harness.py [--trials 30] [--ops archive,unarchive,...] [--lines 6000]

For each operation (archive, unarchive, cut, restore --replace, PBF import, PTF apply) a
template data directory is prepared once; one unkilled run on a copy gives the "after"
state. Each trial copies the template, starts ``msde`` in a subprocess, SIGKILLs it after a
random delay (uniform between the interpreter's start-up time and the unkilled run's
duration, so kills land inside the operation) and then checks:

- state: the dossier list (number, short, company, GUID, file) and the row hashes of every
  table of every listed dossier equal the "before" or the "after" state — never anything else;
- leftovers: every file in the output directory and the data directory that could be
  mistaken for a product (``*.pbf``, ``*.ptf``, ``*.paf``, ``*.sqlite.bak``, safety copies,
  hidden ``.partial`` / ``.importing`` / ``.building`` files) is either verified complete by
  ``msde verify`` or refused by it, without a traceback; an unlisted dossier file in the data
  directory is counted as an orphan;
- recovery: when the state is "before", running the same command again (unkilled) must
  succeed and give the "after" state; a complete PAF left by a killed archive is refused by
  ``msde unarchive`` without changing anything.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from msde_tui.engine.accounting import demo  # noqa: E402
from msde_tui.engine.catalog import Catalog  # noqa: E402

OPERATIONS = ("archive", "unarchive", "cut", "restore", "import", "import-encrypted", "apply")
PASSPHRASE = "kill-harness passphrase"  # in MSDE_PACK_PASSPHRASE for every run (unused by clear files)
CLI = "import sys; from msde_tui.cli import main; sys.exit(main())"
STAMP = re.compile(r"_\d{8}_\d{6}")  # file-name stamps (a PAF's name in its balance entry)
PRODUCT_SUFFIXES = (".pbf", ".ptf", ".paf", ".bak", ".partial", ".importing", ".building",
                    ".restore-partial")


# --------------------------------------------------------------------------- states


def rows_state(path: Path) -> dict[str, str]:
    """Row hashes of every table; opened read-write so a hot WAL is recovered, as msde would."""
    import hashlib

    conn = sqlite3.connect(path, timeout=10)
    try:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        out = {}
        for table in tables:
            quoted = '"' + table.replace('"', '""') + '"'
            rows = sorted(STAMP.sub("_STAMP", repr(r)) for r in conn.execute(f"SELECT * FROM {quoted}"))  # noqa: S608
            out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return out
    finally:
        conn.close()


def state(home: Path) -> dict[str, Any]:
    """The dossier list and the rows of every listed dossier (``status`` is a label, left out)."""
    result: dict[str, Any] = {}
    for d in Catalog(home).dossiers():
        path = d.path(home)
        result[d.number] = {
            "short": d.short, "company": d.company, "guid": d.guid, "location": d.location,
            "rows": rows_state(path) if path.exists() else "MISSING FILE",
        }
        if path.exists():
            conn = sqlite3.connect(path)
            try:
                result[d.number]["file_guid"] = conn.execute("SELECT guid FROM dossier_info").fetchone()[0]
            except sqlite3.Error:
                result[d.number]["file_guid"] = None
            finally:
                conn.close()
    return result


def orphans(home: Path) -> list[str]:
    """Dossier files in the data directory that the list does not name."""
    listed = {d.location for d in Catalog(home).dossiers()}
    return sorted(p.name for p in home.glob("*.sqlite") if p.name not in listed)


# --------------------------------------------------------------------------- running msde


def cli_argv(home: Path, args: list[str]) -> list[str]:
    return [sys.executable, "-c", CLI, "--home", str(home), *args]


def run(home: Path, args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cli_argv(home, args), capture_output=True, text=True, env=_env(env), check=False)


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("MSDE_HOME", None)
    env["MSDE_PACK_PASSPHRASE"] = PASSPHRASE
    env.update(extra or {})
    return env


def must(home: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    done = run(home, args)
    if done.returncode != 0:
        raise RuntimeError(f"msde {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


# --------------------------------------------------------------------------- operations


@dataclass
class Operation:
    name: str
    template: Path  # a directory holding "home" (and "out" ...), copied for every trial
    args: Callable[[Path], list[str]]  # the command, given the trial directory
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


def _only(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    assert len(found) == 1, (directory, pattern, found)
    return found[0]


def _touch(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE third_party SET name = name || ' (new)' WHERE id % 3 = 0")
        conn.execute("UPDATE account SET label = label || ' *' WHERE id % 7 = 0")
    conn.close()


def prepare(root: Path, *, lines: int, years: int = 9, only: tuple[str, ...] = OPERATIONS,
            runs: int = 2) -> dict[str, Operation]:
    base = root / "base"
    home = base / "home"
    home.mkdir(parents=True)
    demo.create_demo(home, dossiers=1, years=years, lines=lines, seed=5)
    first = date.today().year - years + 1
    ops: dict[str, Operation] = {}

    def template(name: str) -> Path:
        t = root / name
        shutil.copytree(base, t)
        (t / "out").mkdir(exist_ok=True)
        return t

    t = template("archive") if "archive" in only else None
    if t is not None:
        ops["archive"] = Operation("archive", t, lambda d: ["archive", "001", "--dir", str(d / "out"), "--all"])

    t = template("unarchive") if "unarchive" in only else None
    if t is not None:
        (t / "paf").mkdir()
        must(t / "home", ["archive", "001", "--dir", str(t / "paf"), "--all"])
        ops["unarchive"] = Operation("unarchive", t, lambda d: ["unarchive", str(_only(d / "paf", "*.paf"))])

    t = template("cut") if "cut" in only else None
    if t is not None:
        ops["cut"] = Operation("cut", t, lambda d: ["cut", "001", "--keep-from", str(first + 4)])

    t = template("restore") if "restore" in only else None
    if t is not None:
        (t / "bak").mkdir()
        must(t / "home", ["backup", "001", "--dir", str(t / "bak")])
        _touch(Catalog(t / "home").get("001").path(t / "home"))  # the backup is the older state
        ops["restore"] = Operation(
            "restore", t, lambda d: ["restore", str(_only(d / "bak", "*.sqlite.bak")), "--number", "001", "--replace"])

    t = template("import") if "import" in only else None
    if t is not None:
        (t / "pack").mkdir()
        must(t / "home", ["pack", "001", "--dir", str(t / "pack")])
        ops["import"] = Operation("import", t, lambda d: ["import", str(_only(d / "pack", "*.pbf")), "--number", "002"])

    t = template("import-encrypted") if "import-encrypted" in only else None
    if t is not None:  # a kill while decrypting: no clear chunk may be left in TMPDIR (trial checks it)
        (t / "pack").mkdir()
        must(t / "home", ["pack", "001", "--dir", str(t / "pack"), "--encrypt"])
        ops["import-encrypted"] = Operation(
            "import-encrypted", t, lambda d: ["import", str(_only(d / "pack", "*.pbf")), "--number", "002"])

    t = template("apply") if "apply" in only else None
    if t is not None:
        src = root / "apply-src"
        shutil.copytree(base, src)
        (src / "out").mkdir()
        must(src / "home", ["pack", "001", "--dir", str(src / "out")])
        (t / "home" / "001SOC.sqlite").unlink()
        shutil.rmtree(t / "home")
        (t / "home").mkdir()
        must(t / "home", ["import", str(_only(src / "out", "*.pbf")), "--number", "001"])
        _touch(Catalog(src / "home").get("001").path(src / "home"))
        conn = sqlite3.connect(Catalog(src / "home").get("001").path(src / "home"))
        with conn:
            conn.execute("DELETE FROM attachment WHERE id % 2 = 0")
        conn.close()
        must(src / "home", ["pack", "001", "--dir", str(src / "out"), "--partial"])
        (t / "ptf").mkdir()
        shutil.copy(_only(src / "out", "*.ptf"), t / "ptf")
        ops["apply"] = Operation("apply", t, lambda d: ["apply", str(_only(d / "ptf", "*.ptf"))])

    for op in ops.values():
        (op.template / "home" / "audit.log.jsonl").unlink(missing_ok=True)
        op.before = state(op.template / "home")
        durations = []
        for attempt in range(runs):  # the shorter of two runs: kills must land before the end
            trial = root / f"{op.name}-unkilled-{attempt}"
            shutil.copytree(op.template, trial)
            started = time.monotonic()
            must(trial / "home", op.args(trial))
            durations.append(time.monotonic() - started)
            op.after = state(trial / "home")
            assert op.after != op.before, op.name
            shutil.rmtree(trial)
        op.seconds = min(durations)
    return ops


def startup_seconds(root: Path) -> float:
    """The interpreter and CLI start-up (``msde list`` on an empty list), the shorter of two."""
    home = root / "startup"
    home.mkdir()
    times = []
    for _ in range(2):
        started = time.monotonic()
        run(home, ["list"])
        times.append(time.monotonic() - started)
    return min(times)


# --------------------------------------------------------------------------- trials


@dataclass
class Trial:
    operation: str
    delay: float
    killed: bool
    outcome: str  # before | after | BETWEEN
    last_step: str = ""  # the last progress line the killed run printed (where the kill landed)
    leftovers: list[str] = field(default_factory=list)
    refused_leftovers: int = 0
    orphans: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    recovered: bool | None = None
    healed: bool = False  # a between state the next run of msde put right
    elapsed: float = 0.0  # how long the run took when it finished before the kill


def _candidates(directory: Path) -> list[Path]:
    found = []
    for path in directory.rglob("*"):
        if path.is_file() and (path.name.endswith(PRODUCT_SUFFIXES)
                               or (path.parent.name == "safety" and path.suffix == ".sqlite")):
            found.append(path)
    return sorted(found)


def _verify(path: Path, home: Path) -> tuple[str, str]:
    """('ok' | 'refused' | 'CRASH', detail) of ``msde verify`` on one leftover (in-process)."""
    from corruption_sweep import run_cli  # the sweep's in-process runner (captured output)

    home.mkdir(exist_ok=True)
    done = run_cli(["--home", str(home), "--json", "verify", str(path)], env={"MSDE_PACK_PASSPHRASE": PASSPHRASE})
    if done.crash or done.code not in (0, 1, 2):
        return "CRASH", f"{done.crash} {done.err[-400:]}"
    return ("ok" if done.code == 0 else "refused"), ""


def trial(op: Operation, work: Path, delay: float) -> Trial:
    shutil.copytree(op.template, work)
    home = work / "home"
    private_tmp = work / "tmp"  # the run's TMPDIR: whatever is left there outlived the process
    private_tmp.mkdir()
    proc = subprocess.Popen(cli_argv(home, op.args(work)), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=_env({"TMPDIR": str(private_tmp)}))
    started = time.monotonic()
    try:
        proc.wait(timeout=delay)
        killed = False
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed = True
    err = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    if proc.stdout:
        proc.stdout.close()
    now = state(home)
    outcome = "before" if now == op.before else "after" if _same_shape(now, op.after, op.before) else "BETWEEN"
    steps = [line.strip() for line in err.splitlines() if line.strip()]
    result = Trial(op.name, round(delay, 3), killed, outcome, _step_name(steps[-1]) if steps else "(start-up)")
    if not killed:
        result.elapsed = time.monotonic() - started
    if not killed and proc.returncode != 0:
        result.problems.append(f"finished with exit {proc.returncode}: {err[-300:]}")
    if "Traceback" in err:
        result.problems.append("traceback: " + err[-500:])
    if outcome == "BETWEEN":
        result.problems.append("between states: " + _describe(op.before, op.after, now))
        if op.name == "cut":  # the next cut (or cut --list) finishes a cut stopped after its COMMIT
            run(home, ["cut", "--list"])
            healed = state(home)
            if _same_shape(healed, op.after, op.before) or healed == op.before:
                result.healed = True
                result.problems[-1] += " (healed by the next 'msde cut --list')"
    result.orphans = orphans(home)
    left = sorted(str(p.relative_to(work)) for p in private_tmp.rglob("*") if p.is_file())
    if left:
        result.problems.append(f"files left in TMPDIR (plaintext?): {', '.join(left[:5])}")
    for path in _candidates(work):
        name = str(path.relative_to(work))
        if path.parent.name == "safety" and not Path(f"{path}.json").exists():
            result.leftovers.append(name + " (safety copy without proof)")
        verdict, detail = _verify(path, work / "verify-home")
        if verdict == "CRASH":
            result.problems.append(f"verify of leftover {name} crashed: {detail}")
        elif verdict == "refused":
            result.refused_leftovers += 1
            result.leftovers.append(name)
    if outcome == "before":
        _recover(op, work, result)
    return result


def _step_name(line: str) -> str:
    """``001SOC: write /tmp/x/001-SOC_...paf`` -> ``write``; other lines as they are (cut short)."""
    head, _, rest = line.partition(": ")
    return rest.split(" ")[0] if rest and head[:3].isdigit() else line[:40]


def _recover(op: Operation, work: Path, result: Trial) -> None:
    """From "before", what the kill left must not get in the way of doing it again."""
    home = work / "home"
    if op.name == "archive":  # a complete PAF of a killed archive: its import is refused
        for paf in (work / "out").glob("*.paf"):
            done = run(home, ["unarchive", str(paf)])
            if done.returncode == 0 or "Traceback" in done.stderr or state(home) != op.before:
                result.problems.append(f"the PAF of a killed archive was taken: {done.stderr[-300:]}")
    done = run(home, op.args(work))
    now = state(home)
    # Done again, or found done (a kill after the file was complete: the next run lists it).
    result.recovered = "Traceback" not in done.stderr and _same_shape(now, op.after, op.before)
    if not result.recovered:
        result.problems.append(f"re-run after the kill failed (exit {done.returncode}): {done.stderr[-400:]}")


def _same_shape(now: dict[str, Any], after: dict[str, Any], before: dict[str, Any]) -> bool:
    """``now`` is the after state. A dossier the operation creates (a cut) has its own new GUID
    and creation time: for those only, ``dossier_info`` and the GUID may differ — but the GUID
    in the list must then be the one in the file."""
    if now == after:
        return True
    if set(now) != set(after):
        return False
    for number in now:
        a, b = dict(now[number]), dict(after[number])
        if a == b:
            continue
        if number in before or not isinstance(a.get("rows"), dict):
            return False
        for key in ("guid", "file_guid", "location"):  # a re-run may take the next _CUTnnn name
            a.pop(key, None), b.pop(key, None)
        ra, rb = dict(a.pop("rows")), dict(b.pop("rows"))
        ra.pop("dossier_info", None), rb.pop("dossier_info", None)
        if a != b or ra != rb or now[number]["guid"] != now[number].get("file_guid"):
            return False
    return True


def _describe(before: dict[str, Any], after: dict[str, Any], now: dict[str, Any]) -> str:
    parts = []
    for number in sorted(set(before) | set(after) | set(now)):
        b, a, n = before.get(number), after.get(number), now.get(number)
        if n == b:
            parts.append(f"{number}=before")
        elif n == a:
            parts.append(f"{number}=after")
        elif n is None:
            parts.append(f"{number} missing")
        else:
            rows_b, rows_a = (b or {}).get("rows") or {}, (a or {}).get("rows") or {}
            rows_n = n.get("rows") if isinstance(n.get("rows"), dict) else {}
            mixed = [t for t in rows_n if rows_n[t] != rows_b.get(t) and rows_n[t] != rows_a.get(t)]
            meta = [k for k in n if k != "rows" and n[k] != (b or {}).get(k) and n[k] != (a or {}).get(k)]
            parts.append(f"{number}: tables neither before nor after {mixed}, fields {meta}, "
                         f"rows {'=before' if rows_n == rows_b else '=after' if rows_n == rows_a else 'mixed'}")
    return "; ".join(parts)


def run_harness(ops: dict[str, Operation], names: list[str], trials: int, seed: int, root: Path,
                startup: float, progress: Callable[[Trial], None] | None = None) -> list[Trial]:
    rng = random.Random(seed)
    results = []
    for name in names:
        op = ops[name]
        low, high = startup * 0.8, max(startup * 1.1, op.seconds * 0.98)  # nearly all killed
        for i in range(trials):
            work = root / f"{name}-{i:03d}"
            result = trial(op, work, rng.uniform(low, high))
            if not result.killed:  # it ran faster than measured: aim the next kills earlier
                high = max(low + 0.05, min(high, result.elapsed * 0.97))
            results.append(result)
            if progress:
                progress(result)
            shutil.rmtree(work, ignore_errors=True)
    return results


def report(results: list[Trial], ops: dict[str, Operation], startup: float, seconds: float) -> str:
    lines = [
        "| operation | unkilled run (s) | trials | killed | before | after | between | healed by next run | recovered | "
        "leftovers refused by verify | orphan files | problems |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for name in OPERATIONS:
        mine = [r for r in results if r.operation == name]
        if not mine:
            continue
        c = Counter(r.outcome for r in mine)
        row = Counter(
            trials=len(mine), killed=sum(r.killed for r in mine), before=c["before"], after=c["after"],
            between=c["BETWEEN"], healed=sum(r.healed for r in mine),
            recovered=sum(bool(r.recovered) for r in mine),
            refused=sum(r.refused_leftovers for r in mine), orphans=sum(bool(r.orphans) for r in mine),
            problems=sum(bool(r.problems) for r in mine),
        )
        total.update(row)
        lines.append(
            f"| {name} | {ops[name].seconds:.2f} | {row['trials']} | {row['killed']} | {row['before']} | "
            f"{row['after']} | {row['between']} | {row['healed']} | {row['recovered']} | {row['refused']} | "
            f"{row['orphans']} | {row['problems']} |")
    lines.append(
        f"| **all** | | {total['trials']} | {total['killed']} | {total['before']} | {total['after']} | "
        f"{total['between']} | {total['healed']} | {total['recovered']} | {total['refused']} | {total['orphans']} | "
        f"{total['problems']} |")
    lines.append("")
    lines.append("Where the kills landed (last progress line printed, with the outcome):")
    for name in OPERATIONS:
        mine = [r for r in results if r.operation == name and r.killed]
        if mine:
            steps = Counter(f"{r.last_step} -> {r.outcome}" for r in mine)
            lines.append(f"- {name}: " + ", ".join(f"{k} ×{v}" for k, v in sorted(steps.items())))
    lines.append("")
    lines.append(f"Interpreter start-up {startup:.2f} s; {len(results)} trials in {seconds:.0f} s.")
    for r in results:
        if r.problems or r.orphans:
            lines.append(f"- {r.operation} (kill at {r.delay} s, {r.outcome}): orphans {r.orphans}; "
                         + " | ".join(p[:300] for p in r.problems))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--ops", default=",".join(OPERATIONS))
    parser.add_argument("--lines", type=int, default=4000, help="entry lines of the demo dossier")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    names = [n for n in args.ops.split(",") if n]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="msde-kill-") as tmp:
        root = Path(tmp)
        ops = prepare(root, lines=args.lines, only=tuple(names))
        startup = startup_seconds(root)
        for op in ops.values():
            print(f"{op.name}: unkilled run {op.seconds:.2f} s", flush=True)

        def show(r: Trial) -> None:
            mark = "!!" if r.problems or r.outcome == "BETWEEN" else "  "
            print(f"{mark} {r.operation:9} kill at {r.delay:5.2f} s ({r.last_step}): {r.outcome:7} killed={r.killed} "
                  f"leftovers={len(r.leftovers)} orphans={len(r.orphans)} recovered={r.recovered}"
                  + (f" — {r.problems[0][:200]}" if r.problems else ""), flush=True)

        results = run_harness(ops, names, args.trials, args.seed, root, startup, show)
    text = report(results, ops, startup, time.monotonic() - started)
    print(text)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in results], indent=1))
    return 1 if any(r.outcome == "BETWEEN" or r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
