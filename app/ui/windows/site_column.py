"""The jobs table's Site column is shown only while some job has a site (the dashboard watches a hub).

A Manager's jobs have no site, so the column would be empty there; a hub's all have one. Once
shown it stays until the rows are read again (a reset), so a busy table is not scanned per event.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTableView

from app.ui.models.columns import SITE, column_of
from app.ui.models.keyed_table import KeyedTableModel


def has_sites(model: KeyedTableModel) -> bool:
    return any((model.row(key) or {}).get("site") for key in model.keys())


def follow_site_column(table: QTableView, model: KeyedTableModel) -> None:
    """Hide `table`'s Site column now, and show it once `model` holds a job with a site."""
    column = column_of(model, SITE)

    def check(*_args) -> None:
        if table.isColumnHidden(column) and has_sites(model):
            table.setColumnHidden(column, False)

    def reset() -> None:
        table.setColumnHidden(column, not has_sites(model))

    model.modelReset.connect(reset)
    model.rowsInserted.connect(check)
    reset()
