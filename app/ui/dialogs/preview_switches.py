"""The submit dialog's preview switches: render the first, last and middle frames first, and pause the
job when one of them fails.

Two checkboxes under the job's rows. "Preview frames first" is ticked for job types that render
frames and unticked (and greyed) for the others, where it would change nothing; "pause if a preview
frame fails" is off by default. They give job metadata (`app.submit.preview_switches`), only what
differs from the Manager's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QWidget

from app.submit.preview_switches import preview_metadata, renders_frames


class PreviewSwitches(QWidget):
    """Preview frames first (on for render job types) and pause on a failed preview (off)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.first = QCheckBox("Preview frames first")
        self.first.setObjectName("previewFirst")
        self.first.setChecked(True)
        self.first.setToolTip("Render the first, last and middle frames before the rest, so a broken frame "
                              "shows within minutes instead of at the end of the night")
        self.pause = QCheckBox("pause if one fails")
        self.pause.setObjectName("pauseOnPreviewFailure")
        self.pause.setToolTip("When one of those first frames fails, pause the job (you are told either way)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.first)
        layout.addWidget(self.pause)
        layout.addStretch(1)
        self.first.toggled.connect(self.pause.setEnabled)
        self.renders = True  # the job type renders frames (the widget may be greyed while submitting)

    def use_job_type(self, name: str, setting_keys: Iterable[str]) -> None:
        """Tick "preview frames first" for a job type that renders frames; untick and grey it otherwise."""
        renders = self.renders = renders_frames(name, setting_keys)
        self.first.setEnabled(renders)
        self.first.setChecked(renders)
        self.pause.setEnabled(renders)
        if not renders:
            self.pause.setChecked(False)

    def metadata(self) -> dict[str, str]:
        """The job metadata these switches add (none for the defaults; nothing for non-render types,
        which have no preview frames)."""
        if not self.renders:
            return {}
        return preview_metadata(self.first.isChecked(), self.pause.isChecked() and self.first.isChecked())
