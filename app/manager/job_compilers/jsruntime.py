"""Running job-type scripts in QuickJS (via dukpy): the code that lives in the compiler process.

This module owns one JS run: a fresh interpreter, the prelude (`prelude.js`), the job-type
script, then a short driver that reads `JOB_TYPE` or calls `compileJob(job)`. Every run
returns the JSON text of a dict (`{"ok": true, ...}` or `{"ok": false, "error": {...}}`) and
never raises for script faults. The text goes to the Manager unparsed: for a 10,000-task job
it is megabytes, and decoding it here only to pickle it again measured about 0.3 s.

It is safe to call in-process (tests do), but the Manager calls it only inside the child
process managed by `engine.py`, because dukpy cannot be interrupted from another thread.
`serve()` is that child's main loop.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import dukpy

try:  # dukpy's native entry point hands back QuickJS's JSON text as bytes
    from dukpy import _dukpy as _native
except ImportError:  # pragma: no cover - only if dukpy's layout changes
    _native = None

_log = logging.getLogger(__name__)

PRELUDE_PATH = Path(__file__).with_name("prelude.js")
_PRELUDE_NAME = "prelude.js"
# dukpy names every evaluated script "<dukpy>"; each step is evaluated on its own, so
# the step being run tells us which file a location really belongs to.
_DUKPY_FILENAME = "<dukpy>"

_prelude_source: str | None = None


def _prelude() -> str:
    global _prelude_source
    if _prelude_source is None:
        _prelude_source = PRELUDE_PATH.read_text(encoding="utf-8")
    return _prelude_source


class _ScriptFault(Exception):
    """A JS exception escaped one evaluation step; carries a user-facing error dict."""

    def __init__(self, error: dict[str, str]):
        super().__init__(error["message"])
        self.error = error


def _fault_from_exception(exc: Exception, filename: str) -> _ScriptFault:
    # dukpy's message is "<Name>: <message>\n    at <where> (<dukpy>:L:C)\n..." for
    # errors, or just the thrown value for anything else.
    lines = str(exc).replace(_DUKPY_FILENAME, filename).strip().splitlines() or ["unknown error"]
    message = lines[0]
    location = ""
    for line in lines[1:]:
        line = line.strip()
        if line.startswith("at "):
            location = line.rsplit("(", 1)[-1].rstrip(")").removeprefix("at ")
            break
    return _ScriptFault({"message": message, "location": location, "file": filename})


def _eval(interp: dukpy.JSInterpreter, code: str, filename: str, **data: Any) -> Any:
    try:
        return interp.evaljs(code, **data)
    except Exception as exc:  # noqa: BLE001 - dukpy raises its own JSRuntimeError for any JS fault
        raise _fault_from_exception(exc, filename) from None


def _eval_json(interp: dukpy.JSInterpreter, code: str, filename: str, **data: Any) -> bytes:
    """Like `_eval`, but return the result as JSON text without decoding it in Python."""
    if _native is not None:
        try:
            return _native.eval_string(interp, code.encode(), json.dumps(data).encode(), False, filename)
        except TypeError:  # another dukpy version with another signature: use the public API
            pass
        except Exception as exc:  # noqa: BLE001 - as in _eval
            raise _fault_from_exception(exc, filename) from None
    return json.dumps(_eval(interp, code, filename, **data)).encode()


def _failure(error: dict[str, str], printed: list[dict[str, str]]) -> bytes:
    return json.dumps({"ok": False, "error": error, "printed": printed}).encode()


def _start(source: str, filename: str, env: dict[str, Any], search_dirs: list[str]) -> dukpy.JSInterpreter:
    """A fresh interpreter with the prelude and the job-type script evaluated."""
    interp = dukpy.JSInterpreter()
    # Lets scripts require() their neighbours. dukpy puts each registered folder in
    # front, so the highest-priority folder goes last.
    for folder in reversed(search_dirs):
        interp.loader.register_path(folder)
    _eval(interp, _prelude(), _PRELUDE_NAME, env=env)
    _eval(interp, source, filename)
    return interp


def _printed_after_fault(interp: dukpy.JSInterpreter | None) -> list[dict[str, str]]:
    if interp is None:
        return []
    try:
        return interp.evaljs("__tablao.takePrinted()") or []
    except Exception:  # noqa: BLE001 - best effort; the original fault is what matters
        return []


def describe_job_type(source: str, filename: str, env: dict[str, Any], search_dirs: list[str]) -> bytes:
    """Evaluate a script; return the JSON text of `{"ok", "jobType", "printed"}` (or a failure)."""
    interp = None
    try:
        interp = _start(source, filename, env, search_dirs)
        return _eval_json(
            interp,
            "__tablao.describeJobType(typeof JOB_TYPE === 'undefined' ? undefined : JOB_TYPE)",
            filename,
        )
    except _ScriptFault as fault:
        return _failure(fault.error, _printed_after_fault(interp))


def compile_job(
    source: str, filename: str, env: dict[str, Any], search_dirs: list[str], job: dict[str, Any]
) -> bytes:
    """Evaluate a script and run `compileJob()` on `job`; return the JSON text of the outcome.

    On success that is `{"ok": true, "job": {settings, metadata, tasks}, "printed": [...]}`;
    an error thrown inside `compileJob` comes back as `{"ok": false, "error": {message,
    location}}` with a location inside the script (host side fills in the file name).
    """
    interp = None
    try:
        interp = _start(source, filename, env, search_dirs)
        return _eval_json(
            interp,
            "__tablao.runCompile(typeof compileJob === 'undefined' ? undefined : compileJob, dukpy.job)",
            filename,
            job=job,
        )
    except _ScriptFault as fault:
        return _failure(fault.error, _printed_after_fault(interp))


def _ping() -> bytes:
    return b'{"ok": true}'


_OPERATIONS: dict[str, Callable[..., bytes]] = {
    "describe": describe_job_type,
    "compile": compile_job,
    "ping": _ping,
}


def _limit_memory(max_bytes: int) -> None:
    # A script that allocates without end should fail with "out of memory" in this
    # process, not drag the whole machine into swap before the time limit hits.
    try:
        import resource
    except ImportError:  # Windows: rely on the time limit alone
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))
    except (ValueError, OSError, AttributeError):
        _log.debug("could not limit job compiler memory")


def _die_with_parent() -> None:
    # Linux: if the Manager is killed hard while a script loops forever, nobody would ever stop
    # this process (it never reads the closed pipe). Ask the kernel to kill it with its parent.
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        _log.debug("could not tie the job compiler's lifetime to the Manager's")


def serve(conn: Connection, max_memory_bytes: int = 0) -> None:
    """Main loop of the compiler process: answer `(op, kwargs)` requests with JSON bytes.

    Stops at EOF or on a `None` request. Errors on our side are reported, not raised,
    so one bad request does not cost a process restart.
    """
    _die_with_parent()
    if max_memory_bytes:
        _limit_memory(max_memory_bytes)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        op, kwargs = request
        try:
            reply = _OPERATIONS[op](**kwargs)
        except Exception as exc:  # noqa: BLE001 - a bug on our side; report it, do not die
            _log.exception("job compiler process failed on %r", op)
            reply = _failure({"message": f"internal job compiler error: {exc!r}"}, [])
        conn.send_bytes(reply)
