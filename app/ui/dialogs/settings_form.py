"""A job type's settings form, generated from the job type: the same widgets for every type.

Each setting the artist sets at submission gets one row: a spin box for `int32` (and `float`) with
the job type's `propargs` min/max, a check box for `bool`, a combo box for `choices`, a line edit
for other strings; the label is the setting's `label` (else its key), the tooltip its description,
the start value its default; the first line of its description is shown under it too, and a
number sits in a narrow field. `visible` is honoured as Flamenco's add-on does: `visible` (the
default) and `submission` settings are shown, `web` and `hidden` ones are not; `blendfile` is
filled in by the submission itself.

A setting with an `eval` expression shows the value read from the scene (Blender evaluates it,
see `app.submit.blender_probe`) and an "Override" toggle: off, the scene's value is sent; on, the
typed one. `editable: false` settings only show their value.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from app.api.jobs import AvailableJobSetting, AvailableJobType
from app.ui.widgets.explained import explained, narrow

_log = logging.getLogger(__name__)

SHOWN = ("visible", "submission")
FILLED_BY_SUBMISSION = ("blendfile",)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
FLOAT_LIMIT = 1e12
PATH_SUBTYPES = ("dir_path", "file_path", "hashed_file_path")


def shown_in_form(setting: AvailableJobSetting) -> bool:
    """`visible` (the default) and `submission` settings are shown; `web` and `hidden` are not."""
    return (setting.visible or "visible") in SHOWN and setting.key not in FILLED_BY_SUBMISSION


def label_of(setting: AvailableJobSetting) -> str:
    if isinstance(setting.label, str) and setting.label:
        return setting.label
    return setting.key.replace("_", " ").capitalize()


def tooltip_of(setting: AvailableJobSetting) -> str:
    text = str(setting.description or "")
    if setting.eval:
        how = setting.evalInfo.description if setting.evalInfo and setting.evalInfo.description else ""
        text += ("\n" if text else "") + f"Read from the scene{f' ({how})' if how else ''}: {setting.eval}"
    return text


def first_line(setting: AvailableJobSetting) -> str:
    """The setting's description up to its first line break: the explanation shown under it."""
    return str(setting.description or "").strip().split("\n", 1)[0]


def eval_inputs(job_type: AvailableJobType) -> set[str]:
    """The settings that some `eval` expression reads (`settings.key`): a change means reading again."""
    keys: set[str] = set()
    for setting in job_type.settings:
        keys.update(re.findall(r"settings\.([A-Za-z_][A-Za-z0-9_]*)", setting.eval or ""))
    return keys


def make_editor(setting: AvailableJobSetting) -> QWidget:
    """The widget for one setting, holding its default."""
    args = setting.propargs or {}
    default = setting.default
    if setting.type == "int32":
        spin = QSpinBox()
        spin.setRange(int(args.get("min", INT32_MIN)), int(args.get("max", INT32_MAX)))
        spin.setValue(int(default or 0))
        return spin
    if setting.type == "float":
        dspin = QDoubleSpinBox()
        dspin.setDecimals(int(args.get("precision", 3)))
        dspin.setRange(float(args.get("min", -FLOAT_LIMIT)), float(args.get("max", FLOAT_LIMIT)))
        dspin.setValue(float(default or 0.0))
        return dspin
    if setting.type == "bool":
        check = QCheckBox()
        check.setChecked(bool(default))
        return check
    if setting.choices:
        combo = QComboBox()
        combo.addItems([str(c) for c in setting.choices])
        if default in setting.choices:
            combo.setCurrentText(str(default))
        return combo
    edit = QLineEdit(str(default if default is not None else ""))
    if setting.subtype in PATH_SUBTYPES:
        edit.setPlaceholderText("a folder" if setting.subtype == "dir_path" else "a file path")
    return edit


def editor_value(editor: QWidget) -> Any:
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.value()
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, QComboBox):
        return editor.currentText()
    assert isinstance(editor, QLineEdit)
    return editor.text()


def set_editor_value(editor: QWidget, value: Any) -> None:
    """Show `value` without it counting as the artist's edit."""
    editor.blockSignals(True)
    try:
        if isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        elif isinstance(editor, QDoubleSpinBox):
            editor.setValue(float(value))
        elif isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QComboBox):
            editor.setCurrentText(str(value))
        elif isinstance(editor, QLineEdit):
            editor.setText("" if value is None else str(value))
            editor.setCursorPosition(0)
    except (TypeError, ValueError) as exc:
        _log.debug("cannot show %r in %s: %s", value, type(editor).__name__, exc)
    finally:
        editor.blockSignals(False)


def _changed_signal(editor: QWidget):
    if isinstance(editor, QSpinBox | QDoubleSpinBox):
        return editor.valueChanged
    if isinstance(editor, QCheckBox):
        return editor.toggled
    if isinstance(editor, QComboBox):
        return editor.currentTextChanged
    return editor.textEdited  # type: ignore[attr-defined]


