"""Streaming writer of packed files: bounded memory, manifest last, read-back verified."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from msde_tui.packfmt import names
from msde_tui.packfmt.crypto import MAC_FIELD, Sealer
from msde_tui.packfmt.errors import DiskFull, MsdeError, PackError
from msde_tui.packfmt.files import open_exclusive, publish_new, staging_dir, write_error
from msde_tui.packfmt.manifest import (
    CHUNK_BYTES,
    CHUNK_ROWS,
    FORMAT,
    ROW_GROUP_ROWS,
    SELF_DIGEST,
    VERSION,
    check_kind,
    manifest_digest,
    tool_version,
)
from msde_tui.packfmt.schema import PackSchema, TableSpec

if TYPE_CHECKING:
    from msde_tui.packfmt.reader import PackReader

COPY_BLOCK = 1 << 20


def _json_bytes(obj: Any) -> bytes:
    """One line: Python's C encoder (an indented dump takes its pure-Python one, ten times
    slower on a PAF's ~60,000 balance-entry values); readers and the manifest's own digest do
    not depend on the layout (manifest.manifest_digest)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")


DELTA_MIN_DISTINCT = 0.05  # integer columns this varied are delta-encoded, the others dictionary-encoded


def _delta_columns(data: pa.Table) -> list[str]:
    """Integer-like columns of ``data`` (the chunk's first row group) with many distinct values:
    ids, references, amounts. DELTA_BINARY_PACKED stores them much smaller than a dictionary
    that overflows to plain; columns with few values (codes, flags) keep the dictionary."""
    delta = []
    rows = max(data.num_rows, 1)
    for field, column in zip(data.schema, data.columns, strict=True):
        kind = field.type
        if not (pa.types.is_integer(kind) or pa.types.is_date32(kind) or pa.types.is_timestamp(kind)):
            continue
        if pa.types.is_integer(kind) and kind.bit_width < 32:
            continue
        if pc.count_distinct(column).as_py() > DELTA_MIN_DISTINCT * rows:
            delta.append(field.name)
    return delta


class TableWriter:
    """Write one table's rows (or deleted keys) as bounded Parquet chunks."""

    def __init__(
        self, pack: PackWriter, table: TableSpec, area: str, columns: list[str] | None,
        on_decoded: Callable[[pa.Table], None] | None = None,
    ) -> None:
        self.pack = pack
        self.on_decoded = on_decoded  # given each row group decoded back from the stored bytes
        self.table = table
        self.area = area
        self.schema = table.arrow_schema(columns)
        self.rows = 0
        self.chunks = 0
        self._buffer: list[pa.RecordBatch] = []
        self._buffer_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._file: BinaryIO | None = None
        self._out: pa.NativeFile | BinaryIO | None = None  # what Arrow writes the chunk through
        self._chunk_rows = 0
        self._chunk_bytes = 0

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if batch.num_rows == 0:
            return
        if batch.schema != self.schema:
            batch = batch.select(self.schema.names).cast(self.schema)
        for piece in batch.to_batches() if isinstance(batch, pa.Table) else [batch]:
            while piece.num_rows:
                room = min(ROW_GROUP_ROWS - self._buffer_rows, CHUNK_ROWS - self._chunk_rows - self._buffer_rows)
                part = piece.slice(0, room)
                piece = piece.slice(part.num_rows)
                self._buffer.append(part)
                self._buffer_rows += part.num_rows
                self.rows += part.num_rows
                if self._buffer_rows >= ROW_GROUP_ROWS or self._chunk_rows + self._buffer_rows >= CHUNK_ROWS:
                    self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        data = pa.Table.from_batches(self._buffer, schema=self.schema)
        self._buffer, self._buffer_rows = [], 0
        try:
            if self._writer is None:
                self._file = self.pack.temp_file()
                self.pack.opened(self)
                delta = _delta_columns(data)
                self._out = _sink(self._file)
                self._writer = pq.ParquetWriter(
                    self._out, self.schema, compression="zstd", compression_level=3, version="2.6",
                    use_dictionary=[n for n in self.schema.names if n not in delta],
                    column_encoding=dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
                )
            self._writer.write_table(data, row_group_size=ROW_GROUP_ROWS)
        except OSError as exc:  # Arrow's IO errors carry the errno in their text only
            raise _os_error(exc, self.pack.final) from exc
        self._chunk_rows += data.num_rows
        self._chunk_bytes += data.nbytes
        if self._chunk_rows >= CHUNK_ROWS or self._chunk_bytes >= CHUNK_BYTES:
            self._close_chunk()

    def _close_chunk(self) -> None:
        if self._writer is None or self._file is None:
            return
        try:
            self._writer.close()
            if self._out is not self._file and self._out is not None:
                self._out.close()
        except OSError as exc:
            raise _os_error(exc, self.pack.final) from exc
        member = names.chunk_name(self.area, self.table.dir, self.chunks)
        self._file.seek(0)
        self.pack.add_stream(member, self._file)
        if self.pack.sealer is None:
            self.pack.decode_chunk(member, self._file, self._chunk_rows,
                                   None if self.on_decoded is None else self._decoded)
        self._file.close()
        self._writer, self._out, self._file = None, None, None
        self.pack.closed(self)
        self._chunk_rows = self._chunk_bytes = 0
        self.chunks += 1

    def _decoded(self, group: pa.Table) -> None:
        if self.on_decoded is not None:  # typed as the rows written, as a reader types them
            self.on_decoded(group if group.schema == self.schema else group.cast(self.schema))

    def close(self) -> None:
        self._flush()
        self._close_chunk()

    def discard(self) -> None:
        """Close the chunk being built without adding it (the package is being aborted): its
        Parquet writer and its file, whatever state a failed write left them in."""
        writer, out, file = self._writer, self._out, self._file
        self._writer, self._out, self._file, self._buffer, self._buffer_rows = None, None, None, [], 0
        self.pack.closed(self)
        for handle in (writer, out, file):  # Arrow's writer leaves its sink open when its close fails
            if handle is not None:
                try:
                    handle.close()
                except (OSError, ValueError):
                    pass  # a full disk refuses the last flush; the descriptor is released all the same


