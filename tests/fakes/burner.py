"""A CPU-burning process that is NOT a descendant of the test process (an 'artist's program').

It is started through a launcher that exits at once, so the burner is re-parented away from the
test's process tree, as a program the artist started would be. Kill it with `stop_burner`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

_LAUNCH = ("import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', 'while True: pass'], "
           "start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, "
           "stderr=subprocess.DEVNULL); print(p.pid)")


def start_foreign_burner() -> int:
    out = subprocess.run([sys.executable, "-c", _LAUNCH], capture_output=True, text=True, check=True, timeout=30)
    return int(out.stdout.strip())


def stop_burner(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
