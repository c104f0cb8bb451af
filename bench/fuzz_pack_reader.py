"""Fuzz the packed-file reader: any bytes must give a checked file or a PackError, nothing else.

    .venv/bin/python bench/fuzz_pack_reader.py [--seconds 300] [--engine atheris|random]

Seeds: a real PBF, PTF and PAF (and, with --encrypted, an encrypted PBF) built from a small
demo dossier. Each input is written to a file and read as msde reads a package it is given:
``PackReader(...)`` then ``verify()`` (every member's SHA-256, every chunk decoded) and every
row batch of every table. Allowed outcomes: success, or an ``MsdeError`` (``PackError``).
Anything else — another exception, a hang, a crash of the interpreter — is a finding; the
input is saved in ``--findings`` and its traceback counted.

Engines: ``atheris`` (libFuzzer, coverage-guided over the instrumented msde code; needs
``pip install atheris``) or ``random`` (the corruption sweep's structured mutations of the
seeds, then random byte flips, in a loop). Prints one summary line as JSON at the end.
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "bench"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

PASSPHRASE = "sweep passphrase"
STATS: dict[str, object] = {"execs": 0, "accepted": 0, "refused": Counter(), "findings": Counter()}


def build_seeds(directory: Path, *, encrypted: bool) -> list[Path]:
    """Small real files of each kind (from the corruption sweep's originals)."""
    from corruption_sweep import build_originals

    originals = build_originals(directory / "originals", lines=120)
    seeds = [originals.pbf, originals.ptf, originals.paf]
    if encrypted:
        seeds.append(originals.pbf_enc)
    corpus = directory / "corpus"
    corpus.mkdir()
    for seed in seeds:
        shutil.copy(seed, corpus / seed.name)
    return sorted(corpus.iterdir())


class Target:
    """Read one input as a package; record the outcome."""

    def __init__(self, work: Path, findings: Path) -> None:
        from msde_tui.engine.errors import MsdeError
        from msde_tui.packfmt.reader import PackReader

        self.reader, self.error = PackReader, MsdeError
        self.file = work / "input.pbf"
        self.findings = findings

    stats_file: Path | None = None

    def save_stats(self) -> None:
        if self.stats_file is not None:
            self.stats_file.write_text(json.dumps({k: dict(v) if isinstance(v, Counter) else v
                                                   for k, v in STATS.items()}))

    def __call__(self, data: bytes) -> None:
        STATS["execs"] = int(STATS["execs"]) + 1  # type: ignore[call-overload]
        if int(STATS["execs"]) % 500 == 0:  # type: ignore[call-overload]
            self.save_stats()
        self.file.write_bytes(data)
        try:
            with self.reader(self.file, passphrase=PASSPHRASE) as reader:
                reader.verify()
                for table in reader.schema.tables:
                    for _batch in reader.batches(table):
                        pass
            STATS["accepted"] = int(STATS["accepted"]) + 1  # type: ignore[call-overload]
        except self.error as exc:
            STATS["refused"][type(exc).__name__] += 1  # type: ignore[index]
        except Exception as exc:  # noqa: BLE001 - that is the finding
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            counter: Counter[str] = STATS["findings"]  # type: ignore[assignment]
            if not counter[key]:
                self.findings.mkdir(parents=True, exist_ok=True)
                name = hashlib.sha256(data).hexdigest()[:16]
                (self.findings / f"{name}.bin").write_bytes(data)
                (self.findings / f"{name}.txt").write_text(traceback.format_exc())
                print(f"FINDING {key}: {exc}", flush=True)
            counter[key] += 1
            self.save_stats()


def summary(engine: str, seconds: float, started: float) -> dict[str, object]:
    refused: Counter[str] = STATS["refused"]  # type: ignore[assignment]
    findings: Counter[str] = STATS["findings"]  # type: ignore[assignment]
    return {
        "engine": engine,
        "seconds": round(time.monotonic() - started, 1),
        "budget_s": seconds,
        "execs": STATS["execs"],
        "accepted": STATS["accepted"],
        "refused": dict(refused),
        "findings": dict(findings),
        "result": "no finding" if not findings else f"{sum(findings.values())} findings",
    }


def run_random(target: Target, seeds: list[Path], seconds: float, seed: int) -> None:
    """Structured mutations of the seeds (the sweep's), stacked 1-3 deep, until time is up."""
    from corruption_sweep import (
        append,
        edit_manifest,
        flip,
        rename_member,
        swap_member,
        truncate,
        zero_block,
    )

    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    scratch = target.file.with_name("mutant.pbf")
    while time.monotonic() < deadline:
        base = rng.choice(seeds)
        shutil.copy(base, scratch)
        for _ in range(rng.randint(1, 3)):
            try:
                mutation = rng.choice((flip, flip, flip, zero_block, truncate, append, "swap", "rename",
                                       "manifest"))
                if mutation == "swap":
                    swap_member(rng, scratch, rng.choice(seeds))
                elif mutation == "rename":
                    rename_member(rng, scratch)
                elif mutation == "manifest":
                    edit_manifest(rng, scratch)
                else:
                    mutation(rng, scratch)
            except Exception:  # noqa: BLE001 - a mutation that needs a valid ZIP: skip it
                break
        target(scratch.read_bytes())


def run_atheris_child(corpus: Path, stats: Path, findings: Path, seconds: float, seed: int) -> None:
    """In a child process: libFuzzer ends the process itself when the time is up."""
    import atheris

    atheris.instrument_all()  # every msde function already imported (the reader and its helpers)
    work = Path(tempfile.mkdtemp(prefix="msde-fuzz-child-"))
    target = Target(work, findings)
    target.stats_file = stats

    def one(data: bytes) -> None:
        target(data)

    argv = [sys.argv[0], str(corpus), f"-max_total_time={int(seconds)}", f"-seed={seed}",
            "-max_len=400000", "-rss_limit_mb=2048", "-timeout=30", "-print_final_stats=1"]
    atheris.Setup(argv, one)
    atheris.Fuzz()


def run_atheris(corpus: Path, work: Path, args: argparse.Namespace) -> None:
    import subprocess

    stats = work / "stats.json"
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(corpus), "--stats", str(stats), "--seconds", str(args.seconds),
         "--seed", str(args.seed), "--findings", str(args.findings)],
        check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    tail = [line for line in child.stdout.splitlines() if line.startswith(("stat::", "Done ", "FINDING", "=="))]
    print("\n".join(tail[-12:]), flush=True)
    if stats.exists():
        saved = json.loads(stats.read_text())
        STATS.update(execs=saved["execs"], accepted=saved["accepted"], refused=Counter(saved["refused"]),
                     findings=Counter(saved["findings"]))
    if child.returncode not in (0,):  # libFuzzer found a crash it could not survive (e.g. a hang)
        STATS["findings"][f"fuzzer exit {child.returncode}"] += 1  # type: ignore[index]
        print(child.stdout[-3000:], flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--engine", choices=("atheris", "random"), default=None,
                        help="default: atheris when installed, else random")
    parser.add_argument("--encrypted", action="store_true", help="also seed an encrypted PBF (slow: scrypt)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--findings", type=Path, default=Path(tempfile.gettempdir()) / "msde-fuzz-findings")
    parser.add_argument("--json", type=Path, help="write the summary here too")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)  # the corpus, in the atheris child
    parser.add_argument("--stats", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        import msde_tui.packfmt.reader  # noqa: F401 - imported before instrument_all()

        run_atheris_child(args.child, args.stats, args.findings, args.seconds, args.seed)
        return 0
    engine = args.engine
    if engine is None:
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "random"
    work = Path(tempfile.mkdtemp(prefix="msde-fuzz-"))
    seeds = build_seeds(work, encrypted=args.encrypted)
    started = time.monotonic()

    def done() -> None:
        result = summary(engine, args.seconds, started)
        print(json.dumps(result), flush=True)
        if args.json:
            args.json.write_text(json.dumps(result, indent=1))
        shutil.rmtree(work, ignore_errors=True)

    atexit.register(done)
    if engine == "atheris":
        run_atheris(seeds[0].parent, work, args)
    else:
        target = Target(work, args.findings)
        run_random(target, seeds, args.seconds, args.seed)
    findings: Counter[str] = STATS["findings"]  # type: ignore[assignment]
    return 1 if findings else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