class PackWriter:
    """Write ``path`` in a private staging directory beside it (docs/FORMAT.md section 9);
    ``finish`` verifies it by reading it back, then publishes it under a name that must be free."""

    def __init__(self, path: Path, kind: str, *, passphrase: str | None = None) -> None:
        self.final = Path(path)
        self.kind = check_kind(kind)
        if os.path.lexists(self.final):
            raise PackError(f"{self.final} already exists.", "Choose another directory or remove that file.")
        if not self.final.parent.is_dir():
            raise PackError(f"The directory {self.final.parent} does not exist.", "Create it or choose another one.")
        self.sealer = Sealer.new(passphrase) if passphrase else None
        self.package_id = str(uuid.uuid4())
        self.members: dict[str, dict[str, Any]] = {}
        self.plain: dict[str, dict[str, Any]] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self._building: list[TableWriter] = []  # table writers with a chunk open (closed by ``abort``)
        self.decoded: dict[str, str] = {}  # chunk -> SHA-256 of the bytes decoded as they were stored
        try:
            self._tmp = staging_dir(self.final.parent, ".msde-pack-")
        except DiskFull:
            raise
        except MsdeError as exc:
            raise PackError(exc.message, exc.hint) from exc
        self.partial = self._tmp / (self.final.name + ".partial")
        self._counter = 0
        try:
            self._file = open_exclusive(self.partial)
            self._zip = zipfile.ZipFile(self._file, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        except (OSError, MsdeError) as exc:
            shutil.rmtree(self._tmp, ignore_errors=True)
            if isinstance(exc, MsdeError):
                raise
            raise _os_error(exc, self.final) from exc
        self._closed = False

    @property
    def encrypted(self) -> bool:
        return self.sealer is not None

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is not None:
            self.abort()

    def temp_file(self) -> BinaryIO:
        """A chunk being built: a file with no name (unlinked at once, or O_TMPFILE), in the
        staging directory, so that no clear chunk outlives the process however it ends."""
        self._counter += 1
        return tempfile.TemporaryFile(dir=self._tmp)  # noqa: SIM115 - closed by the table writer

    def decode_chunk(
        self, name: str, source: BinaryIO, rows: int, on_decoded: Callable[[pa.Table], None] | None = None
    ) -> None:
        """Decode every row group of chunk ``name`` from the very bytes just stored (``source``,
        the chunk's private file, which ``add_stream`` hashed), while the next rows are read:
        ``finish`` then reads the member back and checks its SHA-256 against the same hash
        instead of decoding it again (docs/FORMAT.md section 9). ``on_decoded`` is given each
        decoded row group (a writer that digests the rows it reads back does it here, once)."""
        source.seek(0)
        decoded = 0
        try:
            parquet = pq.ParquetFile(source)
            for i in range(parquet.num_row_groups):
                group = parquet.read_row_group(i)
                decoded += group.num_rows
                if on_decoded is not None:
                    on_decoded(group)
        except (pa.ArrowException, OSError) as exc:
            raise PackError(f"{self.final}: chunk {name} cannot be read back as Parquet ({exc}).") from exc
        if decoded != rows:
            raise PackError(f"{self.final}: chunk {name} holds {decoded:,} rows, not {rows:,}.")
        self.decoded[name] = self.plain[name]["sha256"]

    def opened(self, table: TableWriter) -> None:
        """``table`` opened a chunk file: ``abort`` closes it if the package fails."""
        if table not in self._building:
            self._building.append(table)

    def closed(self, table: TableWriter) -> None:
        if table in self._building:
            self._building.remove(table)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(names.check_member_name(name), date_time=datetime.now().timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED
        return info

    def add_stream(self, name: str, source: BinaryIO) -> None:
        if name in self.members:
            raise PackError(f"Member {name} written twice.")
        stored_hash, plain_hash = hashlib.sha256(), hashlib.sha256()
        stored_size = plain_size = 0

        class _Tee:
            def read(self, n: int) -> bytes:
                nonlocal plain_size
                data = source.read(n)
                plain_hash.update(data)
                plain_size += len(data)
                return data

        tee = _Tee()
        try:
            with self._zip.open(self._info(name), "w", force_zip64=True) as out:
                if self.sealer is not None:
                    blocks: Iterable[bytes] = self.sealer.encrypt_stream(name, tee)  # type: ignore[arg-type]
                else:
                    blocks = iter(lambda: tee.read(COPY_BLOCK), b"")
                for block in blocks:
                    out.write(block)
                    stored_hash.update(block)
                    stored_size += len(block)
        except OSError as exc:
            raise _os_error(exc, self.final) from exc
        self.members[name] = {"size": stored_size, "sha256": stored_hash.hexdigest()}
        self.plain[name] = {"size": plain_size, "sha256": plain_hash.hexdigest()}

    def add_file(self, name: str, path: Path) -> None:
        with open(path, "rb") as handle:
            self.add_stream(name, handle)

    def add_bytes(self, name: str, data: bytes) -> None:
        import io

        self.add_stream(name, io.BytesIO(data))

    def add_json(self, name: str, obj: Any) -> None:
        self.add_bytes(name, _json_bytes(obj))

    def write_schema(self, schema: PackSchema) -> None:
        self.add_json(names.SCHEMA, schema.to_json())

    def table(
        self, table: TableSpec, *, area: str = names.DATA, columns: list[str] | None = None,
        on_decoded: Callable[[pa.Table], None] | None = None,
    ) -> TableWriter:
        """A writer of ``table``'s rows; ``on_decoded``: see ``decode_chunk`` (clear files only)."""
        return TableWriter(self, table, area, columns, on_decoded)

    def write_table(
        self,
        table: TableSpec,
        batches: Iterable[pa.RecordBatch],
        *,
        area: str = names.DATA,
        columns: list[str] | None = None,
    ) -> TableWriter:
        writer = self.table(table, area=area, columns=columns)
        for batch in batches:
            writer.write(batch)
        writer.close()
        return writer

    def finish(
        self, content: dict[str, Any], *, verify: bool = True, check: Callable[[PackReader], None] | None = None
    ) -> Path:
        """Write the manifest, close, read back and check every member, rename into place.

        ``check`` replaces the read-back check (``PackReader.verify``) by the caller's own, which
        must check at least as much (every member's SHA-256, every chunk decoded, the row counts):
        a writer that also compares row digests then reads its file back once, not twice."""
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "package_id": self.package_id,
            "created_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
            "tool": {"name": "msde-tui", "version": tool_version()},
            "encryption": self.sealer.params if self.sealer else None,
        }
        if self.sealer is not None:
            private = dict(content)
            private["members"] = dict(self.plain)
            self.add_json(names.CONTENT, private)
        else:
            manifest["content"] = content
        manifest["members"] = dict(self.members)
        if self.sealer is not None:
            manifest["encryption"] = dict(self.sealer.params)
            manifest["encryption"][MAC_FIELD] = self.sealer.manifest_mac(manifest)
        manifest[SELF_DIGEST] = manifest_digest(manifest)
        try:
            self._zip.writestr(self._info(names.MANIFEST), _json_bytes(manifest))
            self._zip.close()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._closed = True
        except OSError as exc:
            self.abort()
            raise _os_error(exc, self.final) from exc
        try:
            if verify:
                from msde_tui.packfmt.reader import PackReader

                passphrase = None
                with PackReader(self.partial, kind=self.kind, sealer=self.sealer, passphrase=passphrase) as back:
                    if check is not None:
                        check(back)
                    else:
                        back.verify(decoded=self.decoded)
            if os.path.lexists(self.final):
                raise PackError(f"{self.final} appeared while packing.", "Choose another directory.")
            publish_new(self.partial, self.final, sync=False)  # synced above; a planted link is refused
        except BaseException:
            self.abort()
            raise
        shutil.rmtree(self._tmp, ignore_errors=True)
        return self.final

    def abort(self) -> None:
        """Close every file still open and remove everything written so far."""
        for table in list(self._building):
            table.discard()
        if not self._closed:
            try:
                self._zip.close()
            except (OSError, ValueError):
                pass
            try:
                self._file.close()
            except (OSError, ValueError):
                pass
            self._closed = True
        self.partial.unlink(missing_ok=True)
        shutil.rmtree(self._tmp, ignore_errors=True)


def _sink(handle: BinaryIO) -> pa.NativeFile | BinaryIO:
    """Where Arrow writes a chunk: the open file itself, through its /proc path where there is
    one (Arrow's own writes, no Python in between; a descriptor of ours, closed by us), else the
    file object."""
    proc = Path(f"/proc/self/fd/{handle.fileno()}")
    return pa.OSFile(str(proc), mode="wb") if proc.exists() else handle


def _os_error(exc: OSError, path: Path) -> Exception:
    error = write_error(exc, path)
    if isinstance(error, DiskFull):
        return error
    return PackError(error.message, error.hint)
