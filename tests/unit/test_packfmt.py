"""The container: round trip, encryption, and every way a file can be bad (docs/FORMAT.md)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest

from msde_tui.engine.errors import PackError
from msde_tui.packfmt import ColumnSpec, PackReader, PackSchema, PackWriter, TableSpec
from msde_tui.packfmt import manifest as manifest_mod

TABLE = TableSpec(
    "t", "0000-t", [ColumnSpec("a", "integer", nullable=False), ColumnSpec("b", "text")], ["a"]
)


def _write(path: Path, rows: int = 3, passphrase: str | None = None) -> Path:
    with PackWriter(path, "PBF", passphrase=passphrase) as writer:
        writer.write_schema(PackSchema([TABLE]))
        batch = pa.record_batch(
            [pa.array(range(rows)), pa.array([f"é{i}" if i % 3 else None for i in range(rows)])],
            schema=TABLE.arrow_schema(),
        )
        data = writer.write_table(TABLE, [batch])
        return writer.finish({"tables": {"t": {"rows": data.rows, "chunks": data.chunks}}})


def _rows(path: Path, passphrase: str | None = None) -> list[dict[str, object]]:
    with PackReader(path, kind="PBF", passphrase=passphrase) as reader:
        reader.verify()
        return [row for b in reader.batches(reader.schema.table("t")) for row in b.to_pylist()]


def _rewrite(src: Path, dst: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """Copy a packed file member by member, letting ``change(name, data)`` alter or drop them."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            result = change(info.filename, zin.read(info.filename))
            if result is None:
                continue
            name, data = result
            zout.writestr(name, data)
    return dst


def test_round_trip_and_layout(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf", rows=10)
    assert not (tmp_path / "x.pbf.partial").exists()
    assert [r["a"] for r in _rows(path)] == list(range(10))
    with zipfile.ZipFile(path) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist())
        assert zf.namelist()[-1] == "manifest.json"
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["format"] == "msde-pack" and manifest["version"] == "2.1"
        assert "data/0000-t/00000.parquet" in manifest["members"]
        # a standard tool reads the data member
        import pyarrow.parquet as pq

        table = pq.read_table(pa.BufferReader(zf.read("data/0000-t/00000.parquet")))
        assert table.num_rows == 10


def test_chunks_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from msde_tui.packfmt import writer as writer_mod

    monkeypatch.setattr(writer_mod, "CHUNK_ROWS", 1000)
    monkeypatch.setattr(writer_mod, "ROW_GROUP_ROWS", 500)
    path = _write(tmp_path / "x.pbf", rows=3500)
    with zipfile.ZipFile(path) as zf:
        chunks = [n for n in zf.namelist() if n.startswith("data/")]
    assert len(chunks) == 4
    assert [r["a"] for r in _rows(path)] == list(range(3500))


