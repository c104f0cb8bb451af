"""Reader of packed files: every member checked (size, SHA-256, authentication) before use."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from msde_tui.engine.errors import PackError
from msde_tui.packfmt import names
from msde_tui.packfmt.crypto import Sealer
from msde_tui.packfmt.manifest import MAX_JSON, check_manifest
from msde_tui.packfmt.schema import PackSchema, TableSpec

BLOCK = 1 << 20
_DAMAGED = "Use another copy of the packed file; this one is damaged."


class _Limited:
    """Read exactly ``size`` bytes of ``handle`` from ``offset``."""

    def __init__(self, handle: BinaryIO, offset: int, size: int) -> None:
        self.handle, self.left = handle, size
        handle.seek(offset)

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        n = self.left if n < 0 else min(n, self.left)
        data = self.handle.read(n)
        self.left -= len(data)
        return data


class PackReader:
    """Open and check a packed file. ``kind`` is the kind expected (None: any)."""

    def __init__(
        self,
        path: Path,
        *,
        kind: str | None = None,
        passphrase: str | None = None,
        sealer: Sealer | None = None,
    ) -> None:
        self.path = Path(path)
        self.where = self.path.name
        if not self.path.is_file():
            raise PackError(f"{self.path} does not exist or is not a file.", "Check the file name.")
        self._tmp: Path | None = None
        try:
            self._handle: BinaryIO = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise PackError(f"Cannot open {self.path} ({exc.strerror}).", "Check the file's permissions.") from exc
        try:
            self._open(kind, passphrase, sealer)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ opening and checks

    def _open(self, kind: str | None, passphrase: str | None, sealer: Sealer | None) -> None:
        file_size = self.path.stat().st_size
        try:
            self._zip = zipfile.ZipFile(self._handle)
            infos = self._zip.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
            raise PackError(
                f"{self.where} is truncated or is not a packed file ({exc}).", _DAMAGED
            ) from exc
        self._handle.seek(max(0, file_size - 22))  # msde writes no ZIP comment: the end record is last
        if self._zip.comment or not self._handle.read(22).startswith(b"PK\x05\x06"):
            raise PackError(f"{self.where} has bytes after the end of its ZIP directory (appended or damaged).",
                            _DAMAGED)
        self._infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            names.check_member_name(info.filename)
            if info.filename in self._infos:
                raise PackError(f"{self.where} holds member {info.filename} twice.", _DAMAGED)
            if info.compress_type != zipfile.ZIP_STORED or info.compress_size != info.file_size:
                raise PackError(f"{self.where}: member {info.filename} is compressed; packed files store members as they are.")
            if info.flag_bits & 0x1:
                raise PackError(f"{self.where}: member {info.filename} uses ZIP encryption, which msde does not use.")
            if info.header_offset < 0 or info.header_offset + info.file_size > file_size:
                raise PackError(f"{self.where} is truncated (member {info.filename} runs past the end).", _DAMAGED)
            self._infos[info.filename] = info
        if names.MANIFEST not in self._infos:
            raise PackError(f"{self.where} has no manifest.json: it is not a packed file.", _DAMAGED)
        raw = self._json_member(names.MANIFEST, check=False)
        self.manifest = check_manifest(raw, expected_kind=kind, where=self.where)
        self.kind: str = self.manifest["kind"]
        self.members: dict[str, dict[str, Any]] = self.manifest["members"]
        listed = set(self.members)
        present = set(self._infos) - {names.MANIFEST}
        if present - listed:
            raise PackError(
                f"{self.where} holds members its manifest does not list: {', '.join(sorted(present - listed)[:5])}.",
                _DAMAGED,
            )
        if listed - present:
            raise PackError(
                f"{self.where} lacks members listed in its manifest: {', '.join(sorted(listed - present)[:5])}.",
                _DAMAGED,
            )
        for name, info in self.members.items():
            names.check_member_name(name)
            if info["size"] != self._infos[name].file_size:
                raise PackError(f"{self.where}: member {name} has the wrong size (truncated or altered).", _DAMAGED)
        self.sealer: Sealer | None = None
        self.plain = self.members
        encryption = self.manifest.get("encryption")
        if encryption:
            if not isinstance(encryption, dict):
                raise PackError(f"{self.where}: the encryption block of the manifest is damaged.")
            self.sealer = sealer or Sealer.open(passphrase, encryption)
            content = self._json_member(names.CONTENT)
            if not isinstance(content, dict) or not isinstance(content.get("members"), dict):
                raise PackError(f"{self.where}: the encrypted content block is damaged.", _DAMAGED)
            self.plain = content["members"]
            if set(self.plain) != listed - {names.CONTENT}:
                raise PackError(f"{self.where}: the encrypted member list does not match the manifest.", _DAMAGED)
        else:
            content = self.manifest.get("content")
            if not isinstance(content, dict):
                raise PackError(f"{self.where}: the manifest has no content block.", _DAMAGED)
        self.content: dict[str, Any] = content
        self._schema: PackSchema | None = None

    @property
    def encrypted(self) -> bool:
        return self.sealer is not None

    @property
    def schema(self) -> PackSchema:
        if self._schema is None:
            self._schema = PackSchema.from_json(self._json_member(names.SCHEMA))
        return self._schema

    def _offset(self, name: str) -> int:
        info = self._infos[name]
        self._handle.seek(info.header_offset)
        header = self._handle.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise PackError(f"{self.where}: the local header of {name} is damaged.", _DAMAGED)
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        return info.header_offset + 30 + name_len + extra_len

    def _stored(self, name: str) -> _Limited:
        return _Limited(self._handle, self._offset(name), self._infos[name].file_size)

    def check_member(self, name: str) -> None:
        """Check the stored size and SHA-256 of one member (and its authentication if encrypted)."""
        expected = self.members[name]
        digest, size = hashlib.sha256(), 0
        stream = self._stored(name)
        for block in iter(lambda: stream.read(BLOCK), b""):
            digest.update(block)
            size += len(block)
        if size != expected["size"] or digest.hexdigest() != expected["sha256"]:
            raise PackError(
                f"{self.where}: member {name} is damaged (its SHA-256 does not match the manifest).", _DAMAGED
            )

    def _plain_stream(self, name: str) -> Iterator[bytes]:
        """Plaintext blocks of a member, checked against the manifest as they are read."""
        self.check_member(name)
        stream = self._stored(name)
        if self.sealer is None:
            yield from iter(lambda: stream.read(BLOCK), b"")
            return
        expected = self.plain.get(name) if name != names.CONTENT else None
        digest, size = hashlib.sha256(), 0
        for block in self.sealer.decrypt_stream(name, stream):  # type: ignore[arg-type]
            digest.update(block)
            size += len(block)
            yield block
        if expected and (size != expected["size"] or digest.hexdigest() != expected["sha256"]):
            raise PackError(f"{self.where}: member {name} does not match its plaintext checksum.", _DAMAGED)

    def read_bytes(self, name: str, *, limit: int = MAX_JSON) -> bytes:
        if name not in self._infos:
            raise PackError(f"{self.where} has no member {name}.", _DAMAGED)
        if self._infos[name].file_size > limit:
            raise PackError(f"{self.where}: member {name} is absurdly large.", _DAMAGED)
        return b"".join(self._plain_stream(name))

    def _json_member(self, name: str, *, check: bool = True) -> Any:
        if check:
            data = self.read_bytes(name)
        else:
            if self._infos[name].file_size > MAX_JSON:
                raise PackError(f"{self.where}: {name} is absurdly large.", _DAMAGED)
            data = self._stored(name).read()
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise PackError(f"{self.where}: {name} is not valid JSON ({exc}).", _DAMAGED) from exc

    def read_json(self, name: str) -> Any:
        return self._json_member(name)

    # ------------------------------------------------------------------ data

    def chunks(self, table: TableSpec, area: str = names.DATA) -> list[str]:
        prefix = f"{area}/{table.dir}/"
        found = sorted(n for n in self.members if n.startswith(prefix))
        wanted = [names.chunk_name(area, table.dir, i) for i in range(len(found))]
        if found != wanted:
            raise PackError(f"{self.where}: the chunks of table {table.name} are not numbered 00000, 00001...", _DAMAGED)
        return found

    def _parquet(self, name: str, *, checked: bool = False) -> pq.ParquetFile:
        if self.sealer is None:
            if not checked:
                self.check_member(name)
            offset = self._offset(name)
            mapped = pa.memory_map(str(self.path))
            return pq.ParquetFile(pa.BufferReader(mapped.read_at(self._infos[name].file_size, offset)))
        if self._tmp is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=".msde-read-"))
        target = self._tmp / "chunk.parquet"
        with open(target, "wb") as out:
            for block in self._plain_stream(name):
                out.write(block)
        return pq.ParquetFile(str(target))

    def batches(
        self, table: TableSpec, area: str = names.DATA, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The rows of ``table`` (or its deleted keys), chunk by chunk, typed as the schema says."""
        expected = table.arrow_schema(columns if columns is not None else (table.key if area == names.DELETED else None))
        for name in self.chunks(table, area):
            try:
                parquet = self._parquet(name)
                if parquet.schema_arrow.names != expected.names:
                    raise PackError(f"{self.where}: the columns of {name} do not match schema.json.", _DAMAGED)
                for batch in parquet.iter_batches(batch_size=ROWS_PER_BATCH):
                    if batch.schema != expected:
                        batch = batch.cast(expected)
                    yield batch
            except (pa.ArrowException, OSError) as exc:
                raise PackError(f"{self.where}: member {name} cannot be read as Parquet ({exc}).", _DAMAGED) from exc

    def verify(self) -> None:
        """Check every member; decode every data chunk and compare row counts with the manifest."""
        for name in sorted(self.members):
            self.check_member(name)
        # each member's bytes were just checked: decoding the chunks need not hash them again
        schema = self.schema
        tables = self.content.get("tables") or {}
        for table in schema.tables:
            for area, field in ((names.DATA, "rows"), (names.DELETED, "deleted")):
                rows = 0
                for name in self.chunks(table, area):
                    try:
                        parquet = self._parquet(name, checked=True)
                        rows += parquet.metadata.num_rows
                        for i in range(parquet.num_row_groups):
                            parquet.read_row_group(i)
                    except (pa.ArrowException, OSError) as exc:
                        raise PackError(f"{self.where}: member {name} cannot be read as Parquet ({exc}).", _DAMAGED) from exc
                expected = (tables.get(table.name) or {}).get(field, 0)
                if rows != expected:
                    raise PackError(
                        f"{self.where}: table {table.name} has {rows} rows in its chunks but the manifest says {expected}.",
                        _DAMAGED,
                    )

    # ------------------------------------------------------------------ closing

    def close(self) -> None:
        zf = getattr(self, "_zip", None)
        if zf is not None:
            zf.close()
        self._handle.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> PackReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


ROWS_PER_BATCH = 65_536
