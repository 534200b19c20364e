"""`DurationEdit`: a duration as a number and a unit (seconds, minutes, hours), never as Go text.

The number sits in a narrow spin box beside the unit picker; changing the unit keeps the number
("10 minutes" becomes "10 hours"), as people expect of such pickers. `seconds()` is what it holds.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QSizePolicy, QSpinBox, QWidget

from app.common.durations import UNITS, split_duration, unit_seconds
from app.ui.widgets.explained import narrow

MAX_VALUE = 99_999


class DurationEdit(QWidget):
    changed = Signal(float)  # seconds

    def __init__(self, seconds: float = 0.0, parent: QWidget | None = None):
        super().__init__(parent)
        self.value = QSpinBox(minimum=0, maximum=MAX_VALUE)
        self.value.setObjectName("durationValue")
        narrow(self.value)
        self.unit = QComboBox()
        self.unit.setObjectName("durationUnit")
        self.unit.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        for name, _size in UNITS[::-1]:  # seconds, minutes, hours: small to large, as read
            self.unit.addItem(name, name)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.value)
        row.addWidget(self.unit)
        row.addStretch(1)
        self.set_seconds(seconds)
        self.value.valueChanged.connect(lambda *_: self.changed.emit(self.seconds()))
        self.unit.currentIndexChanged.connect(lambda *_: self.changed.emit(self.seconds()))

    def seconds(self) -> float:
        return float(self.value.value() * unit_seconds(str(self.unit.currentData())))

    def set_seconds(self, seconds: float) -> None:
        """Show `seconds` in the largest unit that holds it whole (600 → 10 minutes)."""
        value, unit = split_duration(seconds)
        self.blockSignals(True)
        try:
            self.unit.setCurrentIndex(self.unit.findData(unit))
            self.value.setValue(min(value, MAX_VALUE))
        finally:
            self.blockSignals(False)
