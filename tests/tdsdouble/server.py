"""The TCP server: one thread per client connection, PRELOGIN, LOGIN7, then requests.

Usage::

    server = TdsServer(root)        # root: a directory the instance may own
    server.start()                  # listens on 127.0.0.1:<random port>
    ... connect with pymssql / pytds to server.host, server.port ...
    server.stop()

Requests handled: SQL batches (0x01), transaction manager requests (0x0E, used by pytds),
attention (0x06). RPC (0x03) is answered with an error: drivers only use it for
parameterised queries, which the engine does not send.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import struct
import threading
from pathlib import Path
from typing import Any

from tests.tdsdouble import tokens as t
from tests.tdsdouble import wire
from tests.tdsdouble.backup import Killed
from tests.tdsdouble.instance import EDITIONS, Instance
from tests.tdsdouble.messages import Msg, msg
from tests.tdsdouble.response import Response
from tests.tdsdouble.session import Session

log = logging.getLogger(__name__)

TDS_VERSIONS = (0x72090002, 0x730A0003, 0x730B0003, 0x74000004)


class TdsServer:
    def __init__(self, root: Path, *, logins: dict[str, str] | None = None) -> None:
        self.instance = Instance(root, logins=logins)
        self.host = "127.0.0.1"
        self.port = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._clients: set[socket.socket] = set()
        self._spids = itertools.count(51)
        self._stopping = threading.Event()
        self.batches: list[str] = []  # every SQL batch received, for tests that check SQL

    # -- test-facing helpers ---------------------------------------------------------------------

    @property
    def user(self) -> str:
        return next(iter(self.instance.logins))

    @property
    def password(self) -> str:
        return self.instance.logins[self.user]

    @property
    def root(self) -> Path:
        return self.instance.root

    @property
    def data_dir(self) -> Path:
        return self.instance.data_dir

    @property
    def log_dir(self) -> Path:
        return self.instance.log_dir

    @property
    def backup_dir(self) -> Path:
        return self.instance.backup_dir

    @property
    def step_delay(self) -> float:
        """Seconds the double waits after each progress message of BACKUP/RESTORE/VERIFY."""
        return self.instance.step_delay

    @step_delay.setter
    def step_delay(self, seconds: float) -> None:
        self.instance.step_delay = seconds

    @property
    def partial_backups(self) -> bool:
        """True: an interrupted BACKUP to a new file leaves that partial file behind."""
        return self.instance.partial_backups

    @partial_backups.setter
    def partial_backups(self, leave: bool) -> None:
        self.instance.partial_backups = leave

    def set_facts(
        self,
        *,
        version: str | None = None,
        edition: str | None = None,
        server_name: str | None = None,
        size_limit_mb: int | None = None,
        service_account: str | None = None,
    ) -> None:
        """Change what the server reports (only the arguments given).

        ``edition``: express / standard / enterprise / developer. ``size_limit_mb``: largest
        database RESTORE accepts (1827 beyond it); no limit until set (``instance.size_limit_mb = None``
        removes it again).
        ``service_account``: what sys.dm_server_services reports (NULL until set).
        """
        facts = self.instance.facts
        if version is not None:
            facts.version = version
        if edition is not None:
            facts.edition, facts.engine_edition = EDITIONS[edition.lower()]
        if server_name is not None:
            facts.server_name = server_name
        if size_limit_mb is not None:
            self.instance.size_limit_mb = size_limit_mb
        if service_account is not None:
            facts.service_account = service_account

    def deny(self, directory: Path | str) -> None:
        """The service account may not write in ``directory`` (nor below it): OS error 5."""
        self.instance.denied.add(Path(os.path.abspath(directory)))

    def allow(self, directory: Path | str) -> None:
        self.instance.denied.discard(Path(os.path.abspath(directory)))

    def add_login(self, user: str, password: str, *, sysadmin: bool = True) -> None:
        """Another login; without ``sysadmin`` it gets 229 on ``xp_delete_file``."""
        with self.instance.lock:
            self.instance.logins[user] = password
            if sysadmin:
                self.instance.not_sysadmin.discard(user.lower())
            else:
                self.instance.not_sysadmin.add(user.lower())

    def set_language(self, language: str) -> None:
        """The server's default language for logins: ``"Français"`` sends the French texts
        of the common messages (language.py) until a session runs SET LANGUAGE us_english."""
        from tests.tdsdouble.language import language_name  # noqa: PLC0415

        self.instance.default_language = language_name(language)

    def grant(self, login: str, permission: str, database: str = "") -> None:
        """Give a login without sysadmin one permission: ``grant("b", "BACKUP DATABASE",
        "DB")`` (db_backupoperator), ``grant("b", "CREATE ANY DATABASE")`` (dbcreator: also
        ``"ROLE DBCREATOR"``), ``grant("b", "SELECT", "msdb")`` (backup history)."""
        with self.instance.lock:
            self.instance.grants.setdefault(login.lower(), set()).add(
                (database.lower(), permission.upper())
            )

    def set_free(self, directory: Path | str, free_bytes: int | None) -> None:
        """Free space sys.dm_os_volume_stats / xp_fixeddrives report for the volume holding
        ``directory`` (None: the real free space again). Nothing stops a write: only the
        report changes."""
        from tests.tdsdouble.filesystem import mount_point  # noqa: PLC0415

        mp = mount_point(Path(directory))
        with self.instance.lock:
            if free_bytes is None:
                self.instance.free_bytes.pop(mp, None)
            else:
                self.instance.free_bytes[mp] = free_bytes

    def mark_in_use(self, database: str, in_use: bool = True) -> None:
        """Pretend another connection uses ``database`` (RESTORE over it fails with 3101)."""
        with self.instance.lock:
            if in_use:
                self.instance.in_use.add(database.lower())
            else:
                self.instance.in_use.discard(database.lower())

    def create_database(self, name: str, sqlite_file: Path | None = None) -> Path:
        """A new database, empty or holding a copy of a SQLite file; returns its data file."""
        if sqlite_file is None:
            return self.instance.new_database(name).data_path
        return self.instance.attach_sqlite(name, sqlite_file).data_path

    def database_file(self, name: str) -> Path:
        db = self.instance.find(name)
        if db is None:
            raise KeyError(name)
        return db.data_path

    def connect(self, database: str = "master", **kwargs: Any) -> Any:
        """A pymssql connection (autocommit on, as BACKUP/RESTORE need) to this double."""
        import pymssql

        kwargs.setdefault("autocommit", True)
        kwargs.setdefault("login_timeout", 10)
        return pymssql.connect(
            server=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            database=database,
            **kwargs,
        )

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> TdsServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(16)
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="tds-accept", daemon=True)
        self._thread.start()
        return self

    def start_named(self, instance: str = "SQLEXPRESS") -> TdsServer:
        """Start as the named instance ``<host>\\<instance>``: on a random loopback address,
        with a SQL Server Browser on its UDP port 1434 giving the TCP port (see browser.py).
        ``self.named`` is then what a profile's host holds."""
        from tests.tdsdouble.browser import Browser, loopback_with_free_browser_port  # noqa: PLC0415

        self.host, sock = loopback_with_free_browser_port()
        self.browser = Browser(sock, self.instance.facts.server_name, instance, self.instance.facts.version)
        self.start()
        self.browser.start(self.port)
        self.named = f"{self.host}\\{instance}"
        return self

    def stop(self) -> None:
        browser = getattr(self, "browser", None)
        if browser is not None:
            browser.stop()
        self._stopping.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        for client in list(self._clients):
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._clients.add(client)
            threading.Thread(
                target=self._serve, args=(client,), name="tds-client", daemon=True
            ).start()

    # -- one connection --------------------------------------------------------------------------

    def _serve(self, client: socket.socket) -> None:
        spid = next(self._spids)
        channel = wire.Channel(client, spid)
        session: Session | None = None
        try:
            session = self._handshake(channel)
            if session is None:
                return
            while True:
                kind, payload = channel.read_message()
                self._request(session, channel, kind, payload)
        except wire.ClientGone:
            pass
        except Exception:  # a bug in the double: log it, drop the client, keep serving others
            log.exception("tds double: connection %s failed", spid)
        finally:
            if session is not None:
                session.close()
            self._clients.discard(client)
            client.close()

    def _handshake(self, channel: wire.Channel) -> Session | None:
        inst = self.instance
        kind, payload = channel.read_message()
        if kind == wire.PRELOGIN:
            wire.parse_prelogin(payload)
            channel.write(wire.prelogin_response(inst.facts.parts))
            channel.end_message()
            kind, payload = channel.read_message()
        if kind != wire.LOGIN7:
            return None
        login = wire.parse_login7(payload)
        tds_version = max(
            (v for v in TDS_VERSIONS if v <= login.tds_version), default=TDS_VERSIONS[0]
        )
        resp = Response(channel, inst.facts.server_name)
        resp.language = inst.default_language
        if inst.logins.get(login.user) != login.password:
            resp.messages([msg(18456, login.user)])
            resp.done(t.DONE_ERROR)
            resp.finish()
            _linger(channel)
            return None
        session = Session(inst, channel.spid, login.user, tds_version)
        database = login.database or "master"
        db = inst.find(database)
        if db is None:
            resp.messages([msg(4060, database), msg(18456, login.user)])
            resp.done(t.DONE_ERROR)
            resp.finish()
            _linger(channel)
            return None
        session.use(db)
        channel.packet_size = min(max(login.packet_size or 4096, 512), 32767)
        resp.envchange(t.envchange_text(t.ENV_DATABASE, db.name, "master"))
        resp.messages([msg(5701, db.name, state=2)])
        resp.envchange(t.envchange_bytes(t.ENV_COLLATION, t.DEFAULT_COLLATION))
        session.language = inst.default_language
        resp.envchange(t.envchange_text(t.ENV_LANGUAGE, session.language))
        resp.messages([msg(5703, session.language)])
        resp.raw(t.loginack(tds_version, "Microsoft SQL Server", inst.facts.parts))
        resp.envchange(t.envchange_text(t.ENV_PACKETSIZE, str(channel.packet_size), "4096"))
        resp.done()
        resp.finish()
        return session

    def _request(self, session: Session, channel: wire.Channel, kind: int, payload: bytes) -> None:
        resp = Response(channel, self.instance.facts.server_name)
        resp.language = session.language
        resp.in_transaction = session.trancount > 0
        if kind == wire.SQL_BATCH:
            text = wire.strip_all_headers(payload, session.tds_version).decode("utf-16-le")
            self.batches.append(text)
            try:
                if session.spid in self.instance.evicted:  # ended by ROLLBACK IMMEDIATE
                    raise Killed()
                session.run_batch(text, resp)
            except wire.Attention:
                resp.done(t.DONE_ATTN)
            except Killed:
                resp.messages(
                    [
                        Msg(
                            596,
                            21,
                            "Cannot continue the execution because the session is in the kill state.",
                        )
                    ]
                )
                resp.done(t.DONE_ERROR)
                resp.finish()
                raise wire.ClientGone() from None
        elif kind == wire.TRANSACTION_MANAGER:
            body = wire.strip_all_headers(payload, session.tds_version)
            (request,) = struct.unpack_from("<H", body, 0)
            session.transaction_request(request, resp)
        elif kind == wire.ATTENTION:
            resp.done(t.DONE_ATTN)
        else:
            resp.messages([msg(102, "RPC")])
            resp.done(t.DONE_ERROR)
        resp.finish()


def _linger(channel: wire.Channel, seconds: float = 2.0) -> None:
    """After a failed login, let the client read the error and hang up first."""
    channel.sock.settimeout(seconds)
    try:
        while channel.sock.recv(4096):
            pass
    except OSError:
        pass
