"""'Stay asleep while my own programs are busy' in the desktop app: samples the load, asks the Manager.

The rule (`app.common.load.LoadHold`) decides from readings of `LoadSampler`; this watcher samples
at a low rate (every 15 s by default) off the UI thread, asks the Manager to put the worker to sleep
after its running task (no new work) when the hold starts, keeps asking while the worker is woken
meanwhile, and wakes it when the hold ends, unless something else wants it asleep (`may_wake`).
The reason goes to the controller, so the window and the tray tooltip show it. Off by default; the
choice lives in QSettings (this desk's preference).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import cast

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from app.common.load import LoadHold, LoadReading, LoadSampler
from app.ui import tray_state as ts
from app.ui.aio import spawn
from app.ui.worker_controller import WorkerController

_log = logging.getLogger(__name__)

KEY_ON, KEY_CPU, KEY_GPU = "load/enabled", "load/cpu_percent", "load/gpu_percent"
INTERVAL_MS = 15_000


def saved_limits() -> tuple[bool, int, int]:
    s = QSettings()
    # value(type=...) converts to that type; PySide's stubs say object.
    return (bool(s.value(KEY_ON, False, type=bool)), cast(int, s.value(KEY_CPU, 50, type=int)),
            cast(int, s.value(KEY_GPU, 50, type=int)))


def save_limits(enabled: bool, cpu: int, gpu: int) -> None:
    s = QSettings()
    s.setValue(KEY_ON, enabled)
    s.setValue(KEY_CPU, cpu)
    s.setValue(KEY_GPU, gpu)


class LoadWatcher(QObject):
    read = Signal(object)   # LoadReading, for the window's note
    held = Signal(str)      # the reason, '' when released

    def __init__(self, controller: WorkerController, sampler: LoadSampler, hold: LoadHold,
                 interval_ms: int = INTERVAL_MS, may_wake: Callable[[], bool] = lambda: True, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.sampler = sampler
        self.hold = hold
        self.may_wake = may_wake
        self.reason = ""
        self.slept_it = False   # this watcher asked for sleep, so it may ask for wake-up again
        self.last: LoadReading | None = None
        self._busy = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.timer.start()
        self.poll()

    def stop(self) -> None:
        self.timer.stop()
        if self.reason:
            self.reason = ""
            self.controller.set_held("")

    def poll(self) -> None:
        if not self._busy:
            self._busy = True
            spawn(self._poll())

    async def _poll(self) -> None:
        try:
            reading = await asyncio.to_thread(self.sampler.sample)  # nvidia-smi may take a moment
        except Exception as exc:  # noqa: BLE001 - a failed reading holds nothing
            _log.warning("cannot read the load of other programs: %s", exc)
            return
        finally:
            self._busy = False
        if not self.timer.isActive():
            return  # switched off meanwhile
        self.last = reading
        self.read.emit(reading)
        self._apply(self.hold.step(reading))

    def _apply(self, reason: str) -> None:
        c = self.controller
        was = self.reason
        self.reason = reason
        if reason != was:
            _log.info("load hold: %s", reason or "released")
            c.set_held(reason)
            self.held.emit(reason)
        if not c.worker_id or not c.connected:
            return
        if reason:
            # No new work; a running task may finish. Asked again if the worker is woken meanwhile.
            if c.state.kind == ts.IDLE or (not was and c.state.kind == ts.RENDERING):
                self.slept_it = True
                spawn(c.finish_then_stop())
        elif was and self.slept_it:
            self.slept_it = False
            if c.state.kind == ts.PAUSED and self.may_wake():   # not asleep by schedule or by the artist's rule
                spawn(c.render_now())
