"""The compiler child process never outlives a Manager that was killed hard (Linux)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = r'''
import asyncio, datetime as dt, sys
from pathlib import Path
from app.manager.job_compilers import JobCompiler

async def main():
    folder = Path(sys.argv[1])
    (folder / "forever.js").write_text(
        'const JOB_TYPE = {label: "x", settings: []}; function compileJob(j) { while (true) {} }')
    compiler = JobCompiler(folder, timeout_s=600)
    await compiler.compile({"name": "x", "type": "forever", "priority": 50, "submitter_platform": "linux",
                            "settings": {}}, job_id="j", created=dt.datetime.now(dt.timezone.utc))

if __name__ == "__main__":
    asyncio.run(main())
'''


def _cpu_seconds(proc: psutil.Process) -> float:
    try:
        times = proc.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


@pytest.mark.slow  # kills a spinning process tree and waits for the child to go
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses Linux's parent-death signal")
def test_spinning_compiler_dies_with_a_killed_manager(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 40
        children: list[psutil.Process] = []
        while time.monotonic() < deadline:
            # Spinning = more CPU time than a process start costs. (Not a CPU percentage: on a loaded
            # machine a spinning child gets a third of a core, and the pool keeps an idle spare.)
            children = [c for c in psutil.Process(parent.pid).children(recursive=True)
                        if _cpu_seconds(c) > 1.5]
            if children:
                break
            time.sleep(0.2)
        assert children, "the compiler process never started spinning"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        gone, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, f"compiler process outlived the Manager: {[p.pid for p in alive]}"
    finally:
        if parent.poll() is None:
            parent.kill()

