"""Run under a real X display (not offscreen): is there a system tray, and does our icon get embedded?

Prints one JSON line: {"available": bool, "embedded": bool, "geometry": [x, y, w, h]}. Used by
test_tray_host.py with Xvfb and Debian's `trayer` as the tray host.
"""

from __future__ import annotations

import json
import sys
import time

from PySide6.QtWidgets import QApplication, QSystemTrayIcon


def main() -> None:
    app = QApplication(sys.argv[:1])
    available = QSystemTrayIcon.isSystemTrayAvailable()
    from app.ui.tray import WorkerActions, WorkerTray
    from app.ui.worker_controller import WorkerController

    controller = WorkerController("http://127.0.0.1:9", "probe-pc")   # never started: no network
    tray = WorkerTray(controller, WorkerActions(controller))
    tray.show()
    deadline = time.monotonic() + 10
    geometry = tray.icon.geometry()
    while available and time.monotonic() < deadline:
        app.processEvents()
        geometry = tray.icon.geometry()
        if not geometry.isEmpty() and geometry.y() > 0:   # moved by the host into its panel
            break
        time.sleep(0.05)
    print(json.dumps({"available": available, "embedded": not geometry.isEmpty() and geometry.y() > 0,
                      "geometry": [geometry.x(), geometry.y(), geometry.width(), geometry.height()],
                      "tooltip": tray.icon.toolTip()}))
    tray.hide()


if __name__ == "__main__":
    main()