@dataclass
class SettingField:
    """One row of the form. `touched`: the artist edited it; `from_scene`: the scene filled it in."""

    setting: AvailableJobSetting
    editor: QWidget
    override: QCheckBox | None = None
    touched: bool = False
    from_scene: bool = False
    scene_value: Any = field(default=None)

    @property
    def evaluated(self) -> bool:
        """Its value comes from the scene (an `eval` not overridden)."""
        return bool(self.setting.eval) and not (self.override is not None and self.override.isChecked())


class SettingsForm(QWidget):
    """The form of one job type. `edited(key)` fires when the artist changes a setting."""

    edited = Signal(str)

    def __init__(self, job_type: AvailableJobType, parent: QWidget | None = None):
        super().__init__(parent)
        self.job_type = job_type
        self.fields: dict[str, SettingField] = {}
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for setting in job_type.settings:
            if shown_in_form(setting):
                layout.addRow(self._label(setting), explained(self._row(setting), first_line(setting)))
        if not self.fields:
            layout.addRow(QLabel("This job type has no settings to choose."))

    def _label(self, setting: AvailableJobSetting) -> QLabel:
        label = QLabel(label_of(setting) + ("*" if setting.required else ""))
        label.setToolTip(tooltip_of(setting))
        return label

    def _row(self, setting: AvailableJobSetting) -> QWidget:
        editor = make_editor(setting)
        editor.setObjectName(f"setting_{setting.key}")
        editor.setToolTip(tooltip_of(setting))
        one = SettingField(setting, editor)
        self.fields[setting.key] = one
        _changed_signal(editor).connect(lambda *_a, key=setting.key: self._edited(key))
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        if isinstance(editor, QSpinBox | QDoubleSpinBox):
            box.addWidget(narrow(editor))
            box.addStretch(1)
        else:
            box.addWidget(editor, 1)
        if setting.editable is False:
            editor.setEnabled(False)
        elif setting.eval:
            one.override = QCheckBox("Override")
            one.override.setObjectName(f"override_{setting.key}")
            one.override.setToolTip("Send the value typed here instead of the one read from the scene")
            one.override.toggled.connect(lambda on, key=setting.key: self._override(key, on))
            box.addWidget(one.override)
            editor.setEnabled(False)
        if setting.eval and isinstance(editor, QLineEdit):
            editor.setPlaceholderText("read from the scene")
        elif setting.subtype in PATH_SUBTYPES and setting.editable is not False and isinstance(editor, QLineEdit):
            browse = QToolButton()
            browse.setText("…")
            browse.setToolTip("Choose a folder" if setting.subtype == "dir_path" else "Choose a file")
            browse.clicked.connect(lambda _checked=False, key=setting.key: self._browse(key))
            box.addWidget(browse)
        return row

    def _browse(self, key: str) -> None:
        one = self.fields[key]
        assert isinstance(one.editor, QLineEdit)
        start, title = one.editor.text(), label_of(one.setting)
        if one.setting.subtype == "dir_path":
            path = QFileDialog.getExistingDirectory(self, title, start)
        else:
            path, _ = QFileDialog.getSaveFileName(self, title, start)
        if path:
            one.editor.setText(path)
            self._edited(key)

    def _edited(self, key: str) -> None:
        one = self.fields[key]
        one.touched, one.from_scene = True, False
        self.edited.emit(key)

    def _override(self, key: str, on: bool) -> None:
        one = self.fields[key]
        one.editor.setEnabled(on)
        if not on and one.scene_value is not None:
            set_editor_value(one.editor, one.scene_value)
        self.edited.emit(key)

    # --- values ----------------------------------------------------------------------------------
    def user_values(self) -> dict[str, Any]:
        """What the artist decides: shown settings without an `eval` (an empty string or a value the
        scene filled in is left out, so the submission fills it), and overridden `eval` settings
        (sent as typed, even empty)."""
        values: dict[str, Any] = {}
        for key, one in self.fields.items():
            if one.setting.editable is False or one.evaluated or one.from_scene:
                continue
            value = editor_value(one.editor)
            if value == "" and one.setting.type == "string" and one.override is None:
                continue
            values[key] = value
        return values

    def overridden(self) -> list[str]:
        return [k for k, f in self.fields.items() if f.override is not None and f.override.isChecked()]

    def set_user_values(self, values: dict[str, Any]) -> None:
        """Put back what the artist had chosen (after the job type was refreshed)."""
        for key, value in values.items():
            one = self.fields.get(key)
            if one is None:
                continue
            if one.override is not None:
                one.override.setChecked(True)
            set_editor_value(one.editor, value)
            one.touched = True

    def show_scene(self, evaluated: dict[str, Any], implied: dict[str, Any]) -> None:
        """Values read from the scene: `eval` results, and settings the scene implies (output folder)."""
        for key, one in self.fields.items():
            if key in evaluated:
                one.scene_value = evaluated[key]
                if one.evaluated or one.setting.editable is False:
                    set_editor_value(one.editor, evaluated[key])
            elif key in implied and (not one.touched or one.from_scene):
                set_editor_value(one.editor, implied[key])
                one.from_scene = True
