"""`KeyedTableModel`: a table of rows addressed by a key, updated by deltas.

The dashboard's tables (jobs, tasks, workers) hold rows that arrive as a snapshot and then change
one event at a time. Rows are kept in arrival order with a key → row index, so an event touches
one row and emits one `dataChanged` for it; sorting and filtering belong to a proxy model.
What a row is and how an event changes it is the table's `RowKind`: the rows are typed
(`JobRow`, `WorkerRow`, `TaskRow`) and the deltas are the Manager's typed events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

# Roles as plain ints: data() is the hottest Python code of the dashboard (Qt calls it for every
# painted cell), and comparing ints is much cheaper than comparing enum members.
DISPLAY = int(Qt.ItemDataRole.DisplayRole.value)
TOOLTIP = int(Qt.ItemDataRole.ToolTipRole.value)
ALIGN = int(Qt.ItemDataRole.TextAlignmentRole.value)
SORT_ROLE = int(Qt.ItemDataRole.UserRole.value) + 1   # a value that sorts naturally (numbers, timestamps)
KEY_ROLE = SORT_ROLE + 1       # the row's key
ROW_ROLE = SORT_ROLE + 2       # the whole row
PROGRESS_ROLE = SORT_ROLE + 3  # 0..1 for progress-bar delegates
_RIGHT = int((Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter).value)

_Index = QModelIndex | QPersistentModelIndex
R = TypeVar("R")
D = TypeVar("D")


@dataclass(frozen=True)
class Column:
    """One column: its title, how to show a row's value, and how to sort it."""

    title: str
    text: Callable[[Any], str]
    sort: Callable[[Any], Any] | None = None
    progress: Callable[[Any], float] | None = None
    tooltip: Callable[[Any], str] | None = None
    align_right: bool = False


@dataclass(frozen=True)
class RowKind(Generic[R, D]):
    """What a table's rows are: the key of a row and of a delta, a row made from a delta the table
    has no row for, and how a delta changes a row (in place)."""

    key: Callable[[R], str]
    delta_key: Callable[[D], str]
    new: Callable[[D], R]
    apply: Callable[[R, D], None]
    adopt: Callable[[Any], R]   # a snapshot's item as a row of this table


