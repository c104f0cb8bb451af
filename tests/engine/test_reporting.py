"""The one reporter of work run in a thread (engine/reporting.py): a step's rows counted, its
percent never going back and 100 only once every row is done, one ``Step`` per table.
What the operations send through it: tests/engine/test_lifecycle_progress.py (archive, cut,
tax-audit transfer) and tests/engine/test_pack_events.py (pack, import, apply, export copy)."""

from __future__ import annotations

import pyarrow as pa

from msde_tui.engine.events import Event, Progress, Step
from msde_tui.engine.reporting import Reporter


def progress_of(sent: list[Event]) -> list[Progress]:
    return [e for e in sent if isinstance(e, Progress)]


def test_a_step_counts_its_own_rows_and_never_goes_back() -> None:
    sent: list[Event] = []
    r = Reporter(sent.append, "001SOC")
    r.step("write", "x.paf", rows=1000)
    for _ in range(9):
        r.rows(111)
    r.rows(1)  # 1000: the last percent
    r.step("replace")
    r.rows(50)  # a step that counts no rows says nothing of them
    r.step("empty", rows=0)
    assert [type(e).__name__ for e in sent[:2]] == ["Step", "Progress"]
    progress = progress_of(sent)
    assert [p.percent for p in progress] == [0.0, 11.1, 22.2, 33.3, 44.4, 55.5, 66.6, 77.7, 88.8, 99.9, 100.0,
                                             100.0]
    assert progress[-2].rows_done == 1000 and progress[-1].rows_total == 0
    assert {e.dossier for e in sent} == {"001SOC"}
    assert [e.step for e in sent if isinstance(e, Step)] == ["write", "replace", "empty"]
    silent = Reporter(None, "x")
    silent.step("write", rows=5)
    silent.rows(5)  # nothing to tell, nothing raised


def test_100_percent_only_when_every_row_is_done() -> None:
    sent: list[Event] = []
    r = Reporter(sent.append, "x")
    r.step("copy", rows=10_000)
    r.rows(9_995)  # 99.95 %: rounded, it would say 100 with five rows to go
    r.rows(4)
    assert [(p.percent, p.rows_done) for p in progress_of(sent)] == [(0.0, 0), (99.9, 9_995)]
    r.rows(1)
    assert (progress_of(sent)[-1].percent, progress_of(sent)[-1].rows_done) == (100.0, 10_000)


def test_a_short_count_never_goes_past_100_nor_back() -> None:
    sent: list[Event] = []
    r = Reporter(sent.append, "x")
    r.step("copy", rows=10)
    r.rows(10)
    r.rows(5)  # more rows than counted before (the count was taken earlier)
    last = progress_of(sent)[-1]
    assert (last.percent, last.rows_done, last.rows_total) == (100.0, 10, 10)  # 15 of 15: still 100, not sent again
    assert [p.percent for p in progress_of(sent)] == [0.0, 100.0]


def test_one_step_per_table_and_one_percent_over_all_tables() -> None:
    sent: list[Event] = []
    r = Reporter(sent.append, "060BIG")
    r.step("read", "060BIG.pbf")
    r.tables("pack", 7_003)
    batches = {"big": [pa.record_batch({"id": list(range(n))}) for n in (3_000, 3_000, 1_000)],
               "empty": [], "small": [pa.record_batch({"id": [1, 2, 3]})]}
    for name, table in batches.items():
        r.table(name, sum(b.num_rows for b in table))
        assert list(r.counted(table)) == table  # the batches as they are
    r.step("verify", "x.pbf")
    steps = [(e.step, e.detail) for e in sent if isinstance(e, Step)]
    assert steps == [("read", "060BIG.pbf"), ("pack", "big: 7,000 rows"), ("pack", "empty: 0 rows"),
                     ("pack", "small: 3 rows"), ("verify", "x.pbf")]
    progress = progress_of(sent)
    assert [(p.percent, p.rows_done) for p in progress] == [(42.8, 3_000), (85.6, 6_000), (99.9, 7_000),
                                                            (100.0, 7_003)]
    assert {p.rows_total for p in progress} == {7_003}
    first = sent.index(progress[0])
    assert isinstance(sent[first - 1], Step) and sent[first - 1].step == "pack"  # counted inside its step


def test_progress_is_sent_once_it_moved_a_whole_point() -> None:
    sent: list[Event] = []
    r = Reporter(sent.append, "x")
    r.step("copy", rows=1_000)
    for _ in range(1_000):
        r.rows(1)  # every row: a tenth of a point each
    percent = [p.percent for p in progress_of(sent)]
    assert percent == sorted(set(percent)) and percent[-1] == 100.0
    assert len(percent) == 101  # 0, 1, 2 ... 100: one event per point, not one per row
