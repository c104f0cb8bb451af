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


def test_source_whose_close_fails_does_not_hang_the_consumer() -> None:
    class Source:
        def __init__(self) -> None:
            self.left = 3

        def __iter__(self) -> Source:
            return self

        def __next__(self) -> int:
            self.left -= 1
            if self.left < 0:
                raise StopIteration
            return self.left

        def close(self) -> None:
            raise OSError("cannot close")

    outcome: list[object] = []

    def consume() -> None:
        try:
            outcome.append(list(prefetch(Source())))
        except OSError as exc:
            outcome.append(exc)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(5)
    assert not consumer.is_alive(), "the consumer waits forever for the end of the items"
    assert isinstance(outcome[0], OSError)  # the source's failure is not lost either


@pytest.mark.posix_only  # signal.pthread_kill
def test_ctrl_c_while_waiting_for_the_producer_still_waits_for_it() -> None:
    """The caller closes what the producer reads from right after: Ctrl-C must not let it go on."""
    import signal
    import time

    release, reading, closing = threading.Event(), threading.Event(), threading.Event()

    def slow() -> Iterator[int]:
        yield 1
        reading.set()
        while not release.wait(0.01):  # a long read
            pass
        yield 2

    def interrupt() -> None:
        # Ctrl-C a good while after close() began (a loaded machine is slow to get there), and
        # the producer's read ends a good while after that: close() is waiting when it comes.
        closing.wait(5)
        time.sleep(0.5)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        time.sleep(0.5)
        release.set()

    helper = threading.Thread(target=interrupt)
    # Python's own Ctrl-C (KeyboardInterrupt), whatever an earlier test's event loop left in place
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    items = prefetch(slow())
    try:
        assert next(items) == 1
        assert reading.wait(5)
        helper.start()
        with pytest.raises(KeyboardInterrupt):  # Ctrl-C never lands outside this block
            closing.set()
            items.close()
        assert release.is_set()  # close() returned only once the producer had finished its read
        assert not [t for t in threading.enumerate() if t.name == "msde-prefetch"]
    finally:
        release.set()
        if helper.is_alive():
            helper.join()
        signal.signal(signal.SIGINT, previous)