class KeyedTableModel(QAbstractTableModel, Generic[R, D]):
    """Rows keyed by `key(row)`; `reset`, `upsert`, `edit` and `remove` are the only ways in."""

    def __init__(self, columns: list[Column], kind: RowKind[R, D], parent=None):
        super().__init__(parent)
        self.columns = columns
        self.kind: RowKind[Any, Any] = kind
        self._key: Callable[[Any], str] = self.kind.key
        self._rows: list[R] = []
        self._index: dict[str, int] = {}
        self._sort: tuple[int, bool] | None = None  # (column, descending)

    # --- reading ---------------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if (orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.columns)):
            return self.columns[section].title
        return None

    def data(self, index: _Index, role: int = DISPLAY):
        r = index.row()
        if r < 0 or r >= len(self._rows):
            return None
        row = self._rows[r]
        if role == ROW_ROLE:
            return row
        col = self.columns[index.column()]
        if role == DISPLAY:
            return col.text(row)
        if role == PROGRESS_ROLE:
            return col.progress(row) if col.progress is not None else None
        if role == ALIGN:
            return _RIGHT if col.align_right else None
        if role == TOOLTIP:
            return col.tooltip(row) if col.tooltip is not None else None
        if role == SORT_ROLE:
            return col.sort(row) if col.sort else col.text(row)
        if role == KEY_ROLE:
            return self._key(row)
        return None

    def row(self, key: str) -> R | None:
        i = self._index.get(key)
        return None if i is None else self._rows[i]

    def row_of(self, key: str) -> int:
        return self._index.get(key, -1)

    def keys(self) -> list[str]:
        return [self._key(r) for r in self._rows]

    # --- sorting (here, in Python's sort, not in a proxy calling data() per comparison) --------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if 0 <= column < len(self.columns):
            self._sort = (column, order == Qt.SortOrder.DescendingOrder)
            self._resort()

    def _sort_key(self):
        assert self._sort is not None
        col = self.columns[self._sort[0]]
        get = col.sort or col.text

        def key(row: R):
            value = get(row)
            return (0, value) if isinstance(value, (int, float)) else (1, str(value))

        return key

    def _order(self) -> list[R]:
        return sorted(self._rows, key=self._sort_key(), reverse=self._sort[1]) if self._sort else self._rows

    def _resort(self) -> None:
        """Re-order the rows for the current sort; persistent indexes (selection) follow their rows."""
        if self._sort is None or len(self._rows) < 2:
            return
        new_rows = self._order()
        if all(a is b for a, b in zip(new_rows, self._rows, strict=True)):
            return
        self.layoutAboutToBeChanged.emit()
        old_index = {id(r): n for n, r in enumerate(self._rows)}
        mapping = {old_index[id(r)]: n for n, r in enumerate(new_rows)}
        self._rows = new_rows
        self._index = {self._key(r): n for n, r in enumerate(self._rows)}
        old = self.persistentIndexList()
        self.changePersistentIndexList(old, [self.index(mapping[i.row()], i.column()) for i in old])
        self.layoutChanged.emit()

    # --- changing --------------------------------------------------------------------------------
    def reset(self, items: Iterable[Any]) -> None:
        """Replace every row (a fresh snapshot after connecting or reconnecting)."""
        self.beginResetModel()
        self._rows = [self.kind.adopt(i) for i in items]
        self._rows = self._order()
        self._index = {self._key(r): n for n, r in enumerate(self._rows)}
        self.endResetModel()

    def upsert(self, item: Any) -> bool:
        """Merge a delta into its row (or append it); return True when the row is new."""
        key = self.kind.delta_key(item)
        i = self._index.get(key)
        if i is None:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n)
            self._rows.append(self.kind.new(item))
            self._index[key] = n
            self.endInsertRows()
            self._resort()
            return True
        moved = self._update_row(i, item)
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.columns) - 1))
        if moved:
            self._resort()
        return False

    def _update_row(self, i: int, delta: Any, change: Callable[[Any, Any], None] | None = None) -> bool:
        """Apply `delta` to row i; True when the row's sort value changed (the order may too)."""
        change = change or self.kind.apply
        if self._sort is None:
            change(self._rows[i], delta)
            return False
        key = self._sort_key()
        before = key(self._rows[i])
        change(self._rows[i], delta)
        return key(self._rows[i]) != before

    def edit(self, keys: Iterable[str], change: Callable[[R], None]) -> None:
        """Change these rows in place by `change(row)` (what no event says, such as a tag deleted)."""
        changed = sorted({i for i in (self._index.get(k) for k in keys) if i is not None})
        moved = False
        for i in changed:
            moved = self._update_row(i, None, lambda row, _: change(row)) or moved
        for first, last in _ranges(changed):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.columns) - 1))
        if moved:
            self._resort()

    def upsert_many(self, items: Iterable[Any]) -> None:
        """Apply many deltas: new rows are inserted as one block, changed rows as few ranges."""
        new: dict[str, R] = {}
        changed: set[int] = set()
        moved = False
        for item in items:
            key = self.kind.delta_key(item)
            i = self._index.get(key)
            if i is None:
                pending = new.get(key)
                if pending is None:
                    new[key] = self.kind.new(item)
                else:
                    self.kind.apply(pending, item)
            else:
                moved = self._update_row(i, item) or moved
                changed.add(i)
        for first, last in _ranges(sorted(changed)):
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.columns) - 1))
        if new:
            n = len(self._rows)
            self.beginInsertRows(QModelIndex(), n, n + len(new) - 1)
            for r in new.values():
                self._index[self._key(r)] = len(self._rows)
                self._rows.append(r)
            self.endInsertRows()
        if new or moved:
            self._resort()

    def remove(self, key: str) -> None:
        i = self._index.get(key)
        if i is None:
            return
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        self._index = {self._key(r): n for n, r in enumerate(self._rows)}
        self.endRemoveRows()


def _ranges(rows: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and out[-1][1] == r - 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out
