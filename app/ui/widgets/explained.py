"""Form helpers shared by the settings pages: a field with its one-line explanation, narrow numbers.

Every setting a person edits says in one line what it does (`explained`), in the palette's quieter
text colour under the field; a number field is as wide as its largest number (`narrow`), not as
wide as the window.
"""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractSpinBox, QLabel, QLayout, QSizePolicy, QVBoxLayout, QWidget

Spin = TypeVar("Spin", bound=QAbstractSpinBox)

EXPLANATION = "settingExplained"  # the object name of every explanation label


def narrow(spin: Spin, widest: str = "") -> Spin:
    """`spin` sized to its widest text (`widest`, else its maximum with prefix and suffix)."""
    if not widest:
        maximum = getattr(spin, "maximum", lambda: 0)()
        widest = f"{getattr(spin, 'prefix', str)()}{maximum}{getattr(spin, 'suffix', str)()}"
    spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance(widest) + 44)  # room for the arrows
    return spin


def explanation(text: str) -> QLabel:
    note = QLabel(text)
    note.setObjectName(EXPLANATION)
    note.setWordWrap(True)
    note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return note


def explained(field: QWidget | QLayout, text: str) -> QWidget:
    """`field` (a widget or a row layout) with `text` under it; just `field` in a box when `text` is ''."""
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 4)
    column.setSpacing(1)
    if isinstance(field, QLayout):
        column.addLayout(field)
    else:
        column.addWidget(field)
    if text:
        column.addWidget(explanation(text))
    return box
