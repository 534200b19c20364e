"""Choose a worker's tags from its Manager's tags, or make a new tag on the way."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
)


class WorkerTagsDialog(QDialog):
    """`chosen()` gives the tag ids ticked; `new_names()` the tags to create first."""

    def __init__(self, title: str, tags: dict[str, str], current: set[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.list = QListWidget()
        self.list.setObjectName("tagList")
        for tag_id, name in sorted(tags.items(), key=lambda kv: kv[1].lower()):
            self._add(tag_id, name, tag_id in current)
        self.new_name = QLineEdit(placeholderText="new tag name")
        add = QPushButton("Add")
        add.clicked.connect(self._add_new)
        self.new_name.returnPressed.connect(self._add_new)
        row = QHBoxLayout()
        row.addWidget(self.new_name, 1)
        row.addWidget(add)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("A worker with tags runs jobs with one of its tags, and jobs without a tag."))
        layout.addWidget(self.list)
        layout.addLayout(row)
        layout.addWidget(buttons)

    def _add(self, tag_id: str, name: str, checked: bool) -> None:
        item = QListWidgetItem(name)
        item.setData(Qt.ItemDataRole.UserRole, tag_id)
        item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self.list.addItem(item)

    def _add_new(self) -> None:
        name = self.new_name.text().strip()
        if name:
            self._add("", name, True)
            self.new_name.clear()

    def _items(self):
        return [self.list.item(i) for i in range(self.list.count())]

    def chosen(self) -> list[str]:
        return [i.data(Qt.ItemDataRole.UserRole) for i in self._items()
                if i.checkState() == Qt.CheckState.Checked and i.data(Qt.ItemDataRole.UserRole)]

    def new_names(self) -> list[str]:
        return [i.text() for i in self._items()
                if i.checkState() == Qt.CheckState.Checked and not i.data(Qt.ItemDataRole.UserRole)]
