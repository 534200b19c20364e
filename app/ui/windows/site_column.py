"""The jobs table's Site column is shown only while some job has a site (the dashboard watches a hub).

A Manager's jobs have no site, so the column would be empty there; a hub's all have one. Once
shown it stays until the rows are read again (a reset); while hidden, only inserted rows are
looked at, so a busy Manager's table is not scanned per new job.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTableView

from app.ui.models.columns import SITE, column_of
from app.ui.models.keyed_table import ROW_ROLE, KeyedTableModel


def has_sites(model: KeyedTableModel, first: int = 0, last: int | None = None) -> bool:
    """Whether a row from `first` to `last` (default: all) names a site."""
    end = model.rowCount() - 1 if last is None else last
    # "" is a site too: a hub's job that waits there for one.
    return any(getattr(getattr(model.index(i, 0).data(ROW_ROLE), "job", None), "site", None) is not None
               for i in range(first, end + 1))


def follow_site_column(table: QTableView, model: KeyedTableModel) -> None:
    """Hide `table`'s Site column now, and show it once `model` holds a job with a site."""
    column = column_of(model, SITE)

    def check(_parent, first: int, last: int) -> None:
        if table.isColumnHidden(column) and has_sites(model, first, last):
            table.setColumnHidden(column, False)

    def reset() -> None:
        table.setColumnHidden(column, not has_sites(model))

    model.modelReset.connect(reset)
    model.rowsInserted.connect(check)
    reset()
