"""Fixtures of the `farm` tests: the e2e `farm` fixture (a Manager on a fixed port plus real workers),
and `run_farm`, which runs one `farm` command in this event loop and captures what it prints."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest

from app.farm.cli import run
from app.farm.console import Console
from tests.e2e.conftest import farm  # noqa: F401 - re-exported fixture


@dataclass
class FarmRun:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def run_farm():
    async def call(*argv: str) -> FarmRun:
        out, err = io.StringIO(), io.StringIO()
        code = await run(list(argv), console=Console(out=out, err=err, stdin=io.StringIO()))
        return FarmRun(code, out.getvalue(), err.getvalue())
    return call
