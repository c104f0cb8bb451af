"""Every year's trial balance, summed from the entries and lines as the archive reads them.

The archive reads the whole ``entry`` and ``entry_line`` tables (Arrow batches, every value's
storage class checked: ``tables.reads``) to keep the years it writes to the PAF. The same
batches give every year's trial balance — what ``ledger.trial_balances`` sums in SQL: per
(fiscal year, account, third party) the debits and credits of the lines of REAL entries (an
inner join: a line whose entry does not exist counts nowhere) — without reading the dossier a
second time. It is the "before" of the archive's check and the source of the balance entries;
the "after" is summed again by SQLite from the dossier once changed (``lifecycle.archive``),
so the check compares two independent readings.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from msde_tui.engine.accounting import ledger
from msde_tui.engine.accounting.ledger import BalanceLine

_KEYS = ["fiscal_year_id", "account_id", "third_party_id"]
_LOST = np.iinfo(np.int64).min  # stands for a NULL entry id: joins no entry


class TrialSums:
    """Feed it every batch of ``entry`` (``entries``), then every batch of ``entry_line``
    (``lines``); ``balances`` gives ``ledger.trial_balances``' result."""

    def __init__(self) -> None:
        self._entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._index: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._parts: list[pa.Table] = []

    def entries(self, batch: pa.RecordBatch) -> None:
        if self._index is not None:
            raise RuntimeError("entries after lines")
        # copies: a column kept from a batch the reader imported keeps the whole batch alive
        self._entries.append((
            np.array(pc.fill_null(batch.column("id"), _LOST).to_numpy(), copy=True),
            np.array(pc.fill_null(batch.column("fiscal_year_id"), _LOST).to_numpy(), copy=True),
            np.array(pc.fill_null(pc.equal(batch.column("kind"), "REAL"), False).to_numpy(zero_copy_only=False),
                     copy=True),
        ))

    def _entry_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Entry ids sorted, with each one's fiscal year and whether it is REAL."""
        if self._index is None:
            if not self._entries:
                empty = np.array([], np.int64)
                self._index = (empty, empty, np.array([], bool))
            else:
                ids, years, real = (np.concatenate(parts) for parts in zip(*self._entries, strict=True))
                order = np.argsort(ids, kind="stable")
                self._index = (ids[order], years[order], real[order])
            self._entries = []
        return self._index

    def lines(self, batch: pa.RecordBatch) -> None:
        ids, years, real = self._entry_index()
        if batch.num_rows == 0 or len(ids) == 0:
            return
        wanted = pc.fill_null(batch.column("entry_id"), _LOST).to_numpy()
        at = np.searchsorted(ids, wanted)
        np.minimum(at, len(ids) - 1, out=at)
        counted = (ids[at] == wanted) & real[at] & (wanted != _LOST)
        if not counted.any():
            return
        mask = pa.array(counted)
        part = pa.table({
            "fiscal_year_id": pa.array(years[at][counted], pa.int64()),
            "account_id": pc.filter(batch.column("account_id"), mask),
            "third_party_id": pc.filter(batch.column("third_party_id"), mask),
            "debit": pc.filter(batch.column("debit"), mask),
            "credit": pc.filter(batch.column("credit"), mask),
        })
        self._parts.append(_sum(part))

    def balances(self, conn: sa.Connection) -> dict[int, list[BalanceLine]]:
        """Every year's trial balance (accounts and third parties named from ``conn``)."""
        if not self._parts:
            return {}
        total = _sum(pa.concat_tables(self._parts))
        self._parts = [total]
        columns = [total.column(n).to_pylist() for n in _COLUMNS]
        return ledger.balances_from_sums(conn, zip(*columns, strict=True))


_COLUMNS = [*_KEYS, "debit", "credit"]


def _sum(table: pa.Table) -> pa.Table:
    """Debits and credits summed per key, in columns of the same names."""
    summed = table.group_by(_KEYS, use_threads=False).aggregate([("debit", "sum"), ("credit", "sum")])
    return summed.select([*_KEYS, "debit_sum", "credit_sum"]).rename_columns(_COLUMNS)
