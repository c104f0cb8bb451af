"""The detached job process: ``python -m msde_tui.jobrunner JOB_ID [--home DIR]``.

Started by ``engine.jobs.start_job`` detached from the terminal (``msde_tui.osdep``). Reads the password
(one line, possibly empty) from its stdin pipe, runs the job and exits: 0 when every dossier
is OK, 1 otherwise. Everything it has to say goes to the job directory.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from msde_tui.engine import jobs
from msde_tui.engine.errors import MsdeError
from msde_tui.engine.paths import data_dir
from msde_tui.osdep import ignore_hangup


def _read_password() -> str:
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return ""
        line = sys.stdin.readline()
    except (OSError, ValueError):
        return ""
    return line[:-1] if line.endswith("\n") else line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="msde_tui.jobrunner")
    parser.add_argument("job_id")
    parser.add_argument("--home")
    args = parser.parse_args(argv)
    ignore_hangup()  # the terminal going away is no reason to stop
    password = _read_password()
    try:
        result = asyncio.run(jobs.run_job(data_dir(args.home), args.job_id, password))
    except MsdeError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0 if result.get("state") == jobs.OK else 1


if __name__ == "__main__":
    sys.exit(main())
