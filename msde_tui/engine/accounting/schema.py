"""The accounting dossier schema (SPEC section 4), in SQLAlchemy Core.

The same ``metadata`` creates the tables on SQLite (embedded dossiers) and on SQL Server.
Amounts are integer cents (BigInteger). Dates are ``datetime.date``.

Only archive, cut, audit transfer, the movement counter and ``check_dossier`` rely on these
tables; backup, verify, restore, export copy and PBF/PTF are schema-agnostic.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

SCHEMA_VERSION = 1

metadata = MetaData()

FISCAL_YEAR_STATUSES = ("OPEN", "CLOSED", "ARCHIVED")
ENTRY_KINDS = ("REAL", "SIMULATION")
# CLOSING: the year-end appropriation that brings classes 6 and 7 to zero (PCMN 69x/79x into
# 140/141, docs/ACCOUNTING.md); the FEC leaves it out, as art. A47 A-1 LPF asks.
ENTRY_ORIGINS = ("NORMAL", "OPENING", "ARCHIVE_BALANCE", "CLOSING")
JOURNAL_KINDS = ("PURCHASES", "SALES", "FINANCIAL", "MISC", "OPENING")
THIRD_PARTY_KINDS = ("CUSTOMER", "SUPPLIER")

# Collective accounts: their balances are detailed per third party (customers 400, suppliers 440).
COLLECTIVE_ACCOUNT_PREFIXES = ("400", "440")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    allowed = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({allowed})"


dossier_info = Table(
    "dossier_info",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("guid", String(36), nullable=False, unique=True),
    Column("code", String(16), nullable=False),
    Column("name", String(100), nullable=False),
    Column("company", String(200), nullable=False),
    Column("vat_number", String(32)),
    Column("country", String(2), nullable=False, default="BE"),
    Column("currency", String(3), nullable=False, default="EUR"),
    Column("schema_version", Integer, nullable=False, default=SCHEMA_VERSION),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("id = 1", name="ck_dossier_info_single_row"),
)

fiscal_year = Table(
    "fiscal_year",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(10), nullable=False, unique=True),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("status", String(10), nullable=False, default="OPEN"),
    CheckConstraint(_one_of("status", FISCAL_YEAR_STATUSES), name="ck_fiscal_year_status"),
    CheckConstraint("start_date <= end_date", name="ck_fiscal_year_dates"),
)

account = Table(
    "account",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(10), nullable=False, unique=True),
    Column("label", String(100), nullable=False),
    Column("class_no", Integer, nullable=False),
    CheckConstraint("class_no BETWEEN 0 AND 9", name="ck_account_class"),
)

third_party = Table(
    "third_party",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(16), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(100), nullable=False),
    Column("vat_number", String(32)),
    Column("country", String(2), nullable=False, default="BE"),
    CheckConstraint(_one_of("kind", THIRD_PARTY_KINDS), name="ck_third_party_kind"),
)

journal = Table(
    "journal",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(8), nullable=False, unique=True),
    Column("label", String(60), nullable=False),
    Column("kind", String(10), nullable=False),
    CheckConstraint(_one_of("kind", JOURNAL_KINDS), name="ck_journal_kind"),
)

vat_code = Table(
    "vat_code",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(8), nullable=False, unique=True),
    Column("label", String(60), nullable=False),
    Column("rate_bp", Integer, nullable=False),  # basis points: 21 % = 2100
    Column("account_id", Integer, ForeignKey("account.id")),
)

entry = Table(
    "entry",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("fiscal_year_id", Integer, ForeignKey("fiscal_year.id"), nullable=False),
    Column("journal_id", Integer, ForeignKey("journal.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("label", String(200), nullable=False),
    Column("document_ref", String(40)),
    Column("document_date", Date),
    Column("kind", String(10), nullable=False, default="REAL"),
    Column("origin", String(16), nullable=False, default="NORMAL"),
    Column("valid_date", Date),  # NULL: never validated (a draft; check reports it)
    # REAL and SIMULATION entries are numbered apart: a journal's REAL entries run 1..N
    # without gaps in each fiscal year, its simulations have their own 1..M (docs/ACCOUNTING.md).
    UniqueConstraint("fiscal_year_id", "journal_id", "kind", "number", name="uq_entry_number"),
    CheckConstraint(_one_of("kind", ENTRY_KINDS), name="ck_entry_kind"),
    CheckConstraint(_one_of("origin", ENTRY_ORIGINS), name="ck_entry_origin"),
)

entry_line = Table(
    "entry_line",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", Integer, ForeignKey("entry.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("account_id", Integer, ForeignKey("account.id"), nullable=False),
    Column("third_party_id", Integer, ForeignKey("third_party.id")),
    Column("vat_code_id", Integer, ForeignKey("vat_code.id")),
    Column("label", String(200)),
    Column("debit", BigInteger, nullable=False, default=0),
    Column("credit", BigInteger, nullable=False, default=0),
    Column("letter", String(8)),
    Column("letter_date", Date),
    UniqueConstraint("entry_id", "line_no", name="uq_entry_line_no"),
    CheckConstraint("debit >= 0 AND credit >= 0", name="ck_entry_line_positive"),
    CheckConstraint("debit = 0 OR credit = 0", name="ck_entry_line_one_side"),
)

attachment = Table(
    "attachment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entry_id", Integer, ForeignKey("entry.id"), nullable=False),
    Column("file_name", String(200), nullable=False),
    Column("mime_type", String(60), nullable=False),
    Column("content", LargeBinary, nullable=False),
)

# No index of its own on entry.fiscal_year_id nor on entry_line.entry_id: the unique
# constraints uq_entry_number and uq_entry_line_no begin with those columns and serve their
# lookups. A second index on a leading column is written by every insert and delete, walked
# again by every integrity check (a quarter of a small dossier's), and stored (15 % of it).
Index("ix_entry_line_account", entry_line.c.account_id)
Index("ix_attachment_entry", attachment.c.entry_id)

# Tables in dependency order (parents first): insert in this order, delete in reverse.
TABLES: tuple[Table, ...] = (
    dossier_info,
    fiscal_year,
    account,
    third_party,
    journal,
    vat_code,
    entry,
    entry_line,
    attachment,
)


def is_collective(account_number: str) -> bool:
    """True for accounts whose balances are detailed per third party (400, 440...)."""
    return account_number.startswith(COLLECTIVE_ACCOUNT_PREFIXES)
