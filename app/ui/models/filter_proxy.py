"""`RowFilterProxy`: instant text search, a status filter and an age filter over a keyed table.

Filtering reads the rows directly (one lookup per row, by the `read(row, field)` it is given: a
typed row's attribute, `job_field`, `worker_field`, `task_field`), and sorting uses each column's sort value, so a table of
thousands of rows stays responsive while events arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from app.ui.models.columns import parse_time
from app.ui.models.keyed_table import ROW_ROLE

FINISHED = frozenset({"completed", "canceled", "failed"})


class RowFilterProxy(QSortFilterProxyModel):
    def __init__(self, text_fields: tuple[str, ...], parent=None, *, read: Callable[[Any, str], Any]):
        super().__init__(parent)
        self._read = read
        self._text = ""
        self._statuses: frozenset[str] = frozenset()
        self._text_fields = text_fields
        self._finished_cutoff: datetime | None = None
        self.setDynamicSortFilter(True)  # re-filter rows as they change; sorting is the source's

    # --- filters ---------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, '_text', text.strip().lower()))

    def set_statuses(self, statuses: set[str] | frozenset[str]) -> None:
        """Show only rows with one of these statuses (an empty set shows every status)."""
        self._refilter(lambda: setattr(self, '_statuses', frozenset(statuses)))

    def set_hide_finished_older_than(self, days: float | None) -> None:
        """Hide completed/canceled/failed rows not updated for `days` (None shows them all)."""
        cutoff = None if days is None else datetime.now(UTC) - timedelta(days=days)
        self._refilter(lambda: setattr(self, "_finished_cutoff", cutoff))

    @property
    def statuses(self) -> frozenset[str]:
        return self._statuses

    @property
    def text(self) -> str:
        return self._text

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        model = self.sourceModel()
        row = model.data(model.index(source_row, 0, source_parent), ROW_ROLE)
        if row is None:
            return False
        read = self._read
        status = read(row, "status")
        if self._statuses and status not in self._statuses:
            return False
        if self._finished_cutoff is not None and status in FINISHED:
            updated = parse_time(read(row, "updated"))
            if updated is not None and updated < self._finished_cutoff:
                return False
        if self._text:
            hay = " ".join(str(read(row, f) or "") for f in self._text_fields).lower()
            return self._text in hay
        return True

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        """Sort the source model: Python's sort of its rows beats a proxy asking data() per comparison."""
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)
