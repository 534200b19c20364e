"""A private X server for a test: Xvfb picks a free display number itself (`-displayfd`).

Choosing a number beforehand (a fixed `:93`, or the first without a lock file) races with every other
X server being started at the same moment: another test process of the same run, another run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator


@contextlib.contextmanager
def private_display(screen: str = "1280x800x24") -> Iterator[str]:
    """Start Xvfb with one `screen` (WxHxDepth), yield its DISPLAY (":N"), stop it afterwards."""
    read_fd, write_fd = os.pipe()
    args = ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_fd,))
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # written once the server accepts connections
        assert number, "Xvfb did not start"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)
