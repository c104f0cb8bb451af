"""Pure T-SQL builders and quoting: exact statements, and quoting that cannot be broken out of."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msde_tui.engine.backends.mssql import tsql
from msde_tui.engine.errors import BadInput

# -- a tiny T-SQL tokenizer, independent of the code under test -------------------------------


def tokens(sql: str) -> list[tuple[str, str]]:
    """(kind, value) tokens: ident [..] with ]] undoubled, string N'..' with '' undoubled, words."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(sql):
        c = sql[i]
        if c.isspace():
            i += 1
        elif c == "[":
            j, buf = i + 1, []
            while True:
                if j >= len(sql):
                    raise ValueError("unclosed [")
                if sql[j] == "]":
                    if j + 1 < len(sql) and sql[j + 1] == "]":
                        buf.append("]")
                        j += 2
                        continue
                    break
                buf.append(sql[j])
                j += 1
            out.append(("ident", "".join(buf)))
            i = j + 1
        elif sql.startswith("N'", i) or c == "'":
            j = i + (2 if c == "N" else 1)
            buf = []
            while True:
                if j >= len(sql):
                    raise ValueError("unclosed '")
                if sql[j] == "'":
                    if j + 1 < len(sql) and sql[j + 1] == "'":
                        buf.append("'")
                        j += 2
                        continue
                    break
                buf.append(sql[j])
                j += 1
            out.append(("string", "".join(buf)))
            i = j + 1
        elif c.isalnum() or c == "_":
            m = re.match(r"[A-Za-z0-9_]+", sql[i:])
            assert m
            out.append(("word", m.group()))
            i += m.end()
        else:
            out.append(("op", c))
            i += 1
    return out


NASTY = (
    st.lists(
        st.sampled_from(
            list("ab]['\";-/*\\ \t\né€😀\u202e%_") + ["--", "/*", "]]", "''", "x" * 40]
        ),
        min_size=1,
        max_size=40,
    )
    .map("".join)
    .map(lambda s: s[:128])
)


@given(NASTY)
@settings(max_examples=300, deadline=None)
def test_ident_round_trips_and_cannot_break_out(name: str) -> None:
    quoted = tsql.quote_ident(name)
    sql = f"SELECT 1 FROM {quoted} WHERE 1 = 1"
    assert tokens(sql) == [
        ("word", "SELECT"),
        ("word", "1"),
        ("word", "FROM"),
        ("ident", name),
        ("word", "WHERE"),
        ("word", "1"),
        ("op", "="),
        ("word", "1"),
    ]


@given(st.text(max_size=300).filter(lambda s: "\x00" not in s) | NASTY)
@settings(max_examples=300, deadline=None)
def test_literal_round_trips_and_cannot_break_out(text: str) -> None:
    quoted = tsql.quote_literal(text)
    sql = f"RESTORE HEADERONLY FROM DISK = {quoted} WITH FILE = 1"
    assert tokens(sql) == [
        ("word", "RESTORE"),
        ("word", "HEADERONLY"),
        ("word", "FROM"),
        ("word", "DISK"),
        ("op", "="),
        ("string", text),
        ("word", "WITH"),
        ("word", "FILE"),
        ("op", "="),
        ("word", "1"),
    ]


@given(NASTY, NASTY)
@settings(max_examples=200, deadline=None)
def test_backup_statement_keeps_user_text_inside_its_quotes(db: str, path: str) -> None:
    sql = tsql.build_backup(db, path, copy_only=True, name=db, description=path)
    toks = tokens(sql)
    assert toks[:3] == [("word", "BACKUP"), ("word", "DATABASE"), ("ident", db)]
    strings = [v for k, v in toks if k == "string"]
    assert strings == [path, db, path]
    words = [v for k, v in toks if k == "word"]
    assert words == [
        "BACKUP", "DATABASE", "TO", "DISK", "WITH", "CHECKSUM", "INIT", "COPY_ONLY",
        "STATS", "5", "NAME", "DESCRIPTION",
    ]  # fmt: skip


