"""No password or passphrase is ever written: config, audit log, proofs, job files, reports,
packed files, CLI output, log records — nor the T-SQL sent to the server.

The SQL Server login's password and the pack passphrase are unique marker strings; real CLI
commands run against the TDS double (real drivers) with them in ``MSDE_PASSWORD`` and
``MSDE_PACK_PASSPHRASE``; then every file under the data directory, the config directory, the
output directories and the server's directories is searched for the markers (as UTF-8 and as
UTF-16, the encoding of TDS logins), as is everything printed and logged.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine.accounting.demo import build_dossier, create_demo
from msde_tui.engine.catalog import Catalog, Dossier
from msde_tui.engine.plans import Connection, WizardPlan
from msde_tui.engine.runs import jobs

PASSWORD = "Pw-MARKER-5e1f0c9a"
PASSPHRASE = "Pp-MARKER-c41d7b22"
MARKERS = (PASSWORD, PASSPHRASE, "MARKER-5e1f0c9a", "MARKER-c41d7b22")


def _leaks(data: bytes) -> list[str]:
    found = []
    for marker in MARKERS:
        for encoding in ("utf-8", "utf-16-le"):
            if marker.encode(encoding) in data:
                found.append(f"{marker} ({encoding})")
    return found


def _scan(*roots: Path) -> tuple[int, dict[str, list[str]]]:
    scanned, leaks = 0, {}
    for root in roots:
        for path in [root] if root.is_file() else root.rglob("*"):
            if path.is_file():
                scanned += 1
                found = _leaks(path.read_bytes())
                if found:
                    leaks[str(path)] = found
    return scanned, leaks


def test_no_secret_reaches_disk_or_output(
    home: Path, tmp_path: Path, tds_server, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.setenv("MSDE_PASSWORD", PASSWORD)
    monkeypatch.setenv("MSDE_PACK_PASSPHRASE", PASSPHRASE)
    tds_server.add_login("tech", PASSWORD, sysadmin=True)
    model = tmp_path / "model.sqlite"
    build_dossier(model, code="001SOC", company="Server SA", years=2, lines=80, seed=4)
    tds_server.create_database("PW0001SOC", sqlite_file=model)
    create_demo(home, dossiers=1, years=2, lines=120)  # 001: embedded
    out = {name: tmp_path / name for name in ("pack", "bak", "auto", "copy")}
    for d in out.values():
        d.mkdir()
    printed: list[str] = []

    def msde(*argv: str, code: int = 0) -> None:
        got = main(list(argv))
        captured = capsys.readouterr()
        printed.append(captured.out + captured.err)
        assert got == code, (argv, captured.out, captured.err)

    msde("server", "add", "office", "--host", tds_server.host, "--port", str(tds_server.port), "--user", "tech")
    msde("server", "list")
    msde("--json", "server", "test", "office")
    Catalog(home).add(Dossier("002", "SOC", "Server SA", backend="mssql", location="PW0001SOC", profile="office"))

    # Server dossier: backup, verify, restore over, pack.
    msde("--json", "backup", "002", "--dir", str(tds_server.backup_dir))
    bak = next(p for p in tds_server.backup_dir.iterdir() if p.suffix == ".bak")
    msde("verify", str(bak), "--server", "office")
    msde("restore", str(bak), "--number", "002", "--server", "office", "--replace")
    msde("pack", "002", "--dir", str(out["pack"]))
    # Embedded dossier: backup + proof, encrypted packs, import, apply, verify, export.
    msde("backup", "001", "--dir", str(out["bak"]))
    msde("pack", "001", "--dir", str(out["pack"]), "--encrypt")
    pbf = next(out["pack"].glob("001*.pbf"))
    msde("import", str(pbf), "--number", "003")
    conn = sqlite3.connect(Catalog(home).get("001").path(home))
    with conn:
        conn.execute("UPDATE third_party SET name = name || ' *'")
    conn.close()
    msde("pack", "001", "--dir", str(out["pack"]), "--partial", "--encrypt")
    msde("apply", str(next(out["pack"].glob("001*.ptf"))), "--dossier", "003")
    msde("--json", "verify", str(pbf))
    msde("pack-info", str(pbf))
    msde("export", "001", "--dir", str(out["copy"]))
    # Automatic backups of both dossiers (the server one through its profile and MSDE_PASSWORD).
    msde("auto", "policy", "set", "--enable", "--dir", str(out["auto"]), "--every-days", "0",
         "--max-movements", "0")
    msde("--json", "auto")
    msde("auto", "status")
    msde("--json", "log")

    # Refusals must not echo what was typed either.
    monkeypatch.setenv("MSDE_PASSWORD", "WRONG-" + PASSWORD)
    msde("server", "test", "office", code=1)
    msde("--json", "backup", "002", "--dir", str(tds_server.backup_dir), code=1)
    monkeypatch.setenv("MSDE_PACK_PASSPHRASE", "WRONG-" + PASSPHRASE)
    msde("import", str(pbf), "--number", "004", code=1)
    monkeypatch.setenv("MSDE_PASSWORD", PASSWORD)
    monkeypatch.setenv("MSDE_PACK_PASSPHRASE", PASSPHRASE)

    # A detached job started as the wizard does: the password goes through a pipe.
    plan = WizardPlan(
        connection=Connection(kind="mssql", host=tds_server.host, port=tds_server.port, user="tech",
                              password=PASSWORD, profile="office"),
        operation="backup", directory=str(tds_server.backup_dir),
        dossiers=(Catalog(home).get("002"),),
    )
    job = jobs.start_job(plan, home=home)
    deadline = time.monotonic() + 60
    while not (job.directory / jobs.RESULT).exists():
        assert time.monotonic() < deadline, (job.directory / jobs.RUNNER_LOG).read_text()
        time.sleep(0.1)
    assert json.loads((job.directory / jobs.RESULT).read_text())["state"] == "ok"

    scanned, leaks = _scan(home, tmp_path / "xdg-config", tmp_path / "xdg-data", tmp_path / "xdg-state",
                           *out.values(), tds_server.root)
    assert leaks == {}
    assert scanned >= 20  # the scan really saw the products: proofs, packs, logs, job files...
    for kind in ("audit.log.jsonl", "connections.toml", "config.toml", "spec.json", ".json", ".pbf", ".ptf"):
        assert any(p.name.endswith(kind) for p in [*home.rglob("*"), *out["pack"].iterdir(), *out["bak"].iterdir()]), kind
    assert [m for m in MARKERS if any(m in text for text in printed)] == []
    assert [m for m in MARKERS if any(m in r.getMessage() for r in caplog.records)] == []
    assert [m for m in MARKERS if any(m in batch for batch in tds_server.batches)] == []
