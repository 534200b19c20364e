"""Page 5: may the farm run the scripts stored inside .blend files? Off, or on for trusted artists.

Asked in words a studio lead can decide on: what such scripts are for, what running them on a farm
risks, the safe default. Turning them on makes a submit token (shown with a Copy button, and where
artists put it); the choice and the token go to the Manager with the setup (`allowBlendScripts`,
`submitToken`). The settings page shows and edits the same two settings later.
"""

from __future__ import annotations

import secrets

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWizardPage,
)

from app.ui.wizard.context import WizardContext

INTRO = (
    "<p>A .blend file can carry small programs (Python scripts). Rigs use them for their controls, "
    "drivers use Python expressions to move things, and some add-ons save scripts into the file. On an "
    "artist's computer, Blender asks before it runs them.</p>"
    "<p>On a render farm nobody is asked. If the farm runs them, <b>anyone who can submit a job can run "
    "any program they like on every render node</b>, the artists' own computers included when they "
    "render for the farm.</p>"
)
OFF_TEXT = ("Files render without their scripts. Most scenes look the same; a rig whose controls or "
            "drivers need Python may not move as it does on the artist's computer. Artists are warned about "
            "such files before they send them.")
ON_TEXT = ("Jobs sent with the farm's submit token run their scripts; jobs without it never do. Give the "
           "token only to people you would trust with every computer of the farm.")
WHERE_TEXT = (
    "<b>Where artists put the token:</b> in Blender, Edit ▸ Preferences ▸ Add-ons ▸ Tablao ▸ "
    "<i>Access or Submit Token</i>; in Tablao's Submit dialog, the <i>Submit token</i> field; on the "
    "command line, <code>tablao submit --token TOKEN</code>. Flamenco's own add-on cannot send one: its "
    "jobs always render with scripts off."
)


def new_submit_token() -> str:
    """A token nobody guesses: 32 URL-safe characters (what `check_submit_token` accepts)."""
    return secrets.token_urlsafe(24)


class ScriptsPage(QWizardPage):
    def __init__(self, ctx: WizardContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setTitle("Scripts inside .blend files")
        self.setSubTitle("Decide whether the farm may run the Python that artists' files can carry.")
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.RichText)
        self.group = QButtonGroup(self)
        self.off = QRadioButton("Off: never run them (recommended)")
        self.off.setObjectName("scriptsOff")
        self.on = QRadioButton("On, for trusted artists only")
        self.on.setObjectName("scriptsOn")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        for button, text in ((self.off, OFF_TEXT), (self.on, ON_TEXT)):
            self.group.addButton(button)
            note = QLabel(text)
            note.setWordWrap(True)
            note.setIndent(24)
            layout.addWidget(button)
            layout.addWidget(note)
        layout.addWidget(self._token_box())
        layout.addStretch(1)
        self.on.toggled.connect(self._update)

    def _token_box(self) -> QGroupBox:
        self.token_box = QGroupBox("The farm's submit token")
        self.token = QLineEdit()
        self.token.setObjectName("submitToken")
        self.token.setReadOnly(True)
        self.token.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.copy = QPushButton("Copy")
        self.copy.setObjectName("copyToken")
        self.copy.clicked.connect(self.copy_token)
        self.copied = QLabel()
        self.copied.hide()  # until Copy is pressed
        row = QHBoxLayout()
        row.addWidget(self.token, 1)
        row.addWidget(self.copy)
        where = QLabel(WHERE_TEXT)
        where.setWordWrap(True)
        where.setTextFormat(Qt.TextFormat.RichText)
        box = QVBoxLayout(self.token_box)
        box.addLayout(row)
        box.addWidget(self.copied)
        box.addWidget(where)
        return self.token_box

    def initializePage(self) -> None:
        (self.on if self.ctx.allow_blend_scripts else self.off).setChecked(True)
        self._update()

    def _update(self) -> None:
        on = self.on.isChecked()
        if on and not self.token.text():
            self.token.setText(self.ctx.submit_token or new_submit_token())
        self.token_box.setVisible(on)

    def copy_token(self) -> None:
        QGuiApplication.clipboard().setText(self.token.text())
        self.copied.setText("Copied. Send it to the artists you trust, not through a public channel.")
        self.copied.show()

    def validatePage(self) -> bool:
        self.ctx.allow_blend_scripts = self.on.isChecked()
        if self.ctx.allow_blend_scripts:
            self.ctx.submit_token = self.token.text()
        return True