def test_quote_examples() -> None:
    assert tsql.quote_ident("a]b'c") == "[a]]b'c]"
    assert tsql.quote_ident("PW0001SOC") == "[PW0001SOC]"
    assert tsql.quote_literal("it's") == "N'it''s'"
    assert tsql.quote_literal("") == "N''"
    assert tsql.quote_ident("x" * 128) == "[" + "x" * 128 + "]"


@pytest.mark.parametrize("bad", ["", "x" * 129, "a\x00b"])
def test_quote_ident_rejects(bad: str) -> None:
    with pytest.raises(BadInput):
        tsql.quote_ident(bad)


def test_quote_literal_rejects_nul() -> None:
    with pytest.raises(BadInput):
        tsql.quote_literal("a\x00b")


# -- exact statements ------------------------------------------------------------------------


def test_build_backup_exact() -> None:
    assert tsql.build_backup(
        "PW0001SOC",
        r"C:\Backups\PW0001SOC_20261128_120631.bak",
        copy_only=True,
        compression=True,
        name="PW0001SOC full backup",
    ) == (
        r"BACKUP DATABASE [PW0001SOC] TO DISK = N'C:\Backups\PW0001SOC_20261128_120631.bak' "
        "WITH CHECKSUM, INIT, COPY_ONLY, COMPRESSION, STATS = 5, NAME = N'PW0001SOC full backup'"
    )


def test_build_backup_compression_variants() -> None:
    base = "BACKUP DATABASE [d] TO DISK = N'/b/d.bak' WITH CHECKSUM, INIT"
    assert tsql.build_backup("d", "/b/d.bak", stats=None) == base
    assert (
        tsql.build_backup("d", "/b/d.bak", stats=None, compression=False)
        == base + ", NO_COMPRESSION"
    )
    assert tsql.build_backup("d", "/b/d.bak", stats=10, description="x'y") == (
        base + ", STATS = 10, DESCRIPTION = N'x''y'"
    )
    assert tsql.build_backup("d", "/b/d.bak", checksum=False, init=False, stats=None) == (
        "BACKUP DATABASE [d] TO DISK = N'/b/d.bak'"
    )


@pytest.mark.parametrize("stats", [0, 101, "5", 5.0, True, -1])
def test_integer_parameters_are_validated(stats: object) -> None:
    with pytest.raises(BadInput):
        tsql.build_backup("d", "/b/d.bak", stats=stats)  # type: ignore[arg-type]


def test_backup_name_and_description_limits() -> None:
    tsql.build_backup("d", "/x", name="n" * 128, description="d" * 255)
    with pytest.raises(BadInput):
        tsql.build_backup("d", "/x", name="n" * 129)
    with pytest.raises(BadInput):
        tsql.build_backup("d", "/x", description="d" * 256)


def test_build_verify_header_filelist_exact() -> None:
    assert tsql.build_verifyonly("/b/x.bak") == (
        "RESTORE VERIFYONLY FROM DISK = N'/b/x.bak' WITH FILE = 1, CHECKSUM"
    )
    assert tsql.build_verifyonly(
        "/b/x.bak", file=2, checksum=False, moves=[("d", "/data/n.mdf")], stats=10
    ) == (
        "RESTORE VERIFYONLY FROM DISK = N'/b/x.bak' WITH FILE = 2, "
        "MOVE N'd' TO N'/data/n.mdf', STATS = 10"
    )
    assert tsql.build_headeronly("/b/o'k.bak") == "RESTORE HEADERONLY FROM DISK = N'/b/o''k.bak'"
    assert tsql.build_filelistonly("/b/x.bak") == "RESTORE FILELISTONLY FROM DISK = N'/b/x.bak'"
    assert tsql.build_filelistonly("/b/x.bak", file=1) == (
        "RESTORE FILELISTONLY FROM DISK = N'/b/x.bak' WITH FILE = 1"
    )


