"""What this computer is in the desktop app (Manager, Worker, or both): one `ModeModel`, one Mode menu.

The mode is what runs here now: the local Manager, the local worker, or both; beside it, a hub may
run in the program too (Mode ▸ Hub, `ModeModel.hub`, app/ui/local_hub.py). `ModeModel` holds it
and is the one truth every window shows: each window's Mode menu (`ModeMenu`) ticks the same item
and greys out, with the reason as its tooltip, what cannot be chosen here. Choosing another mode is
a request (`requested`) that the desktop app carries out (it starts or stops the worker and saves
the choice for the next start), then sets the model; the menus follow `changed`. The modes have
the setup wizard's names.

Windows are not modes: the Mode menu of the dashboard offers "Open the worker window" and the worker
window's offers "Open the dashboard", never the window the menu is in.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from app.ui.wizard.role_page import ROLE_TEXT

MANAGER, WORKER, BOTH = "manager", "worker", "both"
MODES = (MANAGER, WORKER, BOTH)
#: The windows of the desktop app (what the "Open the …" items open).
DASHBOARD, WORKER_WINDOW = "dashboard", "worker window"

NOT_HERE = "This program only watches Managers; start Tablao itself to run this computer's Manager or Worker."


def mode_of(manager: bool, worker: bool) -> str:
    """The mode for what runs: "manager", "worker", "both", or "" when nothing runs here."""
    return {(True, False): MANAGER, (False, True): WORKER, (True, True): BOTH}.get((manager, worker), "")


def label(mode: str) -> str:
    """The mode's name, as the setup wizard says it ("Manager and Worker")."""
    return ROLE_TEXT[mode][0] if mode in ROLE_TEXT else "none"


class ModeModel(QObject):
    """The mode of this computer, and which other modes may be chosen from here (with why not)."""

    changed = Signal(str)    # the mode, after it changed (or what may be chosen did)
    requested = Signal(str)  # a menu asks for this mode; the desktop app decides and calls `set_mode`

    def __init__(self, mode: str = "", parent: QObject | None = None):
        super().__init__(parent)
        self.mode = mode
        self.why_not: dict[str, str] = {m: NOT_HERE for m in MODES}  # mode → why it cannot be chosen
        self.hub = False  # a hub runs in this program too (app/ui/local_hub.py)

    def set_hub(self, running: bool) -> None:
        if running != self.hub:
            self.hub = running
            self.changed.emit(self.mode)

    @property
    def runs_manager(self) -> bool:
        return self.mode in (MANAGER, BOTH)

    @property
    def runs_worker(self) -> bool:
        return self.mode in (WORKER, BOTH)

    def set_mode(self, mode: str, why_not: dict[str, str] | None = None) -> None:
        """What runs now; `why_not`: mode → the reason it cannot be chosen ('' or absent: it can)."""
        why = {m: (why_not or {}).get(m, "") for m in MODES}
        if mode == self.mode and why == self.why_not:
            return
        self.mode, self.why_not = mode, why
        self.changed.emit(mode)

    def request(self, mode: str) -> None:
        if mode != self.mode and not self.why_not.get(mode):
            self.requested.emit(mode)


class ModeMenu(QObject):
    """A window's Mode menu on `model`: the three modes, the other window, the setup wizard, joining a hub.

    `here` is the window the menu is in (`DASHBOARD` or `WORKER_WINDOW`); the menu offers the other."""

    open_requested = Signal(str)  # DASHBOARD or WORKER_WINDOW
    wizard_requested = Signal()
    hub_requested = Signal()  # Join a hub… (app/ui/dialogs/join_hub.py)
    hub_role_requested = Signal()  # Run a hub here: start or stop the hub in this program

    def __init__(self, model: ModeModel, here: str, parent: QWidget):
        super().__init__(parent)
        self.model = model
        self.here = here
        self.menu = QMenu("&Mode", parent)
        self.menu.setToolTipsVisible(True)
        self.group = QActionGroup(self)
        self.group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        for mode in MODES:
            action = QAction(label(mode), self, checkable=True)
            action.setObjectName(f"mode_{mode}")
            action.setStatusTip(ROLE_TEXT[mode][1])
            action.triggered.connect(lambda _on=False, m=mode: self._chosen(m))
            self.group.addAction(action)
            self.menu.addAction(action)
            self.actions[mode] = action
        self.run_hub = QAction("Hub: one farm over several networks", self, checkable=True)
        self.run_hub.setObjectName("runHub")
        self.run_hub.setStatusTip("Run this farm's hub here: artists submit to it, each network's Manager joins it")
        self.run_hub.triggered.connect(self._hub_chosen)
        self.menu.addAction(self.run_hub)
        self.menu.addSeparator()
        other = WORKER_WINDOW if here == DASHBOARD else DASHBOARD
        self.open_other = QAction("Open the worker window" if other == WORKER_WINDOW else "Open the dashboard", self)
        self.open_other.setObjectName("openOtherWindow")
        self.open_other.triggered.connect(lambda: self.open_requested.emit(other))
        self.menu.addAction(self.open_other)
        self.menu.addSeparator()
        self.wizard = QAction("Setup wizard…", self)
        self.wizard.triggered.connect(self.wizard_requested.emit)
        self.menu.addAction(self.wizard)
        self.join_hub = QAction("Join a hub…", self)
        self.join_hub.setObjectName("joinHub")
        self.join_hub.setStatusTip("Make this computer's Manager a site of a hub: one farm over several networks")
        self.join_hub.triggered.connect(self.hub_requested.emit)
        self.menu.addAction(self.join_hub)
        model.changed.connect(self.sync)  # a method: the connection goes with this menu's window
        self.sync()

    def sync(self, *_args) -> None:
        """Tick the model's mode; grey out what cannot be chosen, saying why."""
        model = self.model
        for mode, action in self.actions.items():
            action.setChecked(mode == model.mode)
            why = "" if mode == model.mode else model.why_not.get(mode, "")
            action.setEnabled(not why)
            action.setToolTip(why or ROLE_TEXT[mode][1])
        if self.here == DASHBOARD:
            self.open_other.setEnabled(model.runs_worker)
            self.open_other.setToolTip("" if model.runs_worker else "This computer does not render: choose "
                                       "Manager and Worker to make it render too.")
        self.wizard.setEnabled(bool(model.mode))
        self.run_hub.setChecked(model.hub)
        self.run_hub.setToolTip("The hub runs here; untick to stop it" if model.hub else
                                "Run this farm's hub here, with the dashboard pointed at it")
        self.join_hub.setEnabled(model.runs_manager)
        self.join_hub.setToolTip("" if model.runs_manager else "Only a computer that runs a Manager joins a hub, "
                                 "as one of its sites.")

    def _hub_chosen(self) -> None:
        self.sync()  # ticked once the desktop app has started it
        self.hub_role_requested.emit()

    def _chosen(self, mode: str) -> None:
        self.sync()  # the tick stays on what runs until the desktop app has switched
        self.model.request(mode)

    def checked(self) -> list[str]:
        return [mode for mode, action in self.actions.items() if action.isChecked()]
