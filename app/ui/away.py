"""'Render only when I'm away' in the desktop app: polls the idle time and asks the Manager.

The rule (`app.common.idle.AwayRule`) decides; this watcher only reads the idle-time source every
few seconds and turns the rule's answer into a status request through the controller. Off by
default; the choice lives in QSettings (this desk's preference, not farm configuration).
"""

from __future__ import annotations

import logging
from typing import cast

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from app.common.idle import SLEEP_LAZY, SLEEP_NOW, WAKE, AwayRule, IdleSource
from app.ui.aio import spawn
from app.ui.worker_controller import WorkerController

_log = logging.getLogger(__name__)

KEY_ON, KEY_MINUTES, KEY_RETURN = "away/enabled", "away/minutes", "away/on_return"


def saved_rule() -> tuple[bool, AwayRule]:
    s = QSettings()
    # value(type=...) converts to that type; PySide's stubs say object.
    rule = AwayRule(away_after_s=60.0 * cast(int, s.value(KEY_MINUTES, 10, type=int)),
                    on_return=str(s.value(KEY_RETURN, "finish")))
    return bool(s.value(KEY_ON, False, type=bool)), rule


def save_rule(enabled: bool, minutes: int, on_return: str) -> None:
    s = QSettings()
    s.setValue(KEY_ON, enabled)
    s.setValue(KEY_MINUTES, minutes)
    s.setValue(KEY_RETURN, on_return)


class AwayWatcher(QObject):
    decided = Signal(str)   # what the rule asked for (for the status bar and tests)

    def __init__(self, controller: WorkerController, source: IdleSource, rule: AwayRule,
                 interval_ms: int = 5000, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.source = source
        self.rule = rule
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.timer.start()
        self.poll()

    def stop(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        if not self.controller.worker_id or not self.controller.connected:
            return  # nothing to ask yet; the rule reads again on the next tick
        action = self.rule.step(self.source.idle_seconds())
        if action is None:
            return
        _log.info("away rule: %s", action)
        self.decided.emit(action)
        c = self.controller
        if action == WAKE:
            spawn(c.render_now())
        elif action == SLEEP_LAZY:
            spawn(c.finish_then_stop())
        elif action == SLEEP_NOW:
            spawn(c.stop_rendering())
