"""A small T-SQL lexer, statement splitter and option parser.

Enough T-SQL to recognise the statements the double answers itself (BACKUP, RESTORE, EXEC of
the extended procedures, USE, CREATE/DROP/ALTER DATABASE, transactions, SET) and to rewrite
the rest for SQLite (see :func:`to_sqlite`). Not a T-SQL parser: statements are split on
``;`` only (and on ``GO`` lines), which is what the engine sends.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tests.tdsdouble.messages import SqlError, msg


@dataclass(frozen=True)
class Tok:
    kind: str  # word, ident (quoted), string, number, var, op, end
    text: str  # source text
    value: str = ""  # identifier name / string contents / upper-cased word
    pos: int = 0

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.value in words

    @property
    def name(self) -> str | None:
        """The identifier this token names (a bare word or a quoted identifier)."""
        if self.kind == "word":
            return self.text
        if self.kind == "ident":
            return self.value
        return None


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+|--[^\n]*|/\*.*?\*/)
  | (?P<nstring>[Nn]'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<bracket>\[(?:[^\]]|\]\])*\])
  | (?P<dquote>"(?:[^"]|"")*")
  | (?P<number>0[xX][0-9A-Fa-f]*|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<var>@@?[A-Za-z_][A-Za-z0-9_@#$]*)
  | (?P<word>[A-Za-z_#][A-Za-z0-9_@#$]*)
  | (?P<op><>|!=|<=|>=|\|\||::|[-+*/%=<>(),.;!~&|^])
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(text: str) -> list[Tok]:
    """Tokens of ``text`` (comments and blanks dropped); raises 102 on an unclosed quote."""
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SqlError(msg(102, text[pos : pos + 20]))
        kind = m.lastgroup or ""
        src = m.group()
        if kind == "ws":
            pass
        elif kind == "nstring":
            toks.append(Tok("string", src, src[2:-1].replace("''", "'"), pos))
        elif kind == "string":
            toks.append(Tok("string", src, src[1:-1].replace("''", "'"), pos))
        elif kind == "bracket":
            toks.append(Tok("ident", src, src[1:-1].replace("]]", "]"), pos))
        elif kind == "dquote":
            toks.append(Tok("ident", src, src[1:-1].replace('""', '"'), pos))
        elif kind == "word":
            toks.append(Tok("word", src, src.upper(), pos))
        else:
            toks.append(Tok(kind, src, src, pos))
        pos = m.end()
    if re.search(r"/\*(?!.*\*/)", text, re.DOTALL) and not toks:
        raise SqlError(msg(102, text[:20]))
    return toks


def split_batch(text: str) -> list[list[Tok]]:
    """Statements of a batch: token lists split on top-level ``;`` and ``GO`` lines."""
    text = re.sub(r"(?im)^\s*GO\s*$", ";", text)
    statements: list[list[Tok]] = []
    current: list[Tok] = []
    depth = 0
    for tok in tokenize(text):
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            depth = max(0, depth - 1)
        if tok.text == ";" and depth == 0:
            if current:
                statements.append(current)
            current = []
            continue
        current.append(tok)
    if current:
        statements.append(current)
    return statements


def source(toks: list[Tok]) -> str:
    return " ".join(t.text for t in toks)


class Cursor:
    """A read position over a statement's tokens with small expect/accept helpers."""

    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self, ahead: int = 0) -> Tok:
        j = self.i + ahead
        return self.toks[j] if j < len(self.toks) else Tok("end", "", "", -1)

    def next(self) -> Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def at_end(self) -> bool:
        return self.i >= len(self.toks)

    def accept(self, *words: str) -> bool:
        if self.peek().is_word(*words) or (self.peek().kind == "op" and self.peek().text in words):
            self.i += 1
            return True
        return False

    def expect(self, *words: str) -> Tok:
        tok = self.peek()
        if not (tok.is_word(*words) or (tok.kind == "op" and tok.text in words)):
            raise syntax_error(tok)
        self.i += 1
        return tok

    def name(self) -> str:
        """One identifier (bare or quoted)."""
        tok = self.next()
        if tok.name is None:
            raise syntax_error(tok)
        return tok.name

    def dotted(self) -> list[str]:
        """A multi-part name such as master.dbo.xp_fileexist or [a].[b]."""
        parts = [self.name()]
        while self.peek().text == ".":
            self.next()
            if self.peek().text == ".":  # master..xp_x
                parts.append("dbo")
                continue
            parts.append(self.name())
        return parts

    def string(self) -> str:
        tok = self.next()
        if tok.kind != "string":
            raise syntax_error(tok)
        return tok.value

    def scalar(self) -> str | int:
        """A string literal, an integer, or a bare word (returned upper-cased)."""
        tok = self.next()
        if tok.kind == "string":
            return tok.value
        if tok.kind == "number":
            return int(float(tok.text))
        if tok.kind in ("word", "ident"):
            return tok.name or ""
        raise syntax_error(tok)