def test_build_restore_exact() -> None:
    moves = [("Soc_Data", r"D:\Data\PW0002SOC.mdf"), ("Soc_Log", r"D:\Data\PW0002SOC_log.ldf")]
    assert tsql.build_restore("PW0002SOC", r"D:\B\x.bak", moves) == (
        r"RESTORE DATABASE [PW0002SOC] FROM DISK = N'D:\B\x.bak' WITH FILE = 1, "
        r"MOVE N'Soc_Data' TO N'D:\Data\PW0002SOC.mdf', "
        r"MOVE N'Soc_Log' TO N'D:\Data\PW0002SOC_log.ldf', RECOVERY, STATS = 5"
    )
    assert tsql.build_restore(
        "a]b", "/b.bak", [], replace=True, recovery=False, stats=None, file=3
    ) == ("RESTORE DATABASE [a]]b] FROM DISK = N'/b.bak' WITH FILE = 3, REPLACE, NORECOVERY")


def test_misc_builders() -> None:
    assert tsql.build_fileexist("C:\\x'") == "EXEC master.dbo.xp_fileexist N'C:\\x'''"
    assert tsql.build_dirtree("/var/opt") == "EXEC master.sys.xp_dirtree N'/var/opt', 1, 1"
    assert tsql.build_kill(57) == "KILL 57"
    with pytest.raises(BadInput):
        tsql.build_kill("57; DROP")  # type: ignore[arg-type]
    assert tsql.build_drop_database("a]b") == "DROP DATABASE [a]]b]"
    assert tsql.build_database_exists("x'y").endswith("WHERE name = N'x''y'")
    assert "sys.dm_os_enumerate_filesystem(N'/v', N'*')" in tsql.build_enumerate_filesystem("/v")


# -- server paths ------------------------------------------------------------------------------


def test_server_path_join_windows() -> None:
    assert tsql.server_path_join("C:\\Backups", "a.bak", "\\") == "C:\\Backups\\a.bak"
    assert tsql.server_path_join("C:\\Backups\\", "a.bak", "\\") == "C:\\Backups\\a.bak"
    assert tsql.server_path_join("C:\\", "a.bak", "\\") == "C:\\a.bak"
    assert tsql.server_path_join("C:", "a.bak", "\\") == "C:\\a.bak"
    assert tsql.server_path_join("C:/Backups/", "a.bak", "\\") == "C:\\Backups\\a.bak"
    assert tsql.server_path_join("\\\\nas\\share", "a.bak", "\\") == "\\\\nas\\share\\a.bak"


def test_server_path_join_linux() -> None:
    assert (
        tsql.server_path_join("/var/opt/mssql/backup/", "a.bak", "/")
        == "/var/opt/mssql/backup/a.bak"
    )
    assert tsql.server_path_join("/", "a.bak", "/") == "/a.bak"


@pytest.mark.parametrize(
    ("directory", "name", "sep"),
    [
        ("D:\\data", "x.mdf", "/"),  # Windows path on a Linux server: the mixed-path bug
        ("/var/opt", "x.mdf", "\\"),  # no drive letter on Windows
        ("relative", "x", "/"),
        ("/a/../etc", "x", "/"),
        ("/a", "../x", "/"),
        ("/a", "x/y", "/"),
        ("/a", "x\\y", "/"),
        ("C:\\a", "c:x", "\\"),
        ("/a", "", "/"),
        ("/a", "..", "/"),
        ("", "x", "/"),
        ("/a", "x", ":"),
    ],
)
def test_server_path_join_rejects_tricks(directory: str, name: str, sep: str) -> None:
    with pytest.raises(BadInput):
        tsql.server_path_join(directory, name, sep)


