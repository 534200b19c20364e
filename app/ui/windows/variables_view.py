"""The variables editor: one row per (variable, platform) value, one-way or two-way, saved at once.

Checked here before saving (names, platforms, empty values, a two-way variable with one platform)
and by the Manager after; the Manager's own message is shown when it refuses.
"""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from qasync import asyncSlot

from app.ui.dashboard import Dashboard
from app.ui.error_dialog import show_error

PLATFORMS = ("all", "linux", "windows", "darwin")
NAME, TWOWAY, PLATFORM, VALUE = range(4)


class _PlatformDelegate(QStyledItemDelegate):
    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        combo.addItems(PLATFORMS)
        return combo

    def setEditorData(self, editor, index) -> None:
        editor.setCurrentText(index.data() or "all")

    def setModelData(self, editor, model, index) -> None:
        model.setData(index, editor.currentText())


def rows_from_variables(variables: dict[str, Any]) -> list[tuple[str, bool, str, str]]:
    rows = []
    for name, var in sorted(variables.items()):
        for value in var.get("values", []):
            rows.append((name, bool(var.get("is_twoway")), value.get("platform", "all"), value.get("value", "")))
    return rows


def variables_from_rows(rows: list[tuple[str, bool, str, str]]) -> dict[str, Any]:
    """Rows back to the API's shape; raise ValueError with a message the user can act on."""
    out: dict[str, Any] = {}
    for n, (name, twoway, platform, value) in enumerate(rows, start=1):
        if not name:
            raise ValueError(f"row {n}: give the variable a name")
        if platform not in PLATFORMS:
            raise ValueError(f"row {n}: the platform must be one of {', '.join(PLATFORMS)}")
        if not value:
            raise ValueError(f"row {n} ({name}): the value is empty; remove the row instead")
        var = out.setdefault(name, {"is_twoway": twoway, "values": []})
        var["is_twoway"] = var["is_twoway"] or twoway
        if any(v["platform"] == platform for v in var["values"]):
            raise ValueError(f"{name} has two values for {platform}")
        var["values"].append({"platform": platform, "value": value})
    for name, var in out.items():
        if var["is_twoway"] and len(var["values"]) < 2:
            raise ValueError(f"{name} is two-way: give it a value for at least two platforms")
    return out


class VariablesView(QWidget):
    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.model = QStandardItemModel(0, 4, self)
        self.model.setHorizontalHeaderLabels(["Variable", "Two-way", "Platform", "Value"])
        self.table = QTableView()
        self.table.setObjectName("variablesTable")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(PLATFORM, _PlatformDelegate(self.table))
        self.table.horizontalHeader().setSectionResizeMode(VALUE, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(NAME, 180)
        self.manager = QComboBox()
        self.manager.currentIndexChanged.connect(lambda *_: self.reload())
        self.note = QLabel("Jobs use {name} in their settings; a two-way variable also maps paths between "
                           "platforms (a Windows S:\\ path becomes /mnt/render for a Linux worker).")
        self.note.setWordWrap(True)
        self.status = QLabel()
        self.status.setObjectName("variablesStatus")
        add, remove = QPushButton("Add"), QPushButton("Remove")
        add.clicked.connect(self._add_row)
        remove.clicked.connect(self._remove_rows)
        self.save_button, self.reload_button = QPushButton("Save"), QPushButton("Reload")
        self.save_button.clicked.connect(self.save)
        self.reload_button.clicked.connect(self.reload)
        buttons = QHBoxLayout()
        for b in (add, remove):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.status)
        buttons.addWidget(self.reload_button)
        buttons.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.manager)
        layout.addWidget(self.note)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        dashboard.managers_changed.connect(self._managers_changed)
        self._managers_changed()

    def _managers_changed(self) -> None:
        urls = list(self.dashboard.connections)
        self.manager.blockSignals(True)
        self.manager.clear()
        self.manager.addItems(urls)
        self.manager.blockSignals(False)
        self.manager.setVisible(len(urls) > 1)
        if urls:
            self.reload()

    def _conn(self):
        url = self.manager.currentText()
        return self.dashboard.connections.get(url)

    def set_rows(self, rows: list[tuple[str, bool, str, str]]) -> None:
        self.model.removeRows(0, self.model.rowCount())
        for name, twoway, platform, value in rows:
            self._append(name, twoway, platform, value)

    def _append(self, name: str, twoway: bool, platform: str, value: str) -> None:
        check = QStandardItem()
        check.setCheckable(True)
        check.setEditable(False)
        check.setCheckState(Qt.CheckState.Checked if twoway else Qt.CheckState.Unchecked)
        self.model.appendRow([QStandardItem(name), check, QStandardItem(platform), QStandardItem(value)])

    def rows(self) -> list[tuple[str, bool, str, str]]:
        out = []
        for r in range(self.model.rowCount()):
            item = self.model.item
            out.append((item(r, NAME).text().strip(), item(r, TWOWAY).checkState() == Qt.CheckState.Checked,
                        item(r, PLATFORM).text().strip(), item(r, VALUE).text().strip()))
        return out

    def _add_row(self) -> None:
        self._append("", False, "all", "")
        self.table.edit(self.model.index(self.model.rowCount() - 1, NAME))

    def _remove_rows(self) -> None:
        for r in sorted({i.row() for i in self.table.selectionModel().selectedIndexes()}, reverse=True):
            self.model.removeRow(r)

    @asyncSlot()
    async def reload(self) -> None:
        conn = self._conn()
        if conn is None:
            return
        try:
            found = await conn.client.request("GET", "/api/v3/tablao/variables")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self.status.setText(f"Could not load: {exc}")
            return
        self.set_rows(rows_from_variables(found["variables"]))
        self.status.setText("")

    @asyncSlot()
    async def save(self) -> None:
        conn = self._conn()
        try:
            variables = variables_from_rows(self.rows())
        except ValueError as exc:
            show_error(self, "Variables not saved", exc)
            return
        if conn is None:
            return
        try:
            saved = await conn.client.request("PUT", "/api/v3/tablao/variables", {"variables": variables})
        except Exception as exc:  # noqa: BLE001 - the Manager's own words
            show_error(self, "The Manager refused the variables", exc)
            return
        self.set_rows(rows_from_variables(saved["variables"]))
        self.status.setText("Saved.")