def syntax_error(tok: Tok) -> SqlError:
    if tok.kind == "end":
        return SqlError(msg(102, ""))
    if tok.kind == "word" and tok.value in RESERVED:
        return SqlError(msg(156, tok.value))
    return SqlError(msg(102, tok.text))


RESERVED = {
    "SELECT", "FROM", "WHERE", "WITH", "TO", "DISK", "DATABASE", "BACKUP", "RESTORE", "AS",
    "ORDER", "GROUP", "BY", "INSERT", "INTO", "VALUES", "UPDATE", "DELETE", "SET", "ON",
}  # fmt: skip


@dataclass
class Options:
    """WITH options of BACKUP/RESTORE: flags, NAME = value pairs, MOVE pairs."""

    flags: set[str] = field(default_factory=set)
    values: dict[str, str | int] = field(default_factory=dict)
    moves: list[tuple[str, str]] = field(default_factory=list)

    def has(self, flag: str) -> bool:
        return flag in self.flags


def parse_with(cur: Cursor) -> Options:
    opts = Options()
    if not cur.accept("WITH"):
        return opts
    while True:
        tok = cur.next()
        if tok.kind != "word":
            raise syntax_error(tok)
        word = tok.value
        if word == "MOVE":
            logical = cur.string()
            cur.expect("TO")
            opts.moves.append((logical, cur.string()))
        elif cur.accept("="):
            opts.values[word] = cur.scalar()
        elif word == "STATS":
            opts.values[word] = 10
        else:
            opts.flags.add(word)
        if not cur.accept(","):
            break
    if not cur.at_end():
        raise syntax_error(cur.peek())
    return opts


def parse_disk(cur: Cursor) -> str:
    """``DISK = N'path'`` (one device only)."""
    cur.expect("DISK")
    cur.expect("=")
    path = cur.string()
    if cur.peek().text == ",":
        raise SqlError(msg(102, ","))
    return path


def parse_disks(cur: Cursor) -> list[str]:
    """``DISK = N'a' [, DISK = N'b' ...]``: the devices of a striped media set."""
    devices = []
    while True:
        cur.expect("DISK")
        cur.expect("=")
        devices.append(cur.string())
        if not (cur.peek().text == "," and cur.peek(1).is_word("DISK")):
            return devices
        cur.next()


def call_args(cur: Cursor) -> list[str | int | None]:
    """Arguments of an EXEC: comma-separated literals (NULL allowed), up to the end."""
    args: list[str | int | None] = []
    while not cur.at_end():
        if cur.peek().kind == "var" and cur.peek(1).text == "=":  # @name = value
            cur.next()
            cur.next()
        if cur.accept("NULL"):
            args.append(None)
        else:
            args.append(cur.scalar())
        if not cur.accept(","):
            break
    if not cur.at_end():
        raise syntax_error(cur.peek())
    return args


# ---------------------------------------------------------------------------------------------
# Rewriting for SQLite