def test_guess_separator_and_parts() -> None:
    assert tsql.guess_separator("C:\\Program Files\\MSSQL\\DATA\\") == "\\"
    assert tsql.guess_separator(None, "", "/var/opt/mssql/data/") == "/"
    assert tsql.guess_separator("\\\\nas\\b") == "\\"
    assert tsql.server_basename("C:\\B\\x.bak") == "x.bak"
    assert tsql.server_basename("/b/x.bak") == "x.bak"
    assert tsql.server_dirname("C:\\B\\x.bak", "\\") == "C:\\B"
    assert tsql.server_dirname("C:\\x.bak", "\\") == "C:\\"
    assert tsql.server_dirname("/x.bak", "/") == "/"


def test_restore_targets_new_names_in_server_style() -> None:
    files = [
        ("Soc", "D"),
        ("Soc_log", "L"),
        ("Soc2", "D"),
        ("Soc3", "D"),
        ("Soc_log2", "L"),
        ("fs", "S"),
    ]
    moves = tsql.restore_targets(
        "PW0002SOC", files, data_dir="/var/opt/mssql/data/", log_dir="/var/opt/mssql/log", sep="/"
    )
    assert moves == [
        ("Soc", "/var/opt/mssql/data/PW0002SOC.mdf"),
        ("Soc_log", "/var/opt/mssql/log/PW0002SOC_log.ldf"),
        ("Soc2", "/var/opt/mssql/data/PW0002SOC_2.ndf"),
        ("Soc3", "/var/opt/mssql/data/PW0002SOC_3.ndf"),
        ("Soc_log2", "/var/opt/mssql/log/PW0002SOC_log2.ldf"),
        ("fs", "/var/opt/mssql/data/PW0002SOC_fs1"),
    ]


def test_restore_targets_avoid_taken_names_case_insensitively_on_windows() -> None:
    moves = tsql.restore_targets(
        "PW0002SOC",
        [("d", "D"), ("l", "L")],
        data_dir="D:\\Data",
        sep="\\",
        taken=["d:\\data\\pw0002soc.mdf", "D:\\Data\\PW0002SOC_2.mdf"],
    )
    assert moves == [("d", "D:\\Data\\PW0002SOC_3.mdf"), ("l", "D:\\Data\\PW0002SOC_log.ldf")]
    paths = [p for _, p in moves]
    assert len({p.lower() for p in paths}) == len(paths)


def test_restore_targets_never_mix_styles() -> None:
    # A Windows backup's own paths are never used: only the server's directory and our names.
    moves = tsql.restore_targets(
        "PW0003ABC", [("A_Data", "D"), ("A_Log", "L")], data_dir="/d", sep="/"
    )
    assert all("\\" not in p and ":" not in p for _, p in moves)


# -- automatic backups: movement counter and server-side deletion --------------------------------


def test_build_movement_count_quotes_the_database() -> None:
    assert tsql.build_movement_count("PW0001SOC") == (
        "SELECT COUNT(*) AS movements FROM [PW0001SOC].dbo.[entry]"
    )
    sql = tsql.build_movement_count("a]; DROP DATABASE x; --")
    assert tokens(sql)[8:] == [("ident", "a]; DROP DATABASE x; --"), ("op", "."), ("word", "dbo"),
                               ("op", "."), ("ident", "entry")]
    with pytest.raises(BadInput):
        tsql.build_movement_count("")


def test_build_delete_backup_file_quotes_the_path() -> None:
    assert tsql.build_delete_backup_file("D:\\Backup\\PW0001SOC_20270301_021700.bak") == (
        "EXEC master.sys.xp_delete_file 0, N'D:\\Backup\\PW0001SOC_20270301_021700.bak'"
    )
    sql = tsql.build_delete_backup_file("/b/it's'; EXEC xp_cmdshell 'x")
    assert tokens(sql)[-3:] == [("word", "0"), ("op", ","), ("string", "/b/it's'; EXEC xp_cmdshell 'x")]
    with pytest.raises(BadInput):
        tsql.build_delete_backup_file("/b/x\x00.bak")
