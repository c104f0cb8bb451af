"""Every operation command of the CLI appends exactly one audit-log line (SPEC section 6).

One dossier goes through backup, verify, restore, pack, import, pack --partial, apply, export,
archive, unarchive, cut, audit and auto; after each command the log must have grown by one
line naming that operation, its result and the files it wrote. A refused operation is logged
too, as failed.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from msde_tui.cli import main
from msde_tui.engine import auditlog
from msde_tui.engine.accounting import demo


def _lines(home: Path) -> list[dict]:
    return auditlog.read(home)


def _run(home: Path, capsys: pytest.CaptureFixture[str], argv: list[str], operation: str,
         *, result: str = "ok", code: int = 0, inner: tuple[str, ...] = ()) -> dict:
    before = len(_lines(home))
    got = main(["--json", *argv])
    out = capsys.readouterr()
    assert got == code, (argv, out.out, out.err)
    lines = _lines(home)
    assert [x["operation"] for x in lines[before:]] == [*inner, operation], (argv, lines[before:])
    line = lines[-1]
    assert line["operation"] == operation and line["result"] == result, line
    assert {"time", "user", "host", "dossiers", "options", "duration_s", "files"} <= line.keys()
    if result == "ok":
        assert line["files"], line
        for file in line["files"]:
            assert Path(file).exists(), file
    return line


def test_every_operation_appends_one_line(home: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    demo.create_demo(home, dossiers=1, years=9, lines=450)
    dirs = {name: tmp_path / name for name in ("bak", "pack", "exp", "paf", "tax")}
    for d in dirs.values():
        d.mkdir()

    _run(home, capsys, ["backup", "001", "--dir", str(dirs["bak"])], "backup")
    bak = next(dirs["bak"].glob("*.sqlite.bak"))
    _run(home, capsys, ["verify", str(bak)], "verify")
    _run(home, capsys, ["restore", str(bak), "--number", "005"], "restore")

    _run(home, capsys, ["pack", "001", "--dir", str(dirs["pack"])], "pack")
    pbf = next(dirs["pack"].glob("*.pbf"))
    line = _run(home, capsys, ["import", str(pbf), "--number", "006"], "import")
    assert line["dossiers"] == ["006" + line["dossiers"][0][3:]]
    _run(home, capsys, ["pack", "001", "--dir", str(dirs["pack"]), "--partial"], "pack")
    ptf = next(dirs["pack"].glob("*.ptf"))
    _run(home, capsys, ["apply", str(ptf), "--dossier", "006"], "apply")
    _run(home, capsys, ["export", "001", "--dir", str(dirs["exp"])], "export")

    _run(home, capsys, ["archive", "001", "--dir", str(dirs["paf"]), "--all"], "archive")
    paf = next(dirs["paf"].glob("*.paf"))
    _run(home, capsys, ["unarchive", str(paf)], "unarchive")
    first = date.today().year - 8
    _run(home, capsys, ["cut", "001", "--keep-from", str(first + 2)], "cut")
    _run(home, capsys, ["audit", "001", "--years", str(first + 4), "--dir", str(dirs["tax"])], "audit")

    assert main(["auto", "policy", "set", "--enable", "--dir", str(tmp_path / "auto")]) == 0
    (tmp_path / "auto").mkdir()
    # auto runs the ordinary backup (its own "backup" line), then logs the run and its rotation.
    line = _run(home, capsys, ["auto", "--dossier", "001"], "auto", inner=("backup",))
    assert line["dossiers"] == ["001" + line["dossiers"][0][3:]]

    # A refused operation is logged as failed (with the reason), not silently dropped.
    bad = tmp_path / "bad.sqlite.bak"
    bad.write_bytes(bak.read_bytes()[:4096])
    (tmp_path / "bad.sqlite.bak.json").write_text((bak.parent / (bak.name + ".json")).read_text())
    line = _run(home, capsys, ["verify", str(bad)], "verify", result="failed", code=1)
    assert "truncated" in line["message"]
    broken = tmp_path / "broken.pbf"
    broken.write_bytes(pbf.read_bytes()[:-100])
    line = _run(home, capsys, ["import", str(broken)], "import", result="failed", code=1)
    assert line["message"]

    operations = [entry["operation"] for entry in _lines(home)]
    assert operations == ["backup", "verify", "restore", "pack", "import", "pack", "apply", "export",
                          "archive", "unarchive", "cut", "audit", "backup", "auto", "verify", "import"]
    assert main(["--json", "log"]) == 0
    assert len(json.loads(capsys.readouterr().out)["log"]) == len(operations)
