"""Every line ``msde`` prints is in the user's language: the CLI under a pseudo-locale.

As the wizard's test (tests/tui/test_pseudo_locale.py) does, a catalogue is built where every
extracted message becomes ``⟦Ëxpörtéé····⟧`` (accented, longer, between brackets) and loaded
as English. Each command module is then run for real (``main([...])`` in this process, its
stdout and stderr read) and every printed text must hold:

- no word but pseudo-translated ones and the data the user gave or the engine found (dossier
  codes, companies, paths, file names, numbers, dates): any other word was not translated — a
  CLI string not passed through ``_()``, or an engine message without its template in
  engine/words.py (such a message shows inside a translated "Error: {message}", so words are
  checked inside the brackets too: a pseudo-translated word always carries an accent);
- as many closing brackets as opening ones (a message is never cut).

The help texts of every command, option and argument are checked on the built commands
(``msde --help`` builds none of them: it lists the table of cli/lazy.py). A French run shows
the translations are real ones (``test_a_french_run_speaks_french``).
"""

from __future__ import annotations

import getpass
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
import typer

from msde_tui import i18n
from msde_tui.cli import common, main
from msde_tui.cli.lazy import LazyGroup
from msde_tui.engine.accounting.demo import create_demo
from msde_tui.engine.catalog import Catalog
from msde_tui.engine.plans import PackPlan, WizardPlan
from msde_tui.engine.runs import jobs
from tests.tui.test_pseudo_locale import (
    CLOSE,
    IDENTIFIER,
    OPEN,
    PSEUDO_LETTERS,
    WORD,
    install_pseudo,
)

# Words that are names, not language: formats, products, units, SQL, option values.
NAMES = {"SHA", "GUID", "SQL", "Server", "SQLite", "PRAGMA", "integrity_check", "DBCC", "CHECKDB",
         "Express", "Access", "JET", "ACE", "FEC", "PBF", "PTF", "PAF", "MSDE", "MSDE_HOME",
         "MSDE_PASSWORD", "systemd", "cron", "crontab", "taskscheduler", "schtasks", "msdb",
         "FULL", "SIMPLE", "BULK_LOGGED", "Microsoft", "Developer", "Edition", "RTM", "bit",
         "Linux", "Windows", "Ubuntu", "sqlite", "bak", "pbf", "ptf", "paf", "msde", "auto",
         "pymssql", "pyodbc", "sysadmin", "utf", "xml", "txt", "csv", "Admin", "GiB", "MiB", "KiB"}

Run = Callable[..., str]
# codes, ids, sizes: 001SOC, 2aac, 22.5kB, and whole GUIDs (a part may be all letters: "acea")
PATH = re.compile(r"\S*/\S*")  # a path is data, whatever words its directories hold
MIXED = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|\w*\d\w*")


@pytest.fixture
def demo(home: Path) -> Path:
    create_demo(home, dossiers=2, years=9, lines=40)
    return home


@pytest.fixture
def pseudo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install_pseudo(tmp_path / "pseudo", monkeypatch)
    monkeypatch.setattr(common.console, "_width", 400)  # a table never cuts a message here
    monkeypatch.setattr(common.err_console, "_width", 400)


@pytest.fixture
def msde(capsys: pytest.CaptureFixture[str], pseudo: None) -> Run:
    """``msde("backup", "001", code=0)``: run it under the pseudo-locale; its printed text."""

    def run(*argv: str, code: int = 0) -> str:
        capsys.readouterr()
        got = main(["--lang", "en", *argv])
        out, err = capsys.readouterr()
        text = out + err
        assert got == code, f"msde {' '.join(argv)} -> {got}\n{text}"
        return text

    return run


