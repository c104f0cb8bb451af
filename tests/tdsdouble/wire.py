"""TDS packets and the client messages the double reads (MS-TDS 2.2.3, 2.2.6).

A packet is an 8-byte header (type, status, big-endian length including the header, spid,
packet id, window) and a payload; a message is one or more packets, the last with status
EOM. :class:`Channel` reads whole messages and writes responses as packets, flushing on
demand so informational messages reach the client while a statement still runs.
"""

from __future__ import annotations

import select
import socket
import struct
from dataclasses import dataclass

# Packet types
SQL_BATCH = 0x01
RPC = 0x03
REPLY = 0x04
ATTENTION = 0x06
TRANSACTION_MANAGER = 0x0E
LOGIN7 = 0x10
PRELOGIN = 0x12

STATUS_EOM = 0x01
HEADER = struct.Struct(">BBHHBB")

# PRELOGIN option tokens and encryption values
PL_VERSION = 0x00
PL_ENCRYPTION = 0x01
PL_INSTOPT = 0x02
PL_THREADID = 0x03
PL_MARS = 0x04
PL_TERMINATOR = 0xFF
ENCRYPT_OFF = 0x00
ENCRYPT_ON = 0x01
ENCRYPT_NOT_SUP = 0x02
ENCRYPT_REQ = 0x03


class ClientGone(Exception):
    """The client closed the connection."""


class Attention(Exception):
    """The client sent an ATTENTION packet (cancel) while a statement was running."""


class Channel:
    """One client socket: reads messages, writes packetised responses."""

    def __init__(self, sock: socket.socket, spid: int) -> None:
        self.sock = sock
        self.spid = spid
        self.packet_size = 4096
        self._out = bytearray()
        self._packet_id = 1
        self._pending_attention = False

    # -- reading -----------------------------------------------------------------------------

    def _recv_exact(self, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ClientGone()
            buf += chunk
        return bytes(buf)

    def _read_packet(self) -> tuple[int, int, bytes]:
        kind, status, length, _spid, _pid, _win = HEADER.unpack(self._recv_exact(8))
        if length < 8:
            raise ClientGone()
        return kind, status, self._recv_exact(length - 8)

    def read_message(self) -> tuple[int, bytes]:
        """The next whole client message: (packet type, payload)."""
        if self._pending_attention:
            self._pending_attention = False
            return ATTENTION, b""
        kind, status, payload = self._read_packet()
        data = bytearray(payload)
        while not status & STATUS_EOM:
            _, status, payload = self._read_packet()
            data += payload
        return kind, bytes(data)

    def poll_attention(self) -> bool:
        """Without blocking: has the client sent an ATTENTION packet?"""
        readable, _, _ = select.select([self.sock], [], [], 0)
        if not readable:
            return False
        kind, _, _ = self._read_packet()
        if kind == ATTENTION:
            return True
        # Anything else mid-response is a protocol error from the client; ignore it.
        return False

    # -- writing -----------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        self._out += data

    def _send_packets(self, final: bool) -> None:
        size = self.packet_size - 8
        data = bytes(self._out)
        self._out.clear()
        chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
        out = bytearray()
        for i, chunk in enumerate(chunks):
            last = final and i == len(chunks) - 1
            out += HEADER.pack(
                REPLY, STATUS_EOM if last else 0, len(chunk) + 8, self.spid, self._packet_id, 0
            )
            out += chunk
            self._packet_id = (self._packet_id + 1) % 256
        try:
            self.sock.sendall(out)
        except OSError as exc:
            raise ClientGone() from exc

    def flush(self) -> None:
        """Send what is buffered now, as packets not marked end-of-message."""
        if self._out:
            self._send_packets(final=False)

    def end_message(self) -> None:
        """Send the rest of the response with the end-of-message status."""
        self._send_packets(final=True)
        self._packet_id = 1


# ---------------------------------------------------------------------------------------------
# PRELOGIN


def parse_prelogin(payload: bytes) -> dict[int, bytes]:
    options: dict[int, bytes] = {}
    i = 0
    while i < len(payload) and payload[i] != PL_TERMINATOR:
        token, offset, length = struct.unpack_from(">BHH", payload, i)
        options[token] = payload[offset : offset + length]
        i += 5
    return options


def prelogin_response(version: tuple[int, int, int]) -> bytes:
    """Our answer: the server version, no encryption available, no MARS."""
    major, minor, build = version
    values = [
        (PL_VERSION, struct.pack(">BBHH", major, minor, build, 0)),
        (PL_ENCRYPTION, bytes([ENCRYPT_NOT_SUP])),
        (PL_INSTOPT, b"\x00"),
        (PL_THREADID, b""),
        (PL_MARS, b"\x00"),
    ]
    offset = 5 * len(values) + 1
    head = bytearray()
    body = bytearray()
    for token, val in values:
        head += struct.pack(">BHH", token, offset + len(body), len(val))
        body += val
    return bytes(head) + bytes([PL_TERMINATOR]) + bytes(body)


# ---------------------------------------------------------------------------------------------
# LOGIN7


@dataclass(frozen=True)
class Login:
    tds_version: int
    packet_size: int
    host: str
    user: str
    password: str
    app: str
    server: str
    library: str
    language: str
    database: str


def _decode_password(raw: bytes) -> str:
    # Each byte: nibbles swapped, then XOR 0xA5 (MS-TDS 2.2.6.4).
    plain = bytes((((b ^ 0xA5) << 4) & 0xF0) | (((b ^ 0xA5) >> 4) & 0x0F) for b in raw)
    return plain.decode("utf-16-le")


def parse_login7(payload: bytes) -> Login:
    (_length, tds_version, packet_size) = struct.unpack_from("<III", payload, 0)
    # Offsets/lengths (in characters) start at 36: host, user, password, app, server,
    # extension, library, language, database.
    fields = [struct.unpack_from("<HH", payload, 36 + 4 * i) for i in range(9)]

    def text(i: int) -> str:
        off, n = fields[i]
        return payload[off : off + 2 * n].decode("utf-16-le")

    pw_off, pw_len = fields[2]
    return Login(
        tds_version=tds_version,
        packet_size=packet_size,
        host=text(0),
        user=text(1),
        password=_decode_password(payload[pw_off : pw_off + 2 * pw_len]),
        app=text(3),
        server=text(4),
        library=text(6),
        language=text(7),
        database=text(8),
    )


def strip_all_headers(payload: bytes, tds_version: int) -> bytes:
    """SQL batch / TM request payloads start with ALL_HEADERS from TDS 7.2 on."""
    if tds_version >= 0x72000000 and len(payload) >= 4:
        total = struct.unpack_from("<I", payload, 0)[0]
        if 4 <= total <= len(payload):
            return payload[total:]
    return payload
