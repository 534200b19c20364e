"""CI runs the test command README.md gives: the last command of README's test set-up line is the
line .ci/run ends with, so the two cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_test_command() -> str:
    blocks = re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    line = next(b.strip() for b in blocks if "-m pytest" in b)
    assert "\n" not in line, "README's test set-up stays one line a user can paste"
    return line.split(" && ")[-1]


def test_ci_runs_the_readmes_test_command() -> None:
    command = _readme_test_command()
    assert command.startswith(".venv/bin/python -m pytest ") and "-n auto" in command
    ci_lines = [ln.strip() for ln in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert [ln for ln in ci_lines if "-m pytest" in ln and not ln.startswith("#")] == [command]
