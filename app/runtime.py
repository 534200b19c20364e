"""Headless runtime: `asyncio.run` with SIGINT/SIGTERM wired to the one shutdown path. No Qt here."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

_log = logging.getLogger(__name__)


def run_headless(main: Callable[[], Awaitable[int | None]]) -> int:
    """Run `main()` until it returns or a signal asks to stop; return the exit code."""

    async def runner() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(main())
        stopping = {"signal": None}

        def on_signal(signum: int) -> None:
            if stopping["signal"] is None:
                _log.info("received %s, shutting down", signal.Signals(signum).name)
                stopping["signal"] = signum
                task.cancel()

        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, on_signal, sig)
            except (NotImplementedError, RuntimeError):  # Windows: KeyboardInterrupt still works
                pass
        try:
            result = await task
            return int(result or 0)
        except asyncio.CancelledError:
            return 0 if stopping["signal"] is not None else 1

    try:
        return asyncio.run(runner())
    except KeyboardInterrupt:
        return 0
