"""The variables editor: one row per (variable, platform, audience) value, one-way or two-way, saved
at once, in the request model the Manager reads (`app.api.meta.TablaoVariables`).

Checked here before saving (names, platforms, empty values, a two-way variable with one platform)
and by the Manager after; the Manager's own message is shown when it refuses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import NamedTuple

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

from app.api.meta import VARIABLE_AUDIENCES, TablaoVariable, TablaoVariableValue
from app.ui.dashboard import Dashboard
from app.ui.error_dialog import show_error

PLATFORMS = ("all", "linux", "windows", "darwin")
NAME, TWOWAY, PLATFORM, VALUE, AUDIENCE = range(5)


class VariableRow(NamedTuple):
    """One row of the editor: a variable's value for one platform (and audience)."""

    name: str
    twoway: bool
    platform: str
    value: str
    audience: str = "all"


class _ChoiceDelegate(QStyledItemDelegate):
    def __init__(self, choices: tuple[str, ...], parent=None):
        super().__init__(parent)
        self.choices = choices

    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        combo.addItems(self.choices)
        return combo

    def setEditorData(self, editor, index) -> None:
        editor.setCurrentText(index.data() or "all")

    def setModelData(self, editor, model, index) -> None:
        model.setData(index, editor.currentText())


def rows_from_variables(variables: dict[str, TablaoVariable]) -> list[VariableRow]:
    """A row per platform of each value: a value for several platforms (`platforms`) is a row each."""
    rows = []
    for name, var in sorted(variables.items()):
        for value in var.values:
            for platform in value.platform_names():
                rows.append(VariableRow(name, var.is_twoway, platform, value.value, value.audience or "all"))
    return rows


def variables_from_rows(rows: Iterable[tuple]) -> dict[str, TablaoVariable]:
    """Rows back to the API's model; raise ValueError with a message the user can act on."""
    out: dict[str, TablaoVariable] = {}
    for n, row in enumerate(map(_row, rows), start=1):
        if not row.name:
            raise ValueError(f"row {n}: give the variable a name")
        if row.platform not in PLATFORMS:
            raise ValueError(f"row {n}: the platform must be one of {', '.join(PLATFORMS)}")
        if row.audience not in VARIABLE_AUDIENCES:
            raise ValueError(f"row {n}: the audience must be one of {', '.join(VARIABLE_AUDIENCES)}")
        if not row.value:
            raise ValueError(f"row {n} ({row.name}): the value is empty; remove the row instead")
        var = out.setdefault(row.name, TablaoVariable([], is_twoway=row.twoway))
        var.is_twoway = var.is_twoway or row.twoway
        if any((v.platform, v.audience or "all") == (row.platform, row.audience) for v in var.values):
            for_whom = "" if row.audience == "all" else f" ({row.audience})"
            raise ValueError(f"{row.name} has two values for {row.platform}{for_whom}")
        audience = None if row.audience == "all" else row.audience
        var.values.append(TablaoVariableValue(row.value, platform=row.platform, audience=audience))
    for name, var in out.items():
        if var.is_twoway and len({v.platform for v in var.values}) < 2:
            raise ValueError(f"{name} is two-way: give it a value for at least two platforms")
    return out


def _row(row: tuple) -> VariableRow:
    return row if isinstance(row, VariableRow) else VariableRow(*row)


class VariablesView(QWidget):
    def __init__(self, dashboard: Dashboard, parent=None):
        super().__init__(parent)
        self.dashboard = dashboard
        self.model = QStandardItemModel(0, 5, self)
        self.model.setHorizontalHeaderLabels(["Variable", "Two-way", "Platform", "Value", "For"])
        self.table = QTableView()
        self.table.setObjectName("variablesTable")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(PLATFORM, _ChoiceDelegate(PLATFORMS, self.table))
        self.table.setItemDelegateForColumn(AUDIENCE, _ChoiceDelegate(VARIABLE_AUDIENCES, self.table))
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

    def set_rows(self, rows: Iterable[tuple]) -> None:
        """Rows as `VariableRow`s or plain tuples (name, two-way, platform, value[, audience])."""
        self.model.removeRows(0, self.model.rowCount())
        for row in rows:
            self._append(_row(row))

    def _append(self, row: VariableRow) -> None:
        check = QStandardItem()
        check.setCheckable(True)
        check.setEditable(False)
        check.setCheckState(Qt.CheckState.Checked if row.twoway else Qt.CheckState.Unchecked)
        self.model.appendRow([QStandardItem(row.name), check, QStandardItem(row.platform),
                              QStandardItem(row.value), QStandardItem(row.audience)])

    def rows(self) -> list[VariableRow]:
        out = []
        for r in range(self.model.rowCount()):
            item = self.model.item
            twoway = item(r, TWOWAY).checkState() == Qt.CheckState.Checked
            out.append(VariableRow(item(r, NAME).text().strip(), twoway, item(r, PLATFORM).text().strip(),
                                   item(r, VALUE).text().strip(), item(r, AUDIENCE).text().strip() or "all"))
        return out

    def _add_row(self) -> None:
        self._append(VariableRow("", False, "all", ""))
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
            found = await conn.client.variables()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self.status.setText(f"Could not load: {exc}")
            return
        self.set_rows(rows_from_variables(found))
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
            saved = await conn.client.set_variables(variables)
        except Exception as exc:  # noqa: BLE001 - the Manager's own words
            show_error(self, "The Manager refused the variables", exc)
            return
        self.set_rows(rows_from_variables(saved))
        self.status.setText("Saved.")
