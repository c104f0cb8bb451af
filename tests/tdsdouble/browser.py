"""A SQL Server Browser for the double: named instances (``host\\SQLEXPRESS``).

Clients reach a named instance by asking the Browser service on UDP port 1434 of the host
for the instance's TCP port ([MC-SQLR]: CLNT_UCAST_INST ``0x04 <instance name>`` answered
by SVR_RESP ``0x05 <u16 length> ServerName;X;InstanceName;Y;IsClustered;No;Version;V;tcp;
PORT;;``; CLNT_UCAST_EX ``0x03`` / CLNT_BCAST_EX ``0x02`` list every instance). Port 1434
is fixed, so each Browser listens on its own loopback address (127.x.y.z, chosen at random
and retried when taken): tests on one machine never meet each other's Browser.
"""

from __future__ import annotations

import contextlib
import random
import socket
import struct
import threading

BROWSER_PORT = 1434


def loopback_with_free_browser_port(tries: int = 50) -> tuple[str, socket.socket]:
    """A random 127.x.y.z address whose UDP port 1434 is free, with that socket bound."""
    last: OSError | None = None
    for _ in range(tries):
        host = f"127.{random.randint(1, 254)}.{random.randint(0, 254)}.{random.randint(1, 254)}"
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((host, BROWSER_PORT))
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return host, sock
    raise OSError(f"no loopback address with a free UDP port {BROWSER_PORT}: {last}")


class Browser:
    """Answers instance look-ups for one named instance listening on ``tcp_port``."""

    def __init__(self, sock: socket.socket, server_name: str, instance: str, version: str) -> None:
        self.sock = sock
        self.server_name = server_name
        self.instance = instance
        self.version = version
        self.tcp_port = 0
        self.asked: list[str] = []  # instance names asked for (to assert on)
        self._thread = threading.Thread(target=self._loop, name="tds-browser", daemon=True)

    def start(self, tcp_port: int) -> Browser:
        self.tcp_port = tcp_port
        self._thread.start()
        return self

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        self._thread.join(timeout=2)

    def answer(self) -> bytes:
        text = (
            f"ServerName;{self.server_name};InstanceName;{self.instance};IsClustered;No;"
            f"Version;{self.version};tcp;{self.tcp_port};;"
        ).encode("ascii")
        return b"\x05" + struct.pack("<H", len(text)) + text

    def _loop(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if not data:
                continue
            kind = data[0]
            if kind == 0x04:  # CLNT_UCAST_INST: one instance by name
                name = data[1:].split(b"\x00")[0].decode("ascii", "replace")
                self.asked.append(name)
                if name.upper() != self.instance.upper():
                    continue  # an unknown instance gets no answer (the client times out)
            elif kind not in (0x02, 0x03):
                continue
            with contextlib.suppress(OSError):
                self.sock.sendto(self.answer(), peer)