def quote_sqlite(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: object) -> str:
    """A SQLite literal for a Python value."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    return "'" + str(value).replace("'", "''") + "'"


Resolver = Callable[[list[str], list[object] | None], str | None]
"""(dotted name parts, call arguments or None) -> replacement SQL, or None to keep."""

Function = Callable[[list[object]], object]

Applier = Callable[[list[str]], tuple[str, list[str]] | None]
"""(dotted table-valued function name) -> (table SQL, its parameter columns), or None."""


def _apply(
    toks: list[Tok], i: int, applies: Applier, again: Callable[[list[Tok]], str], *, outer: bool
) -> tuple[str, int] | None:
    """``name(args) [AS] alias`` at ``i`` after CROSS/OUTER APPLY: (JOIN SQL, next index)."""
    parts: list[str] = []
    while i < len(toks) and toks[i].name is not None:
        parts.append(toks[i].name or "")
        i += 1
        if i < len(toks) and toks[i].text == ".":
            i += 1
    if i >= len(toks) or toks[i].text != "(":
        return None
    args: list[list[Tok]] = [[]]
    depth = 0
    i += 1
    while i < len(toks):
        tok = toks[i]
        if tok.text == "(":
            depth += 1
        elif tok.text == ")":
            if depth == 0:
                break
            depth -= 1
        elif tok.text == "," and depth == 0:
            args.append([])
            i += 1
            continue
        args[-1].append(tok)
        i += 1
    i += 1
    if i < len(toks) and toks[i].is_word("AS"):
        i += 1
    if i >= len(toks) or toks[i].name is None:
        return None
    alias = quote_sqlite(toks[i].name or "")
    target = applies(parts)
    if target is None:
        return None
    table, params = target
    conditions = [
        f"{alias}.{quote_sqlite(p)} = ({again(a)})" for p, a in zip(params, args, strict=False) if a
    ]
    join = "LEFT JOIN" if outer else "JOIN"
    return f"{join} {table} AS {alias} ON " + (" AND ".join(conditions) or "1"), i + 1


def _number(text: str) -> int | float:
    if text[:2].lower() == "0x":
        return int(text, 16)
    try:
        return int(text)
    except ValueError:
        return float(text)


def _call_arguments(toks: list[Tok], start: int) -> tuple[list[object], int] | None:
    """Literal arguments of a call whose ``(`` is at ``start``: (values, index after ``)``)."""
    args: list[object] = []
    i = start + 1
    if i < len(toks) and toks[i].text == ")":
        return args, i + 1
    while i < len(toks):
        tok = toks[i]
        if tok.kind == "string":
            args.append(tok.value)
        elif tok.kind == "number":
            args.append(_number(tok.text))
        elif tok.is_word("NULL"):
            args.append(None)
        elif (
            tok.kind == "op"
            and tok.text == "-"
            and i + 1 < len(toks)
            and toks[i + 1].kind == "number"
        ):
            i += 1
            args.append(-_number(toks[i].text))
        else:
            return None
        i += 1
        if i < len(toks) and toks[i].text == ",":
            i += 1
            continue
        if i < len(toks) and toks[i].text == ")":
            return args, i + 1
        return None
    return None


IDENTITY_COMMENT_RE = re.compile(r"/\*tds:IDENTITY\((-?\d+),(-?\d+)\)\*/")
"""How ``IDENTITY(seed, increment)`` is kept in SQLite's stored DDL (see ddl.py)."""

TABLE_HINTS = {
    "NOLOCK", "READPAST", "READUNCOMMITTED", "READCOMMITTED", "READCOMMITTEDLOCK", "REPEATABLEREAD",
    "SERIALIZABLE", "HOLDLOCK", "UPDLOCK", "XLOCK", "ROWLOCK", "PAGLOCK", "TABLOCK", "TABLOCKX",
    "NOWAIT",
}  # fmt: skip


def identity_comment(seed: int, increment: int) -> str:
    return f"/*tds:IDENTITY({seed},{increment})*/"


def _identity(toks: list[Tok], i: int) -> tuple[str, int]:
    """``IDENTITY ( seed , increment )`` at ``i``: (the comment kept for SQLite, next index)."""
    close = next((k for k in range(i, len(toks)) if toks[k].text == ")"), None)
    if close is None:
        raise syntax_error(toks[i])
    inner = "".join(t.text for t in toks[i + 2 : close])
    m = re.fullmatch(r"(-?\d+),(-?\d+)", inner)
    if m is None:
        raise SqlError(msg(102, inner or ")"))
    return identity_comment(int(m.group(1)), int(m.group(2))), close + 1


def _table_hint_end(toks: list[Tok], i: int) -> int | None:
    """``WITH (NOLOCK, ...)`` after a table name at ``i``: the index after it, else None."""
    if i == 0 or i + 1 >= len(toks) or toks[i + 1].text != "(":
        return None
    j = i + 2
    while j < len(toks) and toks[j].text != ")":
        if not (toks[j].text == "," or toks[j].is_word(*TABLE_HINTS)):
            return None
        j += 1
    return j + 1 if j < len(toks) and j > i + 2 else None


TEXT_CASTS = {"DATE", "DATETIME", "DATETIME2", "SMALLDATETIME", "TIME", "UNIQUEIDENTIFIER"}
TYPE_REWRITES = {"NVARCHAR", "VARCHAR", "VARBINARY", "BINARY", "NCHAR", "CHAR"}


