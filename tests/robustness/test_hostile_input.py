"""Hostile input: names, paths, T-SQL text, packed files with tricks or absurd numbers.

Property tests (hypothesis) over names with ``]``, ``'``, ``;``, ``--``, quotes, unicode,
control characters, path separators and very long text: each is refused with ``BadInput``
or comes out safe (a plain ASCII name, or T-SQL whose tokens are exactly the expected ones).
Packed files whose members or manifest lie (path tricks, absurd sizes and counts, absurd
encryption parameters) are refused with ``PackError`` quickly and without a large allocation.
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msde_tui.engine import naming
from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.errors import BadInput, MsdeError, PackError
from msde_tui.packfmt import ColumnSpec, PackReader, PackSchema, PackWriter, TableSpec, names
from msde_tui.packfmt.manifest import manifest_digest
from tests.unit.test_tsql import tokens

PIECES = ["]", "[", "'", '"', ";", "--", "/*", "*/", "\\", "/", "..", ":", "\x00", "\n", "\r", "\t", " ",
          "%", "_", "é", "ß", "İ", "ﬀ", "²", "١", "😀", "\u202e", "\ufeff", "a", "Z", "0", "9", "x" * 50]
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=0, max_size=30).map("".join) | st.text(max_size=300)
SAFE_FILE = re.compile(r"[A-Za-z0-9_.\-]+")


def _refused_or(func, value):  # type: ignore[no-untyped-def]
    try:
        return func(value)
    except BadInput:
        return None


# --------------------------------------------------------------------------- file naming


@given(HOSTILE | st.integers(-10, 2000).map(str))
@settings(max_examples=400, deadline=None)
def test_dossier_numbers_are_three_ascii_digits_or_refused(text: str) -> None:
    number = _refused_or(naming.check_number, text)
    if number is not None:
        assert re.fullmatch(r"[0-9]{3}", number) and 1 <= int(number) <= 999
        assert int(number) == int(text.strip())


@given(HOSTILE)
@settings(max_examples=400, deadline=None)
def test_short_names_and_codes_make_plain_file_names(text: str) -> None:
    short = _refused_or(naming.check_short, text)
    if short is not None:
        assert re.fullmatch(r"[A-Z0-9]{1,12}", short)
        code = f"001{short}"
        for name in (naming.embedded_file_name(code), naming.embedded_backup_name(code, _NOW),
                     naming.packed_file_name("001", short, "pbf", _NOW), naming.proof_name(code),
                     naming.database_name("001", short) + ".bak", naming.audit_name(code),
                     naming.export_name(code)):
            assert SAFE_FILE.fullmatch(name) and ".." not in name, name
        assert tokens(f"SELECT 1 FROM {tsql.quote_ident(naming.database_name('001', short))}")[-1] == (
            "ident", naming.database_name("001", short))
    code = _refused_or(naming.parse_code, text)
    if code is not None:
        assert re.fullmatch(r"[0-9]{3}[A-Z0-9]{1,12}", code.code)


_NOW = __import__("datetime").datetime(2026, 11, 28, 12, 6, 31)


@given(HOSTILE)
@settings(max_examples=300, deadline=None)
def test_names_read_back_from_disk_are_parsed_strictly(text: str) -> None:
    """Names found on disk or on a server never parse as something they are not."""
    parsed = naming.parse_database_name(text)
    if parsed is not None:
        assert naming.database_name(parsed.number, parsed.short) == text.rstrip("\n")
    packed = naming.parse_packed_file_name(text)
    if packed is not None:
        assert SAFE_FILE.fullmatch(text.rstrip("\n"))


@given(HOSTILE, HOSTILE)
@settings(max_examples=300, deadline=None)
def test_server_paths_never_escape_their_directory(directory: str, name: str) -> None:
    for sep in ("\\", "/"):
        try:
            path = tsql.server_path_join(directory, name, sep)
        except BadInput:
            continue
        assert "\x00" not in path and ".." not in path.split(sep)
        assert tsql.server_basename(path) == name
        other = "/" if sep == "\\" else "\\"
        assert other not in name


# --------------------------------------------------------------------------- T-SQL builders


NASTY_SQL = st.lists(st.sampled_from(PIECES[:19] + ["é", "😀", "x" * 40, "]]", "''"]), min_size=1,
                     max_size=30).map("".join).map(lambda s: s.replace("\x00", "")[:128]).filter(bool)


@given(NASTY_SQL, NASTY_SQL, st.lists(st.tuples(NASTY_SQL, NASTY_SQL), max_size=3), st.booleans())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_restore_statement_tokens_are_exactly_the_expected_ones(db: str, path: str, moves: list, replace: bool) -> None:
    sql = tsql.build_restore(db, path, moves, replace=replace)
    expected = [("word", "RESTORE"), ("word", "DATABASE"), ("ident", db), ("word", "FROM"), ("word", "DISK"),
                ("op", "="), ("string", path), ("word", "WITH"), ("word", "FILE"), ("op", "="), ("word", "1")]
    for logical, physical in moves:
        expected += [("op", ","), ("word", "MOVE"), ("string", logical), ("word", "TO"), ("string", physical)]
    if replace:
        expected += [("op", ","), ("word", "REPLACE")]
    expected += [("op", ","), ("word", "RECOVERY"), ("op", ","), ("word", "STATS"), ("op", "="), ("word", "5")]
    assert tokens(sql) == expected


@given(NASTY_SQL)
@settings(max_examples=200, deadline=None)
def test_every_query_builder_keeps_user_text_in_one_token(text: str) -> None:
    cases = {
        tsql.build_database_exists: ("string", 1),
        tsql.build_database_files: ("string", 1),
        tsql.build_enumerate_filesystem: ("string", 2),
        tsql.build_dirtree: ("string", 1),
        tsql.build_fileexist: ("string", 1),
        tsql.build_delete_backup_file: ("string", 1),
        tsql.build_headeronly: ("string", 1),
        tsql.build_filelistonly: ("string", 1),
        tsql.build_drop_database: ("ident", 1),
        tsql.build_movement_count: ("ident", 2),  # [db].dbo.[entry]
    }
    for builder, (kind, count) in cases.items():
        toks = tokens(builder(text))
        quoted = [v for k, v in toks if k == kind]
        assert len(quoted) == count and quoted[0] == text, builder.__name__
        # The statement's shape does not depend on the text: same tokens as with a plain name.
        shape = [(k, "?" if (k, v) == (kind, text) else v) for k, v in toks]
        plain = [(k, "?" if (k, v) == (kind, "plain") else v) for k, v in tokens(builder("plain"))]
        assert shape == plain, builder.__name__


@given(NASTY_SQL, NASTY_SQL)
@settings(max_examples=150, deadline=None)
def test_verifyonly_with_moves_keeps_each_value_in_its_string(path: str, logical: str) -> None:
    toks = tokens(tsql.build_verifyonly(path, moves=[(logical, path)], stats=10))
    assert [v for k, v in toks if k == "string"] == [path, logical, path]
    assert [v for k, v in toks if k == "word"] == [
        "RESTORE", "VERIFYONLY", "FROM", "DISK", "WITH", "FILE", "1", "CHECKSUM", "MOVE", "TO", "STATS", "10"]


@pytest.mark.parametrize("bad", ["", "x" * 129, "a\x00b"])
def test_identifiers_sql_server_cannot_hold_are_refused(bad: str) -> None:
    with pytest.raises(BadInput):
        tsql.build_drop_database(bad)


# --------------------------------------------------------------------------- packed files

TABLE = TableSpec("t", "0000-t", [ColumnSpec("a", "integer", nullable=False), ColumnSpec("b", "text")], ["a"])


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "good.pbf"
    with PackWriter(path, "PBF") as writer:
        writer.write_schema(PackSchema([TABLE]))
        batch = pa.record_batch([pa.array([1, 2, 3]), pa.array(["a", None, "c"])], schema=TABLE.arrow_schema())
        data = writer.write_table(TABLE, [batch])
        writer.finish({"tables": {"t": {"rows": data.rows, "chunks": data.chunks}}})
    return path


def _rebuild(src: Path, dst: Path, *, rename: dict[str, str] | None = None, extra: dict[str, bytes] | None = None,
             manifest=None, sign: bool = True) -> Path:  # type: ignore[no-untyped-def]
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            name = (rename or {}).get(info.filename, info.filename)
            if info.filename == "manifest.json" and manifest is not None:
                doc = json.loads(data)
                manifest(doc)
                if sign:
                    doc["manifest_sha256"] = manifest_digest(doc)
                data = json.dumps(doc).encode()
            zout.writestr(zipfile.ZipInfo(name), data)
        for name, data in (extra or {}).items():
            zout.writestr(zipfile.ZipInfo(name), data)
    return dst


def _refused(path: Path, passphrase: str | None = None) -> PackError:
    started = time.monotonic()
    with pytest.raises(PackError) as caught:
        with PackReader(path, passphrase=passphrase) as reader:
            reader.verify()
    assert time.monotonic() - started < 5, "refusing a hostile file must be quick"
    return caught.value


@given(HOSTILE)
@settings(max_examples=300, deadline=None)
def test_member_names_are_safe_or_refused(name: str) -> None:
    try:
        checked = names.check_member_name(name)
    except PackError:
        return
    parts = checked.split("/")
    assert not checked.startswith("/") and "\\" not in checked and ":" not in checked
    assert all(p not in ("", ".", "..") for p in parts) and re.fullmatch(r"[A-Za-z0-9_.\-/]+", checked)


@pytest.mark.parametrize("trick", ["../../etc/passwd", "/etc/passwd", "data\\..\\x", "C:/x", "data/./x",
                                   "data//x", "data/0000-t/../../x", "é.json", "data/x\x00y"])
def test_archives_with_path_tricks_are_refused(good: Path, tmp_path: Path, trick: str) -> None:
    added = _rebuild(good, tmp_path / "added.pbf", extra={trick: b"boom"})
    assert "forbidden name" in _refused(added).message or "does not list" in _refused(added).message
    renamed = _rebuild(good, tmp_path / "renamed.pbf", rename={"schema.json": trick})
    _refused(renamed)
    assert not (tmp_path / "etc").exists() and not Path("/etc/x").exists()


ABSURD = {
    "member size 2**62": lambda m: m["members"]["schema.json"].update(size=2**62),
    "negative member size": lambda m: m["members"]["schema.json"].update(size=-1),
    "size as text": lambda m: m["members"]["schema.json"].update(size="12"),
    "twenty thousand listed members": lambda m: m["members"].update(
        {f"data/0000-t/{i:05d}.parquet": {"size": 1, "sha256": "0" * 64} for i in range(1, 20_000)}),
    "row count 10**18": lambda m: m["content"]["tables"]["t"].update(rows=10**18),
    "negative row count": lambda m: m["content"]["tables"]["t"].update(rows=-5),
    "members is a list": lambda m: m.update(members=[]),
    "content is a string": lambda m: m.update(content="x" * 1000),
    "version 99.0": lambda m: m.update(version="99.0"),
    "version is nonsense": lambda m: m.update(version="one"),
    "kind ZIP": lambda m: m.update(kind="ZIP"),
    "scrypt n = 2**40": lambda m: m.update(encryption={"cipher": "AES-256-GCM", "kdf": "scrypt", "salt": "AAAA",
                                                       "n": 2**40, "r": 8, "p": 1, "segment_size": 1 << 20,
                                                       "key_check": "0"}),
    "segment size 2**40": lambda m: m.update(encryption={"cipher": "AES-256-GCM", "kdf": "scrypt", "salt": "AAAA",
                                                         "n": 2, "r": 1, "p": 1, "segment_size": 2**40,
                                                         "key_check": "0"}),
    "encryption is a number": lambda m: m.update(encryption=7),
}


@pytest.mark.parametrize("what", sorted(ABSURD))
def test_manifests_with_absurd_numbers_are_refused(good: Path, tmp_path: Path, what: str) -> None:
    path = _rebuild(good, tmp_path / "absurd.pbf", manifest=ABSURD[what])
    error = _refused(path, passphrase="pw")
    assert isinstance(error, MsdeError) and error.message
    unsigned = _rebuild(good, tmp_path / "unsigned.pbf", manifest=ABSURD[what], sign=False)
    assert "manifest.json is damaged" in _refused(unsigned, passphrase="pw").message or what.startswith("version")


def test_member_claiming_gigabytes_is_refused_without_reading_it(good: Path, tmp_path: Path) -> None:
    """The central directory says manifest.json holds 2 GiB: refused before any read."""
    import struct

    data = bytearray(good.read_bytes())
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", data, at + 28)[0]
        if bytes(data[at + 46:at + 46 + name_len]) == b"manifest.json":
            struct.pack_into("<II", data, at + 20, 0x7FFFFFFF, 0x7FFFFFFF)  # compressed, uncompressed
        at = data.find(b"PK\x01\x02", at + 4)
    path = tmp_path / "claims.pbf"
    path.write_bytes(bytes(data))
    assert "truncated" in _refused(path).message


@pytest.mark.parametrize("number", ["²", "١٢٣", "0x1", "-1", "1;DROP", "001\x00"])
def test_cli_refuses_odd_numbers_in_plain_words(home: Path, number: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by the property test: ``--number ²`` was a ValueError traceback."""
    from msde_tui.cli import main

    assert main(["restore", str(home / "x.sqlite.bak"), "--number", number]) == 2
    err = capsys.readouterr().err
    assert "is not a dossier number" in err and "Traceback" not in err


def test_zip_version_from_the_future_is_a_pack_error(good: Path, tmp_path: Path) -> None:
    """Found by the fuzzer: a central directory asking for ZIP version 21.1 raised
    NotImplementedError from zipfile (a traceback) instead of a PackError."""
    data = bytearray(good.read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 6:at + 8] = (211).to_bytes(2, "little")  # version needed to extract: 21.1
    path = tmp_path / "future.pbf"
    path.write_bytes(bytes(data))
    assert "not a packed file" in _refused(path).message


@pytest.mark.parametrize("tail", [b"\x00", b"garbage after the end" * 50, b"PK\x05\x06"])
def test_bytes_after_the_end_of_the_zip_are_refused(good: Path, tmp_path: Path, tail: bytes) -> None:
    """Found by the sweep: appended bytes were silently ignored by the ZIP reader."""
    path = tmp_path / "longer.pbf"
    path.write_bytes(good.read_bytes() + tail)
    _refused(path)
