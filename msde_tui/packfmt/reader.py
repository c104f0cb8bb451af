"""Reader of packed files: every member checked (size, SHA-256, authentication) before use."""

from __future__ import annotations

import hashlib
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

from msde_tui.packfmt import names
from msde_tui.packfmt.crypto import Sealer
from msde_tui.packfmt.errors import PackError
from msde_tui.packfmt.manifest import CHUNK_ROWS, MAX_JSON, ROW_GROUP_ROWS, check_manifest, minor
from msde_tui.packfmt.schema import PackSchema, TableSpec
from msde_tui.packfmt.validate import CONTENT_SCHEMA, check_schema, load_json

BLOCK = 1 << 20
MAX_GROUP_BYTES = 1 << 30  # one row group, decompressed (msde writes 65,536 rows per group)
RATIO_FLOOR = 64 << 20  # below this a row group may compress as well as it likes (constant columns)
MAX_RATIO = 200
MAX_MEMBERS = 200_000  # as validate.MANIFEST_SCHEMA's members
MAX_DIRECTORY = 64 << 20  # the ZIP central directory, in bytes
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
        header_only: bool = False,
    ) -> None:
        """``header_only``: check the container and the manifest, open nothing encrypted (the
        manifest is then all there is: ``content`` is the clear one, or empty when encrypted)."""
        self.path = Path(path)
        self.where = self.path.name
        if not self.path.is_file():
            raise PackError(f"{self.path} does not exist or is not a file.", "Check the file name.")
        self._header_only = header_only
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

    def _check_directory(self, file_size: int) -> None:
        """Refuse a ZIP directory claiming more members, or more bytes, than a packed file can
        hold, before ``zipfile`` builds an object per entry (docs/FORMAT.md section 9)."""
        if file_size < 22:
            return  # zipfile says it is not a ZIP
        self._handle.seek(file_size - 22)
        end = self._handle.read(22)
        if not end.startswith(b"PK\x05\x06"):
            return  # a comment or damage: reported below
        entries, directory = struct.unpack("<H", end[10:12])[0], struct.unpack("<I", end[12:16])[0]
        if file_size >= 42:
            self._handle.seek(file_size - 42)
            locator = self._handle.read(20)
            if locator.startswith(b"PK\x06\x07"):
                offset = struct.unpack("<Q", locator[8:16])[0]
                if 0 <= offset <= file_size - 56:
                    self._handle.seek(offset)
                    record = self._handle.read(56)
                    if record.startswith(b"PK\x06\x06"):
                        entries = struct.unpack("<Q", record[32:40])[0]
                        directory = struct.unpack("<Q", record[40:48])[0]
        if entries > MAX_MEMBERS + 1 or directory > MAX_DIRECTORY:
            raise PackError(f"{self.where} claims {entries:,} members in a {directory:,}-byte directory: more than "
                            f"a packed file holds.", _DAMAGED)

    def _open(self, kind: str | None, passphrase: str | None, sealer: Sealer | None) -> None:
        file_size = self.path.stat().st_size
        self._check_directory(file_size)
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
        self.format_minor = minor(self.manifest)
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
        self._schema: PackSchema | None = None
        encryption = self.manifest.get("encryption")
        self.is_encrypted = bool(encryption)
        if encryption and self._header_only:
            self.content: dict[str, Any] = {}
            return
        if encryption:
            self.sealer = sealer or Sealer.open(passphrase, encryption, minor=self.format_minor)
            if self.format_minor >= 1:  # 2.1: the clear manifest is authenticated under the key
                self.sealer.check_manifest(self.manifest, self.where)
            content = self._json_member(names.CONTENT)
            check_schema(content, CONTENT_SCHEMA, f"{self.where}: content.json")
            if not isinstance(content.get("members"), dict):
                raise PackError(f"{self.where}: the encrypted content block is damaged.", _DAMAGED)
            self.plain = content["members"]
            if set(self.plain) != listed - {names.CONTENT}:
                raise PackError(f"{self.where}: the encrypted member list does not match the manifest.", _DAMAGED)
        else:
            content = self.manifest["content"]
        self.content = content

    @property
    def encrypted(self) -> bool:
        return self.is_encrypted

    @property
    def schema(self) -> PackSchema:
        if self._schema is None:
            schema = PackSchema.from_json(self._json_member(names.SCHEMA))
            listed = set(self.content.get("tables") or {})
            if not schema.tables or {t.name for t in schema.tables} != listed:
                raise PackError(
                    f"{self.where}: schema.json and the manifest do not list the same tables "
                    f"(or list none).", _DAMAGED)
            self._schema = schema
        return self._schema

    def expected_rows(self, table: TableSpec, area: str = names.DATA) -> int:
        """The row count (or deleted-key count) the manifest declares for ``table``."""
        info = (self.content.get("tables") or {}).get(table.name) or {}
        return int(info.get("rows" if area == names.DATA else "deleted", 0))

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
        return load_json(data, f"{self.where}: {name}")

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
            parquet = pq.ParquetFile(pa.BufferReader(mapped.read_at(self._infos[name].file_size, offset)))
        else:
            # Decrypted into a file that has no name (unlinked at once, or O_TMPFILE): the kernel
            # frees it when the process ends, however it ends, so no clear row outlives a kill.
            self._close_plain()
            self._plain_file: BinaryIO | None = tempfile.TemporaryFile(prefix=".msde-read-")  # noqa: SIM115 - closed in close()
            for block in self._plain_stream(name):
                self._plain_file.write(block)
            self._plain_file.flush()
            self._plain_file.seek(0)
            parquet = pq.ParquetFile(self._plain_file)
        self._check_bounds(name, parquet)
        return parquet

    def _check_bounds(self, name: str, parquet: pq.ParquetFile) -> None:
        """Refuse a chunk whose footer declares more rows, or more bytes once decompressed,
        than msde writes (docs/FORMAT.md section 9): checked before a row is allocated."""
        meta = parquet.metadata
        if meta.num_rows > CHUNK_ROWS or meta.num_rows < 0:
            raise PackError(f"{self.where}: member {name} declares {meta.num_rows:,} rows, more than a "
                            f"chunk holds ({CHUNK_ROWS:,}).", _DAMAGED)
        for i in range(meta.num_row_groups):
            group = meta.row_group(i)
            if group.num_rows > ROW_GROUP_ROWS or group.num_rows < 0:
                raise PackError(f"{self.where}: member {name} has a row group of {group.num_rows:,} rows "
                                f"(at most {ROW_GROUP_ROWS:,}).", _DAMAGED)
            unpacked = group.total_byte_size
            packed = sum(group.column(c).total_compressed_size for c in range(group.num_columns))
            if unpacked > MAX_GROUP_BYTES or (unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * max(packed, 1)):
                raise PackError(f"{self.where}: member {name} would inflate to {unpacked:,} bytes "
                                f"from {packed:,} (a decompression bomb or damage).", _DAMAGED)

    def _close_plain(self) -> None:
        handle = getattr(self, "_plain_file", None)
        if handle is not None:
            handle.close()
            self._plain_file = None

    def batches(
        self, table: TableSpec, area: str = names.DATA, columns: list[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The rows of ``table`` (or its deleted keys), chunk by chunk, typed as the schema says."""
        expected = table.arrow_schema(columns if columns is not None else (table.key if area == names.DELETED else None))
        declared, seen = self.expected_rows(table, area), 0
        for name in self.chunks(table, area):
            try:
                parquet = self._parquet(name)
                seen += parquet.metadata.num_rows
                if seen > declared:  # checked before the rows are decoded
                    raise PackError(f"{self.where}: table {table.name} holds more rows than its manifest "
                                    f"declares ({declared:,}).", _DAMAGED)
                if parquet.schema_arrow.names != expected.names:
                    raise PackError(f"{self.where}: the columns of {name} do not match schema.json.", _DAMAGED)
                for batch in parquet.iter_batches(batch_size=ROWS_PER_BATCH):
                    if batch.schema != expected:
                        batch = batch.cast(expected)
                    yield batch
            except (pa.ArrowException, OSError) as exc:
                raise PackError(f"{self.where}: member {name} cannot be read as Parquet ({exc}).", _DAMAGED) from exc
        if seen != declared:
            raise PackError(f"{self.where}: table {table.name} has {seen:,} rows in its chunks but the manifest "
                            f"says {declared:,}.", _DAMAGED)

    def verify(self, *, decoded: dict[str, str] | None = None) -> None:
        """Check every member; decode every data chunk and compare row counts with the manifest.

        ``decoded`` (the writer's own read-back, unencrypted files only): chunks whose bytes,
        with that SHA-256, were decoded as they were stored; such a chunk, once its member's
        SHA-256 is checked here against the same value, is not decoded a second time."""
        decoded = decoded if decoded is not None and self.sealer is None else {}
        for name in sorted(self.members):
            self.check_member(name)
        # each member's bytes were just checked: decoding the chunks need not hash them again
        schema = self.schema
        for table in schema.tables:
            for area in (names.DATA, names.DELETED):
                rows = 0
                expected = self.expected_rows(table, area)
                for name in self.chunks(table, area):
                    try:
                        parquet = self._parquet(name, checked=True)
                        rows += parquet.metadata.num_rows
                        if rows > expected:  # before decoding: a row bomb stops here
                            break
                        if decoded.get(name) == self.members[name]["sha256"]:
                            continue  # the same bytes were decoded when they were written
                        for i in range(parquet.num_row_groups):
                            parquet.read_row_group(i)
                    except (pa.ArrowException, OSError) as exc:
                        raise PackError(f"{self.where}: member {name} cannot be read as Parquet ({exc}).", _DAMAGED) from exc
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
        self._close_plain()

    def __enter__(self) -> PackReader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


ROWS_PER_BATCH = 65_536
