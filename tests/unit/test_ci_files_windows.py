"""The Windows CI workflow: valid for GitHub (linted here, since no Windows runs here), and it
runs what the README says with the Pythons the README names."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "windows.yml"


def lint(path: Path) -> subprocess.CompletedProcess[str]:
    """check-jsonschema against GitHub's workflow schema (vendored in the package: offline)."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, timeout=120,
    )


def test_the_windows_workflow_passes_the_linter() -> None:
    result = lint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linter_refuses_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text(encoding="utf-8").replace("    steps:", "    stepz:"), encoding="utf-8")
    assert lint(broken).returncode != 0


def test_the_workflow_runs_the_readme_test_command_on_windows() -> None:
    flow = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    job = flow["jobs"]["test"]
    assert job["runs-on"] == "windows-latest"
    assert job["strategy"]["matrix"]["python"] == ["3.11", "3.12"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert "python bootstrap.py test" in runs


@pytest.mark.parametrize("text", [
    "py -3 bootstrap.py run", "py -3 bootstrap.py test", ".github/workflows/windows.yml",
    "pipx install", "3.11", "3.12",
])
def test_the_readme_says_how_on_windows(text: str) -> None:
    assert text in (ROOT / "README.md").read_text(encoding="utf-8")


def test_operations_has_an_on_windows_section() -> None:
    text = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    assert "\n## On Windows\n" in text
    section = text.split("\n## On Windows\n", 1)[1].split("\n## ", 1)[0]
    for needed in ("%LOCALAPPDATA%", "Task Scheduler", "Detached jobs", "Nothing ran on Windows", "tested"):
        assert needed in section, needed
