"""Writing one response: result sets, messages and DONE tokens onto a :class:`Channel`.

Informational messages can be pushed to the client at once (:meth:`Response.progress`), which
is how BACKUP/RESTORE ``STATS`` progress reaches a driver's message handler while the
statement still runs. ``progress`` also notices a client ATTENTION (cancel).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from tests.tdsdouble import language
from tests.tdsdouble import tokens as t
from tests.tdsdouble.messages import Msg
from tests.tdsdouble.wire import Attention, Channel


class Response:
    def __init__(self, channel: Channel, server_name: str) -> None:
        self.channel = channel
        self.server_name = server_name
        self.in_transaction = False
        self.language = language.ENGLISH  # the session's language: the texts sent

    def _message(self, m: Msg, line: int = 1, proc: str = "") -> None:
        token = t.INFO if m.severity <= 10 else t.ERROR
        # "For compatibility reasons, the Database Engine converts severity 10 to severity 0
        # before returning the error information to the calling application."
        severity = 0 if m.severity == 10 else m.severity
        self.channel.write(
            t.message(
                token,
                m.number,
                language.text_in(self.language, m.number, m.text),
                severity=severity,
                state=m.state,
                server=self.server_name,
                proc=proc,
                line=line,
            )
        )

    def messages(self, messages: Iterable[Msg], proc: str = "") -> None:
        for m in messages:
            self._message(m, proc=proc)

    def progress(self, m: Msg, delay: float = 0.0) -> None:
        """Send an informational message now; wait ``delay``; raise on a client cancel."""
        self._message(m)
        self.channel.flush()
        if delay:
            time.sleep(delay)
        if self.channel.poll_attention():
            raise Attention()

    def check_attention(self) -> None:
        if self.channel.poll_attention():
            raise Attention()

    def result(self, columns: Sequence[t.Column], rows: Iterable[Sequence[Any]]) -> int:
        """COLMETADATA + ROW tokens; returns the row count."""
        self.channel.write(t.colmetadata(columns))
        n = 0
        for r in rows:
            self.channel.write(t.row(columns, r))
            n += 1
        return n

    def envchange(self, data: bytes) -> None:
        self.channel.write(data)

    def raw(self, data: bytes) -> None:
        self.channel.write(data)

    def done(
        self,
        status: int = t.DONE_FINAL,
        count: int | None = None,
        *,
        token: int = t.DONE,
        curcmd: int = 0,
    ) -> None:
        if count is not None:
            status |= t.DONE_COUNT
        if self.in_transaction:
            status |= t.DONE_INXACT
        self.channel.write(t.done(status, count or 0, token=token, curcmd=curcmd))

    def finish(self) -> None:
        self.channel.end_message()