def problems(text: str, allowed: set[str]) -> list[str]:
    """What is wrong with one command's output (see the module's docstring)."""
    found = []
    if text.count(OPEN) != text.count(CLOSE):
        found.append(f"cut: {text.count(OPEN)} {OPEN} but {text.count(CLOSE)} {CLOSE}")
    # Every word, inside the brackets too: a message's values (an engine text put in
    # "Error: {message}") are not pseudo-translated with it; a pseudo word has an accent.
    words = {
        w for w in WORD.findall(IDENTIFIER.sub(" ", MIXED.sub(" ", PATH.sub(" ", text))))
        if w not in allowed and not set(w) & PSEUDO_LETTERS
    }
    if words:
        found.append("untranslated: " + ", ".join(sorted(words)))
    return found


class Checker:
    """Collects every run's problems and reports them all at the end of a test."""

    def __init__(self, msde: Run, allowed: Callable[[], set[str]]) -> None:
        self.msde, self.allowed = msde, allowed
        self.report: list[str] = []
        self.given: set[str] = set()  # what the user typed is data (names, paths)

    def __call__(self, *argv: str, code: int = 0) -> str:
        before = self.allowed()  # a dossier removed by the command is data it may name
        text = self.msde(*argv, code=code)
        self.given |= {w for a in argv for w in WORD.findall(a)}
        for problem in problems(text, before | self.allowed() | self.given):
            self.report.append(f"msde {' '.join(argv)}: {problem}\n{text}")
        return text

    def done(self) -> None:
        assert not self.report, "\n\n".join(self.report[:10])


@pytest.fixture
def check(msde: Run, demo: Path, tmp_path: Path) -> Checker:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    machine = set(WORD.findall(f"{getpass.getuser()} {sys.executable} {Path.cwd()}"))  # the user, msde's path
    return Checker(msde, lambda: _data(demo) | NAMES | _files(tmp_path) | machine)


def _data(home: Path) -> set[str]:
    """Codes, companies and file names of the dossier list, and the dossier tables' names (not
    the words of the test's own directory: its name holds English words)."""
    from msde_tui.engine.accounting.schema import TABLES

    words = {w for table in TABLES for w in WORD.findall(table.name)}
    for dossier in Catalog(home).dossiers():
        words |= set(WORD.findall(f"{dossier.code} {dossier.company} {dossier.location}"))
    return words


def _files(directory: Path) -> set[str]:
    """The words of every file and directory name under ``directory`` (data, not language)."""
    return {w for p in directory.rglob("*") for w in WORD.findall(p.name)}


def _one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    assert found, f"no {pattern} in {directory}"
    return found[-1]


def test_dossier_commands_speak_the_language(check: Checker, demo: Path, tmp_path: Path) -> None:
    check("list")
    check("free")
    check("rename", "002", "--company", "Brasserie Vandenberghe SA")
    check("check", "001")
    check("remove", "002")
    check("add", "--short", "BRA", "--company", "Brasserie Vandenberghe SA", "--file", "002BRA.sqlite")
    check("add", "--short", "X", "--company", "Copy", "--file", "001SOC.sqlite", code=2)  # same GUID
    check("add", "--short", "X", "--company", " ", "--file", "001SOC.sqlite", code=2)
    check("check", "999", code=2)  # the engine's error, in the user's words
    check.done()


def _damage(home: Path, code: str) -> set[str]:
    """Give dossier ``code`` one problem of each kind the check finds on a file
    (engine.accounting.check); return its journals' codes (data the problems name)."""
    import sqlite3

    conn = sqlite3.connect(Catalog(home).get(code).path(home))
    conn.executescript("""
        PRAGMA foreign_keys = OFF; PRAGMA ignore_check_constraints = ON;
        UPDATE entry_line SET debit = debit + 1 WHERE id = (SELECT min(id) FROM entry_line WHERE debit > 0);
        UPDATE entry_line SET debit = 5, credit = 5 WHERE id = (SELECT min(id) + 3 FROM entry_line);
        DELETE FROM entry_line WHERE entry_id = (SELECT max(id) FROM entry WHERE kind = 'REAL');
        UPDATE entry SET valid_date = NULL WHERE id = 30;
        UPDATE entry SET entry_date = '1990-01-01' WHERE id = 40;
        UPDATE entry_line SET account_id = 999999 WHERE id = 50;
        UPDATE entry SET number = number + 100 WHERE id IN (SELECT id FROM entry WHERE kind = 'REAL'
            AND journal_id = (SELECT journal_id FROM entry WHERE id = 60)
            AND fiscal_year_id = (SELECT fiscal_year_id FROM entry WHERE id = 60) ORDER BY number LIMIT 12);
    """)
    conn.commit()
    journals = {code for (code,) in conn.execute("SELECT code FROM journal")}
    conn.close()
    return journals


