"""The real-server CI files are valid and do what docs/OPERATIONS.md says: the workflow runs
``pytest -m mssql`` against SQL Server 2019 and 2022 (Express too), started from the compose
file, with a password made per run that no file holds. Validated with check-jsonschema's
vendored schemas (GitHub workflows, the Compose specification): no Docker engine is needed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML  # check-jsonschema's own YAML reader

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "mssql.yml"
COMPOSE = ROOT / "ci" / "mssql-compose.yaml"


def load(path: Path) -> dict:  # type: ignore[type-arg]
    return YAML(typ="safe").load(path.read_text())


def lint(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("schema", "path"),
    [("vendor.github-workflows", WORKFLOW), ("vendor.compose-spec", COMPOSE)],
    ids=["workflow", "compose"],
)
def test_the_files_pass_their_schema(schema: str, path: Path) -> None:
    done = lint(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_linter_does_catch_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "run-on:"))
    assert lint("vendor.github-workflows", broken).returncode != 0


def test_the_workflow_runs_the_suite_on_2019_and_2022_express() -> None:
    flow = load(WORKFLOW)
    job = flow["jobs"]["mssql"]
    matrix = job["strategy"]["matrix"]["include"]
    assert {(m["version"], m["edition"]) for m in matrix} >= {("2019", "Express"), ("2022", "Express")}
    assert all(m["image"].startswith("mcr.microsoft.com/mssql/server:") for m in matrix)
    runs = " ".join(step.get("run", "") for step in job["steps"])
    assert "docker compose -f ci/mssql-compose.yaml up -d --wait" in runs
    assert "python -m pytest -m mssql" in runs
    test_step = next(s for s in job["steps"] if "pytest -m mssql" in s.get("run", ""))
    assert test_step["env"]["MSDE_TEST_MSSQL"].startswith("127.0.0.1,")
    assert "::add-mask::" in runs  # the per-run password never shows in the log


def test_no_password_is_written_in_either_file() -> None:
    compose = load(COMPOSE)
    env = compose["services"]["mssql"]["environment"]
    assert env["MSSQL_SA_PASSWORD"].startswith("${MSSQL_SA_PASSWORD:?")
    assert env["SQLCMDPASSWORD"].startswith("${MSSQL_SA_PASSWORD:?")
    assert " -P " not in COMPOSE.read_text()  # sqlcmd reads SQLCMDPASSWORD, not argv
    assert "Passw0rd" not in WORKFLOW.read_text() + COMPOSE.read_text()
