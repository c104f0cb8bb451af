"""Blocking work of the embedded backend run beside the current thread (the thread bridge
itself, ``Work`` and ``stream``, is ``engine.runs.threads``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Beside(threading.Thread, Generic[T]):
    """``function(*args)`` in a thread of its own; ``result()`` waits and returns (or raises) it."""

    def __init__(self, function: Callable[..., T], *args: object) -> None:
        super().__init__(daemon=True)
        self._call = (function, args)
        self._value: T | None = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        function, args = self._call
        try:
            self._value = function(*args)
        except BaseException as exc:  # handed to result()
            self._error = exc

    def result(self) -> T:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]  # set by run() when there is no error