def test_check_problems_speak_the_language(check: Checker, demo: Path) -> None:
    """Every problem ``msde check`` lists, its kind and its description, in the user's words."""
    check.given |= _damage(demo, "001")
    text = check("check", "001", code=1)
    assert text.count("\n  [") >= 7, text  # the problems were found (not a healthy dossier)
    check.done()


def test_check_problems_in_french(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _damage(demo, "001")
    assert main(["--lang", "fr", "check", "001"]) == 1
    out = " ".join(capsys.readouterr().out.split())
    for french in ("[déséquilibrée] L'écriture 1 (OUV 1 de 20", "est déséquilibrée : débit",
                   "[montant invalide] La ligne 4 de l'écriture 1 a un débit de 5 et un crédit de 5",
                   "n'a aucune ligne", "est datée hors de son exercice", "ne désigne aucune ligne de account",
                   "n'a jamais été validée", "numéro(s) 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, … (+90) manquant(s)",
                   "ne correspond pas aux soldes de clôture de 20", ": attendu "):
        assert french in out, out


def test_backup_verify_restore_speak_the_language(check: Checker, demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    check("backup", "001", "002", "--dir", str(out))
    backup = _one(out, "001SOC_*.sqlite.bak")
    check("verify", str(backup))
    check("verify", "--all", "--dir", str(out))
    check("restore", str(backup), "--number", "050")
    check("restore", str(backup), "--number", "001", code=2)  # taken: what to do
    check("backup", "001", "--dir", str(tmp_path / "absent"), code=2)
    check("backup", "--dir", str(out), code=2)  # which dossiers?
    check("backup", "--where", "009-003", "--dir", str(out), code=2)
    check("backup", "--where", "someday", "--dir", str(out), code=2)
    check("restore", str(backup), "--number", "1x", code=2)
    check("verify", str(tmp_path / "absent.sqlite.bak"), code=1)
    damaged = out / "damaged.sqlite.bak"
    damaged.write_bytes(b"not a backup")
    check("verify", str(damaged), code=1)
    check.done()


def test_pack_import_apply_export_speak_the_language(check: Checker, demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    check("pack", "001", "--dir", str(out))
    pbf = _one(out, "*.pbf")
    check("pack-info", str(pbf))
    check("import", str(pbf), "--number", "060")
    check("pack", "001", "--dir", str(out), "--partial")
    ptf = _one(out, "*.ptf")
    check("pack-info", str(ptf))
    check("apply", str(ptf), "--dossier", "060")
    check("export", "002", "--dir", str(out))
    check("import", str(_one(out, "E002BRA*.sqlite")), "--number", "070")
    check("import", str(tmp_path / "nothing.pbf"), code=2)
    every = tmp_path / "every"
    every.mkdir()
    check("pack", "--all", "--dir", str(every))
    check.done()


def test_archive_cut_audit_speak_the_language(check: Checker, demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    check("archive", "001", "--dir", str(out), "--dry-run")
    check("archive", "001", "--dir", str(out))
    paf = _one(out, "*.paf")
    check("unarchive", str(paf), "--show")
    check("unarchive", str(paf))
    check("archive", "001", "--dir", str(out), "--years", "1990", code=2)
    check("cut", "--list", "--min-years", "2")
    keep = str(date.today().year - 2)
    check("cut", "002", "--keep-from", keep)
    check("list")
    check("audit", "001", "--years", keep, "--dir", str(out), "--fec", "--fec-id", "BE0572910011")
    check("audit", "001", "--years", keep, code=2)
    out2 = tmp_path / "out2"  # the open year: a provisional FEC, and its warning
    out2.mkdir()
    check("audit", "001", "--years", f"{keep},{date.today().year}", "--dir", str(out2), "--fec",
          "--provisional", "--fec-id", "X1")
    check.done()


def test_jobs_and_log_speak_the_language(check: Checker, demo: Path, tmp_path: Path) -> None:
    check("jobs")
    check("log")
    job = jobs.start_job(WizardPlan(operation="export", op=PackPlan(("001SOC",), str(tmp_path / "out"))),
                         home=demo)
    for _ in range(1200):
        if jobs.load_job(demo, job.id).finished:
            break
        time.sleep(0.05)
    check("jobs")
    check("jobs", "show", job.id)
    check("jobs", "cancel", job.id)
    check("log")
    check.done()


def test_server_commands_speak_the_language(check: Checker, demo: Path, tds_server,  # type: ignore[no-untyped-def]
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MSDE_PASSWORD", tds_server.password)
    check("server", "list")
    check("server", "add", "office", "--host", tds_server.host, "--port", str(tds_server.port),
          "--user", tds_server.user)
    check("server", "list")
    check("server", "test", "office")
    check("server", "dirs", "office")
    check("server", "status", "office")
    check("server", "rights", "office")
    check("server", "remove", "office")
    check("server", "test", "nowhere", code=2)
    check.done()


def test_automatic_backups_speak_the_language(check: Checker, demo: Path, tmp_path: Path, fakes: Path) -> None:
    check("auto", "status")
    check("auto", "--status", code=1)
    check("auto")  # off: says how to turn it on
    check("auto", "policy", "set", "--enable", "--keep", "2", "--dir", str(tmp_path / "out"))
    check("auto", "policy", "show", "001")
    check("auto", "--dry-run")
    check("auto")
    check("auto", "status")
    check("auto", "--dry-run")  # now each dossier is skipped, with its reasons
    check("auto", "--install", "cron")
    check("auto", "policy", "unset", "--dossier", "001")
    check.done()


def test_access_commands_speak_the_language(check: Checker, demo: Path, tmp_path: Path) -> None:
    from tests.access_fixtures import copy_fixture, skip_reason

    if skip_reason():
        pytest.skip(skip_reason() or "")
    mdb = copy_fixture("nwind.mdb", tmp_path / "access")
    check("add", "--short", "NW", "--company", "Northwind", "--file", str(mdb))
    number = Catalog(demo).dossiers()[-1].number
    check("convert", number, "--number", "080")
    check("convert", "001", code=2)
    check.done()


def test_every_help_text_is_translated(pseudo: None) -> None:
    """The help of every command, subcommand, option and argument, as ``--help`` shows it."""
    i18n.setup("en")
    from msde_tui import cli

    group = typer.main.get_command(cli.app)
    assert isinstance(group, LazyGroup)
    group.load_all()
    untranslated = []

    def walk(command: object, path: str) -> None:
        texts = [("", getattr(command, "help", None))]
        texts += [(f" {p.name}", getattr(p, "help", None)) for p in getattr(command, "params", [])]
        for where, text in texts:
            if text and not (text.startswith(OPEN) and text.endswith(CLOSE)):
                untranslated.append(f"{path}{where}: {text}")
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(group, "msde")
    assert not untranslated, "\n".join(untranslated)
    with typer.Context(group, info_name="msde") as ctx:  # --help's own help too
        help_option = group.get_command(ctx, "backup").get_help_option(ctx)
        assert help_option.help.startswith(OPEN), help_option.help


def test_a_french_run_speaks_french(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert main(["--lang", "fr", "backup", "001", "--dir", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Sauvegardé dans" in text and "réussis : " in text, text
    assert main(["--lang", "fr", "list"]) == 0
    assert "Société" in capsys.readouterr().out
    assert main(["--lang", "fr", "restore", str(_one(out, "*.bak")), "--number", "001"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : Le numéro 001 est déjà pris") and "Que faire :" in err, err
    assert main(["--lang", "fr", "--json", "list"]) == 0  # JSON keeps its keys and values
    assert json.loads(capsys.readouterr().out)["dossiers"][0]["code"] == "001SOC"


def test_typer_speaks_french_in_help_and_errors(demo: Path) -> None:
    """Typer's panels and its unknown-command error follow --lang (in a process of their own:
    Typer reads its panel titles once per process)."""
    command = [sys.executable, "-c", "import sys; from msde_tui.cli import main; sys.exit(main())"]
    env = {**os.environ, "COLUMNS": "120", "LANGUAGE": "en"}
    shown = subprocess.run([*command, "--lang", "fr", "log", "--help"], capture_output=True, text=True,
                           env=env, timeout=60)
    assert "Afficher le journal d'audit" in shown.stdout and "[par défaut : 50]" in shown.stdout, shown.stdout
    failed = subprocess.run([*command, "--lang", "fr", "nosuch"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert failed.returncode == 2
    assert "Commande 'nosuch' inconnue." in failed.stderr and "Erreur" in failed.stderr, failed.stderr


@pytest.mark.parametrize(("argv", "french"), [
    (["backup", "--nope"], "Option inconnue : --nope (options possibles : --force)"),
    (["backup"], "Il manque l'option '--dir'."),
    (["restore"], "Il manque l'argument 'file'."),
    (["nope"], "Commande 'nope' inconnue."),
    (["bakup"], "Commande 'bakup' inconnue. Vouliez-vous dire 'backup' ?"),
    (["list", "extra"], "Argument(s) en trop : extra"),
    (["log", "--last", "x"], "Valeur invalide pour '--last' : un nombre entier est attendu"),
    (["backup", "001", "--dir"], "L'option '--dir' demande une valeur."),
    (["demo", "--dossiers", "0"], "Valeur invalide pour '--dossiers' : la valeur doit être supérieure ou égale à 1"),
])
def test_click_usage_errors_speak_french(home: Path, capsys: pytest.CaptureFixture[str], argv: list[str],
                                         french: str) -> None:
    """Click's own words (the usage line, the usage errors: written by Typer's copy of Click
    without gettext) in French, the exit code still 2, nothing of Click's English left."""
    assert main(["--lang", "fr", *argv]) == 2
    err = " ".join(capsys.readouterr().err.replace("│", " ").split())  # the error panel's lines joined
    assert french in err, err
    for english in ("Usage:", "No such", "Missing", "Invalid value", "Got unexpected", "Did you mean",
                    "requires", "Input should"):
        assert english not in err, err
    if argv != ["backup", "001", "--dir"]:  # an option's missing value comes without usage line
        assert "Utilisation : msde" in err, err


def test_the_usage_line_of_help_speaks_french(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--lang", "fr", "backup", "--help"]) == 0
    assert "Utilisation : msde backup [OPTIONS]" in capsys.readouterr().out
    assert main(["--lang", "fr", "--help"]) == 0
    assert "Utilisation : msde [OPTIONS] COMMANDE [ARGS]..." in capsys.readouterr().out
    assert main(["--lang", "en", "--help"]) == 0
    assert "Usage: msde [OPTIONS] COMMAND [ARGS]..." in capsys.readouterr().out


def test_the_live_progress_display_speaks_the_language(pseudo: None, tmp_path: Path) -> None:
    """What a terminal shows while a backup runs: the title, each dossier's step and speed."""
    from rich.console import Console

    from msde_tui.cli.backup import _LiveDisplay
    from msde_tui.engine import events as ev

    i18n.setup("en")
    screen = Console(record=True, force_terminal=True, width=200)
    display = _LiveDisplay(screen, "backup", 2)
    display.show(ev.Started("001SOC", "backup", ("backup", "verify")))
    display.show(ev.Step("001SOC", "integrity check"))
    display.show(ev.Progress("001SOC", percent=40.0, mb_per_s=3.5, eta_s=12))
    running_rows = Console(record=True, width=200)
    display.show(ev.Progress("001SOC", rows_done=1200, rows_total=3000))
    running_rows.print(display.progress.get_renderable())
    running = Console(record=True, width=200)
    running.print(display.progress.get_renderable())
    display.show(ev.Started("002BRA", "backup"))
    display.show(ev.DossierResult("002BRA", ok=False, message="The directory /srv/x does not exist.",
                                  hint="Create it first or choose another directory."))
    text = running.export_text() + running_rows.export_text() + screen.export_text()
    assert "001SOC" in text and "FAIL" not in text, text
    found = problems(text, {"SOC", "BRA", "srv", "MB"})
    assert not found, f"{found}\n{text}"


@pytest.mark.parametrize(("english", "french"), [
    ("skip: 2 movements < 100 and 1 day < 3", "ignoré : 2 mouvements < 100 et 1 jour < 3"),
    ("backup: 5 movements since last verified backup ≥ 3",
     "back-up : 5 mouvements depuis le dernier back-up vérifié ≥ 3"),
    ("PTF a.ptf written and verified (22.5 kB). 1,024 rows changed, 0 deleted.",
     "PTF a.ptf écrit et vérifié (22,5 Ko). 1\u202f024 lignes modifiées, 0 supprimées."),
    ("Warning: A FEC is a French format (art. A47 A-1 of the French Livre des procédures fiscales), "
     "named after the company's SIREN. This dossier has none: the files are named X1.",
     "Attention : Le FEC est un format français (art. A47 A-1 du Livre des procédures fiscales), "
     "nommé d'après le SIREN de la société. Ce dossier n'en a pas : les fichiers sont nommés X1."),
    ("No SQL Server connection profile named 'x' (known: none yet).",
     "Aucun profil de connexion SQL Server nommé 'x' (connus : aucun pour l'instant)."),
    ("'1x' is not a dossier number.", "'1x' n'est pas un numéro de dossier."),  # not a count
    # the tax-audit transfer's result line, as the wizard's progress and the CLI show it
    ("FEC X1FEC20251231.txt. FEC X1FEC20261231_PROVISOIRE.txt (provisional). Warning: "
     "X1FEC20261231_PROVISOIRE.txt is PROVISIONAL: fiscal year 2026 is still open; 2 entries were "
     "never validated: 30, 31.",
     "FEC X1FEC20251231.txt. FEC X1FEC20261231_PROVISOIRE.txt (provisoire). Attention : "
     "X1FEC20261231_PROVISOIRE.txt est PROVISOIRE : l'exercice 2026 est encore ouvert; 2 écritures "
     "n'ont jamais été validées : 30, 31."),
])
def test_engine_words_in_french(english: str, french: str) -> None:
    """Templates matched whole over several sentences, counts only numbers, reasons one by one."""
    from msde_tui.engine.words import shown

    i18n.setup("fr")
    assert shown(english) == french


def test_every_module_that_speaks_is_extracted() -> None:
    """A module giving a literal to ``_``/``N_`` is one ``i18n.extract`` reads: else its words are
    in no catalogue (and the pseudo-locale tests cannot see them)."""
    covered = {p.resolve() for p in i18n.source_files()}
    missing = []
    for path in sorted(i18n.PACKAGE_DIR.rglob("*.py")):
        if path.resolve() in covered:
            continue
        found = i18n.extract([path])
        if found:
            missing.append(f"{path.relative_to(i18n.PACKAGE_DIR)}: {found[0]!r}")
    assert not missing, "add to i18n.SOURCES:\n" + "\n".join(missing)
