"""prefetch: same items in the same order, errors where they happened, early stops clean."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from msde_tui.engine.prefetch import prefetch


def test_items_in_order_produced_by_another_thread() -> None:
    threads = set()

    def numbers() -> Iterator[int]:
        for i in range(100):
            threads.add(threading.get_ident())
            yield i

    assert list(prefetch(numbers(), depth=3)) == list(range(100))
    assert threads and threading.get_ident() not in threads


def test_error_is_raised_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("boom")

    seen = []
    with pytest.raises(ValueError, match="boom"):
        for item in prefetch(failing()):
            seen.append(item)
    assert seen == [1, 2]


def test_early_stop_closes_the_source_in_its_thread() -> None:
    closed = threading.Event()
    produced = []

    def endless() -> Iterator[int]:
        try:
            i = 0
            while True:
                produced.append(i)
                yield i
                i += 1
        finally:
            closed.set()

    items = prefetch(endless(), depth=2)
    assert [next(items) for _ in range(5)] == [0, 1, 2, 3, 4]
    items.close()
    assert closed.is_set()  # closed before close() returned
    assert len(produced) <= 5 + 2 + 1  # never more than depth ahead
    assert not [t for t in threading.enumerate() if t.name == "msde-prefetch"]
