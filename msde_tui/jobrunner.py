"""The detached job process: ``python -m msde_tui.jobrunner JOB_ID [--home DIR]``.

Started by ``engine.jobs.start_job`` detached from the terminal (``msde_tui.osdep``). Reads the password
(one line, possibly empty) and the plan's secrets (a JSON line) from its stdin pipe, runs the job and exits: 0 when every dossier
is OK, 1 otherwise. Everything it has to say goes to the job directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from msde_tui.engine.errors import MsdeError
from msde_tui.engine.paths import data_dir
from msde_tui.engine.runs import jobs
from msde_tui.osdep import ignore_hangup


def _read_secrets() -> tuple[str, dict[str, str]]:
    """Line 1: the connection's password; line 2 (optional): the plan's secrets as JSON."""
    try:
        if sys.stdin is None or sys.stdin.isatty():
            return "", {}
        line = sys.stdin.readline()
        extra = sys.stdin.readline()
    except (OSError, ValueError):
        return "", {}
    password = line[:-1] if line.endswith("\n") else line
    try:
        secrets = json.loads(extra) if extra.strip() else {}
    except ValueError:
        secrets = {}
    if not isinstance(secrets, dict):
        secrets = {}
    return password, {str(k): str(v) for k, v in secrets.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="msde_tui.jobrunner")
    parser.add_argument("job_id")
    parser.add_argument("--home")
    args = parser.parse_args(argv)
    ignore_hangup()  # the terminal going away is no reason to stop
    password, secrets = _read_secrets()
    try:
        result = asyncio.run(jobs.run_job(data_dir(args.home), args.job_id, password, secrets))
    except MsdeError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    return 0 if result.get("state") == jobs.OK else 1


if __name__ == "__main__":
    sys.exit(main())
