"""``python3 bootstrap.py``: set-up says what it does and how far along it is; the launcher
creates demo dossiers before the wizard when the list is empty, and only then.

pip is a stand-in here (a script in the fake .venv that prints what pip prints and writes
the ``.dist-info`` folders pip writes); the real set-up is run by hand (see bench/RESULTS.md).
"""

from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from msde_tui.engine.catalog import Catalog

ROOT = Path(__file__).resolve().parents[2]

PIP_OUTPUT = """\
Obtaining file:///src/msde-tui
Collecting textual<9,>=8.0 (from msde-tui==0.1.0)
  Downloading textual-8.2.8-py3-none-any.whl (731 kB)
Processing /opt/wheels/rich-15.0.0-py3-none-any.whl (from msde-tui==0.1.0)
Requirement already satisfied: pip in ./.venv/lib/python3.11/site-packages (25.0)
Installing collected packages: rich, textual, msde-tui
Successfully installed msde-tui-0.1.0 rich-15.0.0 textual-8.2.8
"""


def load_bootstrap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pip_code: int = 0) -> ModuleType:
    """bootstrap.py with its .venv in ``tmp_path``, whose python is a stand-in for pip."""
    spec = importlib.util.spec_from_file_location("bootstrap_under_test", ROOT / "bootstrap.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    venv = tmp_path / ".venv"
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    site = venv / ("Lib/site-packages" if os.name == "nt" else "lib/python3.11/site-packages")
    site.mkdir(parents=True)
    (site / "pip-25.0.dist-info").mkdir()
    bin_dir.mkdir(parents=True, exist_ok=True)
    fake = bin_dir / "fake_python.py"
    fake.write_text(textwrap.dedent(f"""\
        import sys, pathlib
        args = sys.argv[1:]
        if args[:2] == ["-m", "pip"] and "-U" not in args:
            print({PIP_OUTPUT!r}, end="")
            for name in ("rich-15.0.0", "textual-8.2.8"):
                (pathlib.Path({str(site)!r}) / (name + ".dist-info")).mkdir(exist_ok=True)
            if {pip_code}:
                print("ERROR: No matching distribution found for textual")
            sys.exit({pip_code})
        """))
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    if os.name == "nt":
        pytest.skip("the stand-in python is a shell script")
    python.write_text(f"#!/bin/sh\nexec {sys.executable} {fake} \"$@\"\n")
    python.chmod(0o755)
    monkeypatch.setattr(module, "VENV", venv)
    monkeypatch.setattr(module, "BIN", bin_dir)
    monkeypatch.setattr(module, "STAMP", venv / ".msde-installed")
    monkeypatch.setattr(module, "RUN_STAMP", venv / ".msde-installed-run")
    monkeypatch.setattr(module, "LOG", venv / "install.log")
    monkeypatch.setattr(module, "ensure_access_reader", lambda: None)  # no apt-get in tests
    monkeypatch.setenv("LANGUAGE", "en")
    return module


@pytest.mark.posix_only
def test_set_up_names_each_step_counts_packages_and_says_when_it_is_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap = load_bootstrap(tmp_path, monkeypatch)
    assert bootstrap.ensure_venv("") is True
    out = capsys.readouterr().out
    steps = [
        "Setting up msde-tui in",
        "[1/3] Updating pip ...", "[1/3] Updating pip: done (",
        "[2/3] Installing msde-tui and its dependencies ...",
        "[2/3] Installing msde-tui and its dependencies: packages: 4, installed: 3 (",
        "[3/3] Precompiling msde-tui ...", "[3/3] Precompiling msde-tui: done (",
        "Set-up finished in",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), out
    assert "Collecting textual" in (tmp_path / ".venv" / "install.log").read_text()

    # Set up: nothing more to do or say; the test tools are another install.
    assert bootstrap.ensure_venv("") is False
    assert capsys.readouterr().out == ""
    assert bootstrap.ensure_venv("test") is True
    assert bootstrap.ensure_venv("test") is False and bootstrap.ensure_venv("") is False


@pytest.mark.posix_only
def test_while_pip_unpacks_the_line_counts_installed_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap = load_bootstrap(tmp_path, monkeypatch)
    progress = bootstrap.installing(bootstrap.installed_count(), 3)
    assert progress() == "installing: 0 of 3 packages"
    (bootstrap.site_packages() / "rich-15.0.0.dist-info").mkdir()
    assert progress() == "installing: 1 of 3 packages"


@pytest.mark.posix_only
def test_a_failed_install_shows_pip_s_last_lines_and_where_the_rest_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bootstrap = load_bootstrap(tmp_path, monkeypatch, pip_code=1)
    with pytest.raises(SystemExit) as stopped:
        bootstrap.ensure_venv("")
    assert "pip failed (exit 1)" in str(stopped.value)
    assert str(tmp_path / ".venv" / "install.log") in str(stopped.value)
    captured = capsys.readouterr()
    assert "No matching distribution found for textual" in captured.err
    assert "Installing msde-tui and its dependencies: failed" in captured.out
    assert not (tmp_path / ".venv" / ".msde-installed-run").exists()


def test_demo_dossiers_are_made_and_listed_when_the_list_is_empty_and_only_then(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from msde_tui import i18n
    from msde_tui.launch import demo_if_empty

    i18n.setup("en")
    assert demo_if_empty(str(home)) is True
    out = capsys.readouterr().out
    assert f"No dossiers yet in {home}: creating demo dossiers ..." in out
    assert "001SOC" in out and "Demo dossiers created." in out
    assert len(Catalog(home).dossiers()) == 3
    assert demo_if_empty(str(home)) is False
    assert capsys.readouterr().out == ""
    assert len(Catalog(home).dossiers()) == 3
