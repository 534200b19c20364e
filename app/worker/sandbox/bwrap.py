"""The bubblewrap command line, and the probe that tells whether bubblewrap works on this machine.

The prefix gives the program: no network (`--unshare-net`), its own process and IPC namespaces
(it cannot see, signal or trace the worker or the user's other programs), its own session (no
typing into the worker's terminal), no capabilities (a worker running as root stays root only in
name), death with the worker (`--die-with-parent`), the whole filesystem read-only, a minimal
`/dev` plus the GPU devices (`/dev/dri`, `/dev/nvidia*`, `/dev/kfd`), a fresh `/proc`, the mounts
of a `MountPlan` (hidden folders, the scratch folder as `/tmp`, folders bound back), and
`TMPDIR=/tmp`.
"""

from __future__ import annotations

import asyncio
import glob
import signal

from app.worker.sandbox.policy import HIDE, RO, RW, SCRATCH, SCRATCH_MOUNT, MountPlan

NAMESPACES = ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--new-session", "--die-with-parent",
              "--cap-drop", "ALL")
GPU_DEVICES = ("/dev/dri", "/dev/nvidia*", "/dev/kfd")
PROBE_TIMEOUT_S = 10.0


def gpu_devices() -> list[str]:
    found: list[str] = []
    for pattern in GPU_DEVICES:
        found += sorted(glob.glob(pattern))
    return found


def _base(bwrap: str) -> list[str]:
    argv = [bwrap, *NAMESPACES, "--ro-bind", "/", "/", "--dev", "/dev"]
    for device in gpu_devices():
        argv += ["--dev-bind", device, device]
    return [*argv, "--proc", "/proc"]


def prefix(bwrap: str, plan: MountPlan, scratch: str) -> list[str]:
    """The arguments that run a program (appended after them) in the planned sandbox."""
    argv = _base(bwrap)
    for kind, path in plan.mounts:
        if kind == SCRATCH:
            argv += ["--bind", scratch, path]
        elif kind == HIDE:
            argv += ["--tmpfs", path]
        elif kind == RO:
            argv += ["--ro-bind", path, path]
        elif kind == RW:
            argv += ["--bind", path, path]
    return [*argv, "--setenv", "TMPDIR", SCRATCH_MOUNT, "--"]


async def probe(bwrap: str) -> str | None:
    """Run `true` in a sandbox like the real ones; None when that works, else why not, in words."""
    argv = [*_base(bwrap), "--tmpfs", SCRATCH_MOUNT, "--", "true"]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
    except OSError as exc:
        return f"cannot start {bwrap}: {exc.strerror or exc}"
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            _, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return f"{bwrap} did not finish a trial run within {PROBE_TIMEOUT_S:.0f}s"
    if proc.returncode != 0:
        said = err.decode(errors="replace").strip().splitlines()
        return f"{bwrap} fails here (exit code {proc.returncode}): {said[-1] if said else 'no message'}"
    return None


def exit_note(code: int | None) -> str:
    """Words for bubblewrap's exit code when the program inside was killed by a signal (128 + N)."""
    if code is None or not 128 < code < 128 + 65:
        return ""
    try:
        name = signal.Signals(code - 128).name
    except ValueError:
        return ""
    return f" (the program in the sandbox was killed by {name})"
