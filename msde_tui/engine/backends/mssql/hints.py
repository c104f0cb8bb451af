"""Why a connection to SQL Server failed, in the words an office technician needs.

The usual causes, each with what to do: nothing listening (Express installs with TCP/IP
disabled), a named instance without its SQL Server Browser (UDP 1434), an old server that
offers only TLS 1.0 (2008 R2 / 2012 without Microsoft's TLS 1.2 update), a name that does
not resolve, a timeout, a cut connection (docs/OPERATIONS.md, "Connecting").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from msde_tui.engine.errors import ConnectionFailed

if TYPE_CHECKING:
    from msde_tui.engine.backends.mssql.messages import Context

_TLS_WORDS = ("ssl", "tls", "handshake", "certificate", "encryption")


def connect_failure(num: int | None, text: str, ctx: Context) -> ConnectionFailed:
    """The ``ConnectionFailed`` for a driver's connect failure ``num``/``text``."""
    lowered = text.lower()
    tls = any(word in lowered for word in _TLS_WORDS)
    if tls:
        why = "the encrypted (TLS) connection could not be set up"
    elif "connection refused" in lowered:
        why = "nothing answers on that port"
    elif (
        "name or service not known" in lowered
        or "not known" in lowered
        or "getaddrinfo" in lowered
        or ("unable to connect" in lowered and "net-lib" not in lowered)
    ):
        why = "the name cannot be found or the server is unavailable"
    elif "timed out" in lowered or "timeout" in lowered or num == 20003:
        why = "the server did not answer in time"
    elif num in (20004, 20006, 20017, 20047):
        why = "the connection was cut"
    else:
        why = "the server cannot be reached"
    hints = [
        "Check the server name and port, that the SQL Server service runs, and that the "
        "firewall lets the port through (1433, or the named instance's port)."
    ]
    if tls:
        hints.append(
            "SQL Server 2008 R2 and 2012 without Microsoft's TLS 1.2 update offer only TLS "
            "1.0, which this machine's OpenSSL refuses: install the update on the server, or "
            "let OpenSSL accept it here (OPENSSL_CONF with MinProtocol = TLSv1 and "
            "CipherString = DEFAULT@SECLEVEL=0), or set 'encryption = off' in freetds.conf "
            "when the server does not force encryption."
        )
    elif "\\" in ctx.host:
        hints.append(
            f"{ctx.host} is a named instance, found through the SQL Server Browser service: "
            "start the SQL Server Browser on the server and let UDP port 1434 through its "
            "firewall, or give the instance's fixed TCP port instead (--port)."
        )
    else:
        hints.append(
            "SQL Server Express is installed with TCP/IP disabled: enable it in SQL Server "
            "Configuration Manager (Protocols for SQLEXPRESS, TCP/IP) and restart the service."
        )
    return ConnectionFailed(
        f"Cannot connect to SQL Server at {ctx.server}: {why}.", " ".join(hints), number=num
    )