def to_sqlite(
    toks: list[Tok],
    *,
    functions: dict[str, Function],
    variables: dict[str, object],
    objects: Resolver,
    applies: Applier | None = None,
) -> str:
    """Rewrite one T-SQL statement for SQLite.

    - ``[x]`` and ``"x"`` identifiers become ``"x"``; ``N'..'`` becomes ``'..'``;
    - ``@@VERSION``-style variables and calls of the scalar ``functions`` (upper-case names,
      literal arguments only) become literals;
    - multi-part names go through ``objects`` (catalog views, table-valued functions,
      ``dbo.`` prefixes);
    - ``SELECT TOP n ...`` becomes ``SELECT ... LIMIT n``; ``(MAX)`` sizes and
      ``IDENTITY(s, i)`` becomes a comment SQLite keeps in its stored DDL (ddl.py reads it);
      table hints ``WITH (NOLOCK | READPAST ...)`` are dropped; ``ISNULL``/``LEN``/``GETDATE``
      are mapped;
    - ``CROSS|OUTER APPLY tvf(a, b) AS x`` over a table-valued function known to ``applies``
      becomes ``[LEFT] JOIN <table> AS x ON x.p1 = (a) AND x.p2 = (b)``.
    """

    def again(part: list[Tok]) -> str:
        return to_sqlite(
            part, functions=functions, variables=variables, objects=objects, applies=applies
        )

    out: list[str] = []
    limit: str | None = None
    i = 0
    n = len(toks)
    while i < n:
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < n else None
        if tok.is_word("CROSS", "OUTER") and nxt is not None and nxt.is_word("APPLY") and applies:
            joined = _apply(toks, i + 2, applies, again, outer=tok.value == "OUTER")
            if joined is None:
                raise SqlError(msg(102, "APPLY"))
            sql_text, i = joined
            out.append(sql_text)
            continue
        if tok.kind == "var" and tok.value.startswith("@@"):
            key = tok.text.upper()
            if key not in variables:
                raise SqlError(msg(137, tok.text))
            out.append(literal(variables[key]))
            i += 1
            continue
        if tok.kind == "string":
            out.append(literal(tok.value))
            i += 1
            continue
        if tok.kind == "number" and tok.text[:2].lower() == "0x":
            out.append("X'" + tok.text[2:] + "'")
            i += 1
            continue
        if tok.is_word("TOP") and i > 0 and (toks[i - 1].is_word("SELECT", "DISTINCT")):
            j = i + 1
            if j < n and toks[j].text == "(":
                limit = toks[j + 1].text
                i = j + 3
            else:
                limit = toks[j].text
                i = j + 1
            continue
        if tok.kind == "word" and tok.value in TEXT_CASTS and i > 0 and toks[i - 1].is_word("AS"):
            # CAST(x AS DATE) would get SQLite's NUMERIC affinity ('2024-01-02' -> 2024)
            out.append("TEXT")
            i += 1
            continue
        if tok.is_word("IDENTITY") and nxt is not None and nxt.text == "(":
            comment, i = _identity(toks, i)
            out.append(comment)
            continue
        if tok.is_word("WITH") and (end := _table_hint_end(toks, i)) is not None:
            i = end  # table hints: SQLite has its own locking
            continue
        if (
            tok.kind == "word"
            and tok.value in TYPE_REWRITES
            and (nxt is None or nxt.kind != "op" or nxt.text in "(,)")
        ):
            # "VARBINARY" alone has NUMERIC affinity in SQLite; "VARBINARY BLOB" keeps bytes.
            name = tok.text + (" BLOB" if tok.value in ("VARBINARY", "BINARY") else "")
            is_max = (
                nxt is not None and nxt.text == "(" and i + 3 < n and toks[i + 2].is_word("MAX")
            )
            out.append(name)
            i += 4 if is_max else 1
            continue
        if tok.name is not None:
            # gather a dotted name
            parts = [tok.name]
            j = i + 1
            while j + 1 < n and toks[j].text == "." and toks[j + 1].name is not None:
                parts.append(toks[j + 1].name or "")
                j += 2
            call: list[object] | None = None
            after = j
            if j < n and toks[j].text == "(":
                parsed = _call_arguments(toks, j)
                if parsed is not None:
                    call, after = parsed
            if len(parts) == 1 and tok.kind == "word" and call is not None:
                fn = functions.get(tok.value)
                if fn is not None:
                    out.append(literal(fn(call)))
                    i = after
                    continue
            replacement = objects(parts, call)
            if replacement is not None:
                out.append(replacement)
                i = after if call is not None else j
                continue
            if tok.kind == "word":
                mapped = {"ISNULL": "IFNULL", "LEN": "LENGTH", "GETDATE": "CURRENT_TIMESTAMP"}
                if tok.value in mapped and nxt is not None and nxt.text == "(":
                    if tok.value == "GETDATE":
                        out.append("CURRENT_TIMESTAMP")
                        i += 3
                        continue
                    out.append(mapped[tok.value])
                    i += 1
                    continue
                out.append(tok.text)
            else:
                out.append(quote_sqlite(tok.value))
            i += 1
            continue
        out.append(tok.text)
        i += 1
    sql = " ".join(out)
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql


def words(toks: list[Tok]) -> Iterator[str]:
    for t in toks:
        yield t.value if t.kind == "word" else t.text
