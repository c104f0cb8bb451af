"""The double's backup file format: a media file holding one or more backup sets.

Each backup set (all integers little-endian)::

    b"TDSDBAK1"                         set magic
    u32 n | n bytes JSON header | u32 crc32(JSON)
    page_count times:
        u32 page_no | u32 stored_len | stored bytes | u32 crc32(plain page) or 0
    b"TDSDEND1"                         end magic
    u32 n | n bytes JSON trailer | u32 crc32(JSON)

The header says what was backed up (database, server version, dates, CHECKSUM, COMPRESSION,
COPY_ONLY, files); pages are the database's SQLite image cut in 8 KB pages, zlib-compressed
when COMPRESSION was asked; the trailer holds the finish time and the SHA-256 of all stored
page bytes (checked, like SQL Server's backup checksum, only for sets taken WITH CHECKSUM).
So, like SQL Server:

- a wrong magic, an unreadable header or trailer -> 3241 "media family incorrectly formed";
- a file that ends early -> 3203 "Read ... failed: 38(Reached the end of the file.)";
- a damaged page in a set taken WITH CHECKSUM -> 3183 "RESTORE detected an error on page";
- a damaged page in a set taken without checksums goes unnoticed by VERIFYONLY (as on SQL
  Server, which can only check what the checksums cover) -- the restored data is then wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

SET_MAGIC = b"TDSDBAK1"
END_MAGIC = b"TDSDEND1"
PAGE_SIZE = 8192


class BackupFileError(Exception):
    """kind: 'format' (3241), 'eof' (3203), 'page' (3183); page: the damaged page number."""

    def __init__(self, kind: str, page: int = 0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.page = page


@dataclass
class BackupSet:
    header: dict[str, Any]
    trailer: dict[str, Any]
    position: int
    offset: int  # where the set starts in the file

    @property
    def database(self) -> str:
        return str(self.header["database"])

    @property
    def has_checksums(self) -> bool:
        return bool(self.header["checksum"])

    @property
    def compressed(self) -> bool:
        return bool(self.header["compressed"])

    @property
    def page_count(self) -> int:
        return int(self.header["page_count"])

    @property
    def started(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.header["started"])

    @property
    def finished(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.trailer["finished"])


def _json_block(data: dict[str, Any]) -> bytes:
    raw = json.dumps(data, sort_keys=True).encode()
    return struct.pack("<I", len(raw)) + raw + struct.pack("<I", zlib.crc32(raw))


def pages_of(image: bytes) -> list[bytes]:
    return [image[i : i + PAGE_SIZE] for i in range(0, len(image), PAGE_SIZE)] or [b""]


def write_set(
    out: BinaryIO,
    header: dict[str, Any],
    image: bytes,
    on_page: Callable[[int], None] = lambda done: None,
) -> dict[str, Any]:
    """Append one backup set of ``image`` to ``out``; ``on_page(pages written)`` after each page."""
    pages = pages_of(image)
    header = {**header, "page_count": len(pages), "image_size": len(image)}
    out.write(SET_MAGIC + _json_block(header))
    digest = hashlib.sha256()
    for no, page in enumerate(pages, start=1):
        stored = zlib.compress(page, 6) if header["compressed"] else page
        crc = zlib.crc32(page) if header["checksum"] else 0
        digest.update(stored)
        out.write(struct.pack("<II", no, len(stored)) + stored + struct.pack("<I", crc))
        on_page(no)
    trailer = {"finished": dt.datetime.now().isoformat(), "sha256": digest.hexdigest()}
    out.write(END_MAGIC + _json_block(trailer))
    return trailer


class _Reader:
    def __init__(self, f: BinaryIO) -> None:
        self.f = f

    def exact(self, n: int) -> bytes:
        data = self.f.read(n)
        if len(data) != n:
            raise BackupFileError("eof")
        return data

    def u32(self) -> int:
        return int(struct.unpack("<I", self.exact(4))[0])

    def json_block(self) -> dict[str, Any]:
        n = self.u32()
        if n > 1 << 20:
            raise BackupFileError("format")
        raw = self.exact(n)
        if self.u32() != zlib.crc32(raw):
            raise BackupFileError("format")
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise BackupFileError("format") from exc
        if not isinstance(value, dict):
            raise BackupFileError("format")
        return value


def _read_pages(
    r: _Reader,
    header: dict[str, Any],
    *,
    check: bool,
    keep: bool,
    on_page: Callable[[int], None],
) -> tuple[bytes, str]:
    image = bytearray()
    digest = hashlib.sha256()
    count = int(header["page_count"])
    for expected in range(1, count + 1):
        no = r.u32()
        length = r.u32()
        if no != expected or length > 2 * PAGE_SIZE + 1024:
            raise BackupFileError("format")
        stored = r.exact(length)
        crc = r.u32()
        digest.update(stored)
        if check or keep:
            if header["compressed"]:
                try:
                    page = zlib.decompress(stored)
                except zlib.error as exc:
                    if header["checksum"]:
                        raise BackupFileError("page", no) from exc
                    raise BackupFileError("format") from exc
            else:
                page = stored
            if check and header["checksum"] and zlib.crc32(page) != crc:
                raise BackupFileError("page", no)
            if keep:
                image += page
        on_page(no)
    return bytes(image), digest.hexdigest()


def _sets(f: BinaryIO) -> Iterator[tuple[int, dict[str, Any], _Reader]]:
    r = _Reader(f)
    position = 0
    while True:
        offset = f.tell()
        magic = f.read(len(SET_MAGIC))
        if not magic and position > 0:
            return
        if magic != SET_MAGIC:
            raise BackupFileError(
                "eof" if position > 0 and len(magic) < len(SET_MAGIC) else "format"
            )
        position += 1
        header = r.json_block()
        header["_offset"] = offset
        yield position, header, r


def list_sets(path: Path) -> list[BackupSet]:
    """Every backup set in the file (headers and trailers; pages are skipped, not checked)."""
    result: list[BackupSet] = []
    with path.open("rb") as f:
        for position, header, r in _sets(f):
            _read_pages(r, header, check=False, keep=False, on_page=lambda n: None)
            if r.exact(len(END_MAGIC)) != END_MAGIC:
                raise BackupFileError("format")
            trailer = r.json_block()
            result.append(BackupSet(header, trailer, position, header.pop("_offset")))
    return result


def read_set(
    path: Path,
    position: int,
    *,
    keep: bool,
    on_page: Callable[[int], None] = lambda done: None,
) -> tuple[BackupSet, bytes]:
    """Read and check set ``position``: every page (checksums when present) and the trailer.

    Returns the set and, when ``keep``, the database image.
    """
    with path.open("rb") as f:
        for pos, header, r in _sets(f):
            callback = on_page if pos == position else (lambda n: None)
            image, digest = _read_pages(
                r, header, check=pos == position, keep=keep and pos == position, on_page=callback
            )
            if r.exact(len(END_MAGIC)) != END_MAGIC:
                raise BackupFileError("format")
            trailer = r.json_block()
            if pos == position:
                if header["checksum"] and trailer.get("sha256") != digest:
                    raise BackupFileError("format")  # the backup checksum over the whole set
                return BackupSet(header, trailer, pos, header.pop("_offset")), image
    raise BackupFileError("position")