def test_flipped_byte_names_the_member(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf", rows=50)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("data/0000-t/00000.parquet")
        offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.file_size // 2
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(PackError, match="data/0000-t/00000.parquet"):
        _rows(path)


def test_truncated_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf", rows=50)
    data = path.read_bytes()
    for cut in (len(data) - 10, len(data) // 2, 10):
        path.write_bytes(data[:cut])
        with pytest.raises(PackError, match="truncated|not a packed file"):
            _rows(path)


def test_not_a_zip_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "junk.pbf").write_text("hello")
    with pytest.raises(PackError):
        _rows(tmp_path / "junk.pbf")
    with pytest.raises(PackError, match="does not exist"):
        _rows(tmp_path / "none.pbf")


def test_damaged_manifest_is_refused_by_its_own_checksum(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf")

    def edit(name: str, data: bytes):  # type: ignore[no-untyped-def]
        if name == "manifest.json":  # every member still matches; only a description changes
            manifest = json.loads(data)
            manifest["content"]["tables"]["t"]["chunks"] += 0
            manifest["created_at"] = "2001" + manifest["created_at"][4:]
            data = json.dumps(manifest).encode()
        return name, data

    with pytest.raises(PackError, match="manifest.json is damaged"):
        PackReader(_rewrite(path, tmp_path / "edited.pbf", edit))


def test_wrong_kind_and_unknown_major_version(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf")
    with pytest.raises(PackError, match="is a PBF, not a PTF"):
        PackReader(path, kind="PTF")

    def bump(name: str, data: bytes):  # type: ignore[no-untyped-def]
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["version"] = version
            data = json.dumps(manifest).encode()
        return name, data

    version = "3.0"
    newer = _rewrite(path, tmp_path / "newer.pbf", bump)
    with pytest.raises(PackError, match="version 3.0"):
        PackReader(newer)
    version = "1.0"  # the development format whose row digests were BLAKE2b
    older = _rewrite(path, tmp_path / "older.pbf", bump)
    with pytest.raises(PackError, match="version 1.0.*Pack the dossier again"):
        PackReader(older)


def test_minor_version_is_accepted(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf")

    def minor(name: str, data: bytes):  # type: ignore[no-untyped-def]
        if name == "manifest.json":
            manifest = json.loads(data)
            manifest["version"] = "2.7"
            manifest["future_field"] = {"x": 1}
            manifest["manifest_sha256"] = manifest_mod.manifest_digest(manifest)  # as its writer would
            data = json.dumps(manifest).encode()
        return name, data

    assert len(_rows(_rewrite(path, tmp_path / "minor.pbf", minor))) == 3


@pytest.mark.parametrize("evil", ["../evil.txt", "/etc/evil", "data\\evil", "c:/evil", "data/../../x"])
def test_zip_slip_names_refused(tmp_path: Path, evil: str) -> None:
    path = _write(tmp_path / "x.pbf")
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(evil, b"boom")
    with pytest.raises(PackError, match="forbidden name"):
        PackReader(path)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_unlisted_and_missing_members(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf")
    extra = _rewrite(path, tmp_path / "extra.pbf", lambda n, d: (n, d))
    with zipfile.ZipFile(extra, "a") as zf:
        zf.writestr("data/0000-t/00001.parquet", b"x")
    with pytest.raises(PackError, match="does not list"):
        PackReader(extra)
    missing = _rewrite(path, tmp_path / "missing.pbf", lambda n, d: None if n.startswith("data/") else (n, d))
    with pytest.raises(PackError, match="lacks members"):
        PackReader(missing)


def test_compressed_member_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf")
    out = tmp_path / "deflated.pbf"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    with pytest.raises(PackError, match="compressed"):
        PackReader(out)


def test_absurd_manifest_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "x.pbf")
    from msde_tui.packfmt import reader as reader_mod

    monkeypatch.setattr(reader_mod, "MAX_JSON", 10)
    with pytest.raises(PackError, match="absurdly large"):
        PackReader(path)


def test_encryption_round_trip_and_wrong_passphrase(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf", rows=20, passphrase="correct horse")
    assert [r["a"] for r in _rows(path, "correct horse")] == list(range(20))
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert "content" not in manifest and manifest["encryption"]["kdf"] == "scrypt"
        assert b"PAR1" not in zf.read("data/0000-t/00000.parquet")
        assert b'"t"' not in zf.read("schema.json")
    with pytest.raises(PackError, match="Wrong passphrase"):
        PackReader(path, passphrase="wrong")
    with pytest.raises(PackError, match="encrypted"):
        PackReader(path)


def test_encrypted_segments_cannot_be_swapped(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf", passphrase="pw")
    with zipfile.ZipFile(path) as zf:
        schema_bytes = zf.read("schema.json")
        members = json.loads(zf.read("manifest.json"))["members"]

    def swap(name: str, data: bytes):  # type: ignore[no-untyped-def]
        if name == "data/0000-t/00000.parquet":
            return name, schema_bytes
        if name == "manifest.json":  # an attacker can fix the outer checksums, not the AEAD tags
            import hashlib

            members["data/0000-t/00000.parquet"] = {"size": len(schema_bytes), "sha256": hashlib.sha256(schema_bytes).hexdigest()}
            manifest = json.loads(data)
            manifest["members"] = members
            manifest["manifest_sha256"] = manifest_mod.manifest_digest(manifest)  # and this one
            return name, json.dumps(manifest).encode()
        return name, data

    swapped = _rewrite(path, tmp_path / "swapped.pbf", swap)
    with pytest.raises(PackError, match="authentication failed|changed after packing"):
        _rows(swapped, "pw")


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "x.pbf"
    with pytest.raises(RuntimeError), PackWriter(target, "PBF") as writer:
        writer.write_schema(PackSchema([TABLE]))
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_existing_target_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.pbf")
    with pytest.raises(PackError, match="already exists"):
        PackWriter(path, "PBF")
    assert manifest_mod.MAJOR == 2


def test_chunks_decoded_as_they_are_written_are_still_read_back(tmp_path: Path) -> None:
    """The writer decodes each chunk from the bytes it stores (clear files only); ``finish``
    still reads every member back: a chunk changed on the disk after it was decoded is refused."""
    path = tmp_path / "x.pbf"
    with pytest.raises(PackError, match="0000-t/00000.parquet"), PackWriter(path, "PBF") as writer:
        writer.write_schema(PackSchema([TABLE]))
        batch = pa.record_batch([pa.array(range(500)), pa.array(["v"] * 500)], schema=TABLE.arrow_schema())
        data = writer.write_table(TABLE, [batch])
        member = "data/0000-t/00000.parquet"
        assert writer.decoded == {member: writer.members[member]["sha256"]}  # decoded when stored
        info = writer._zip.getinfo(member)
        writer._file.flush()
        with open(writer.partial, "r+b") as raw:  # one byte of the stored chunk changes
            raw.seek(info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 100)
            byte = raw.read(1)
            raw.seek(-1, 1)
            raw.write(bytes([byte[0] ^ 0xFF]))
        writer.finish({"tables": {"t": {"rows": data.rows, "chunks": data.chunks}}})
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with PackWriter(tmp_path / "y.pbf", "PBF", passphrase="secret words") as sealed:
        sealed.write_schema(PackSchema([TABLE]))
        sealed.write_table(TABLE, [batch])
        assert sealed.decoded == {}  # encrypted: finish decrypts and decodes every chunk itself
        sealed.abort()
