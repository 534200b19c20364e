"""Small commands: `echo` (a message to the task log), `sleep` (cancellable) and `exec` (run a program)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from app.worker.commands.base import (
    CommandContext,
    CommandError,
    param_number,
    param_str,
    param_str_list,
    split_exe,
)
from app.worker.find_exe import resolve_executable

_log = logging.getLogger(__name__)


async def echo(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    message = params.get("message")
    if message is None:
        raise CommandError("missing parameter 'message'")
    # Job scripts may echo numbers or booleans; the log wants text.
    ctx.log(message if isinstance(message, str) else str(message))


async def sleep(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    seconds = param_number(params, "duration_in_seconds")
    if seconds < 0:
        raise CommandError(f"parameter 'duration_in_seconds' must not be negative, got {seconds:g}")
    ctx.log(f"sleeping {seconds:g} s")
    # asyncio.sleep is cancelled together with the task, which is what makes this abortable.
    await asyncio.sleep(seconds)


async def exec_command(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    """Run a program directly, without a shell; exit code 0 is success."""
    exe_parts = split_exe(param_str(params, "exe"))
    argv = [resolve_executable(exe_parts[0], ctx.config), *exe_parts[1:], *param_str_list(params, "args")]
    code = await ctx.run_process(argv)
    if code != 0:
        raise CommandError(f"{exe_parts[0]} exited with code {code}")
