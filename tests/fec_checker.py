"""The project's own FEC checker, written from art. A47 A-1 LPF (docs/ACCOUNTING.md) and
independent of the writer (``engine.fec``): it reads only the file.

``check_fec(path)`` returns a ``FecReport``: ``errors`` (rules broken), ``provisional``
(the name says ``_PROVISOIRE``), the identifier and closing date of the name, the records.
Rules checked:

- file name ``<identifier>FEC<AAAAMMJJ>[_PROVISOIRE].txt``; an all-digit identifier must be a
  9-digit SIREN with a valid Luhn key (a 10-digit Belgian enterprise number is not one); the
  closing date a real date; ``siren=`` asks for that exact identifier;
- encoding UTF-8 or ISO-8859-15, read strictly; lines end with CRLF (or LF) throughout;
- first line the 18 field names, in order; separator TAB or ``|``, the same throughout; every
  line 18 fields;
- dates AAAAMMJJ and real (EcritureDate, PieceDate, ValidDate; DateLet when present);
  EcritureDate within the 24 months that end at the closing date;
- amounts: digits, a decimal comma and two decimals, Debit and Credit both filled, one of
  them zero; Montantdevise and Idevise together or not at all; CompAuxNum and CompAuxLib too;
- mandatory fields filled;
- each EcritureNum: one journal, one date, its lines contiguous, debits = credits;
  total debit = total credit;
- numbering per journal continuous from 1 (the number is the digits ending EcritureNum);
- validation chronological: per journal, in number order, ValidDate never goes back; no
  ValidDate after the day the file was checked; an empty ValidDate only in a provisional file.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

COLUMNS = (
    "JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum", "CompteLib",
    "CompAuxNum", "CompAuxLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit",
    "EcritureLet", "DateLet", "ValidDate", "Montantdevise", "Idevise",
)
MANDATORY = ("JournalCode", "JournalLib", "EcritureNum", "EcritureDate", "CompteNum",
             "CompteLib", "PieceRef", "PieceDate", "EcritureLib", "Debit", "Credit")
NAME = re.compile(r"^(?P<ident>[A-Za-z0-9]+)FEC(?P<closing>\d{8})(?P<prov>_PROVISOIRE)?\.txt$")
AMOUNT = re.compile(r"^\d+,\d{2}$")
MAX_ERRORS = 50


@dataclass
class FecReport:
    path: Path
    errors: list[str] = field(default_factory=list)
    provisional: bool = False
    ident: str = ""
    closing: date | None = None
    encoding: str = ""
    records: list[dict[str, str]] = field(default_factory=list)

    def fail(self, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(message)

    @property
    def ok(self) -> bool:
        return not self.errors


def luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def _date(text: str) -> date | None:
    if not re.fullmatch(r"\d{8}", text):
        return None
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def cents(text: str) -> int:
    whole, frac = text.split(",")
    return int(whole) * 100 + int(frac)


def _name(report: FecReport, siren: str | None) -> None:
    match = NAME.match(report.path.name)
    if not match:
        report.fail(f"file name {report.path.name!r} is not <SIREN>FEC<AAAAMMJJ>.txt")
        return
    report.ident, report.provisional = match["ident"], bool(match["prov"])
    report.closing = _date(match["closing"])
    if report.closing is None:
        report.fail(f"closing date {match['closing']} in the file name is not a date")
    if siren is not None and report.ident != siren:
        report.fail(f"identifier {report.ident} in the file name is not the SIREN {siren}")
    if report.ident.isdigit() and (len(report.ident) != 9 or not luhn(report.ident)):
        report.fail(f"identifier {report.ident} looks like a number but is not a 9-digit SIREN")


def _decode(report: FecReport, data: bytes) -> str | None:
    for encoding in ("utf-8", "iso-8859-15"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        report.encoding = encoding
        if text.startswith("\ufeff"):
            report.fail("the file starts with a byte-order mark")
            text = text[1:]
        return text
    report.fail("the file is neither UTF-8 nor ISO-8859-15")
    return None


def check_fec(path: Path, *, siren: str | None = None, today: date | None = None) -> FecReport:
    """Every rule of the module docstring, over the file at ``path``."""
    report = FecReport(Path(path))
    today = today or date.today()
    _name(report, siren)
    text = _decode(report, report.path.read_bytes())
    if text is None:
        return report
    newline = "\r\n" if "\r\n" in text else "\n"
    if not text.endswith(newline):
        report.fail("the last line does not end with a line break")
    lines = text[: -len(newline)].split(newline) if text.endswith(newline) else text.split(newline)
    if any("\r" in line for line in lines):
        report.fail("line ends are mixed (CR inside a line)")
    if not lines or not lines[0]:
        report.fail("the file is empty")
        return report
    sep = "\t" if "\t" in lines[0] else "|"
    if tuple(lines[0].split(sep)) != COLUMNS:
        report.fail(f"first line is not the 18 field names in order: {lines[0]!r}")
        return report
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split(sep)
        if len(fields) != 18:
            report.fail(f"line {number}: {len(fields)} fields instead of 18")
            continue
        report.records.append(dict(zip(COLUMNS, fields, strict=True)) | {"_line": str(number)})
    _records(report, today)
    return report


def _records(report: FecReport, today: date) -> None:
    entries: dict[str, dict[str, object]] = {}
    order: list[str] = []
    debit_total = credit_total = 0
    for r in report.records:
        where = f"line {r['_line']}"
        for name in MANDATORY:
            if not r[name]:
                report.fail(f"{where}: {name} is empty")
        for name in ("EcritureDate", "PieceDate"):
            if _date(r[name]) is None:
                report.fail(f"{where}: {name} {r[name]!r} is not a date AAAAMMJJ")
        if r["ValidDate"] == "":
            if not report.provisional:
                report.fail(f"{where}: ValidDate is empty (entry never validated) in a final FEC")
        elif _date(r["ValidDate"]) is None:
            report.fail(f"{where}: ValidDate {r['ValidDate']!r} is not a date AAAAMMJJ")
        elif _date(r["ValidDate"]) > today:  # type: ignore[operator]
            report.fail(f"{where}: ValidDate {r['ValidDate']} is after today")
        if r["DateLet"] and _date(r["DateLet"]) is None:
            report.fail(f"{where}: DateLet {r['DateLet']!r} is not a date")
        if r["DateLet"] and not r["EcritureLet"]:
            report.fail(f"{where}: DateLet without EcritureLet")
        if bool(r["CompAuxNum"]) != bool(r["CompAuxLib"]):
            report.fail(f"{where}: CompAuxNum and CompAuxLib go together")
        if bool(r["Montantdevise"]) != bool(r["Idevise"]):
            report.fail(f"{where}: Montantdevise and Idevise go together")
        day = _date(r["EcritureDate"])
        if day and report.closing and not (
            report.closing - timedelta(days=731) < day <= report.closing
        ):
            report.fail(f"{where}: EcritureDate {r['EcritureDate']} is outside the fiscal year")
        if not (AMOUNT.match(r["Debit"]) and AMOUNT.match(r["Credit"])):
            report.fail(f"{where}: amounts {r['Debit']!r} / {r['Credit']!r} are not 1234,56")
            continue
        debit, credit = cents(r["Debit"]), cents(r["Credit"])
        if debit and credit:
            report.fail(f"{where}: both Debit and Credit are set")
        debit_total += debit
        credit_total += credit
        num = r["EcritureNum"]
        entry = entries.get(num)
        if entry is None:
            entry = entries[num] = {"journal": r["JournalCode"], "date": r["EcritureDate"],
                                    "valid": r["ValidDate"], "balance": 0}
            order.append(num)
        elif order[-1] != num:
            report.fail(f"{where}: the lines of entry {num} are not together")
        if entry["journal"] != r["JournalCode"] or entry["date"] != r["EcritureDate"]:
            report.fail(f"{where}: entry {num} has several journals or dates")
        if entry["valid"] != r["ValidDate"]:
            report.fail(f"{where}: entry {num} has several ValidDates")
        entry["balance"] = int(entry["balance"]) + debit - credit  # type: ignore[call-overload]
    for num, entry in entries.items():
        if entry["balance"]:
            report.fail(f"entry {num} does not balance ({int(entry['balance']) / 100:.2f})")  # type: ignore[call-overload]
    if debit_total != credit_total:
        report.fail(f"total debit {debit_total} != total credit {credit_total}")
    _numbering(report, entries)


def _numbering(report: FecReport, entries: dict[str, dict[str, object]]) -> None:
    by_journal: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for num, entry in entries.items():
        digits = re.search(r"(\d+)$", num)
        if not digits:
            report.fail(f"EcritureNum {num!r} does not end with a number")
            continue
        by_journal[str(entry["journal"])].append((int(digits[1]), str(entry["valid"])))
    for journal, numbers in sorted(by_journal.items()):
        numbers.sort()
        got = [n for n, _v in numbers]
        if got != list(range(1, len(got) + 1)):
            missing = sorted(set(range(1, max(got) + 1)) - set(got))[:10]
            report.fail(f"journal {journal}: numbering is not continuous from 1 (missing {missing})")
        last = ""
        for n, valid in numbers:
            if valid and last and valid < last:
                report.fail(f"journal {journal}: entry {n} validated {valid}, before the one "
                            f"numbered before it ({last})")
                break
            last = valid or last


def assert_valid_fec(path: Path, *, siren: str | None = None, provisional: bool = False) -> FecReport:
    """``check_fec`` and assert it found nothing wrong (and the expected provisional flag)."""
    report = check_fec(path, siren=siren)
    assert report.ok, f"{Path(path).name}: " + "; ".join(report.errors)
    assert report.provisional == provisional, f"{Path(path).name}: provisional={report.provisional}"
    return report
