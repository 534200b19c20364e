"""How the desktop app shows failures: one function decides, in the Manager's own words."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

_log = logging.getLogger(__name__)


def show_error(parent: QWidget | None, title: str, exc: BaseException | str) -> None:
    """A dialog with the error's message (an `ApiError` carries the Manager's own message)."""
    text = str(exc) or type(exc).__name__
    _log.info("%s: %s", title, text)
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("errorDialog")
    box.open()  # not exec(): the event loop (and the network) keep running


def show_messages(parent: QWidget | None, title: str, messages: list[str]) -> None:
    """Show the per-row failures of a multi-select action, if there were any."""
    if messages:
        show_error(parent, title, "\n".join(messages[:20]) + ("\n…" if len(messages) > 20 else ""))
