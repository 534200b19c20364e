"""README's test command (`-n auto --dist loadgroup`) keeps the tests of one `xdist_group` on one
worker: a small suite run with pytest-xdist, the way the repository's conftest sets it up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("xdist")

ROOT = Path(__file__).resolve().parents[1]

SUITE = {
    "conftest.py": """
import pytest
from tests import xdist_groups

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    xdist_groups.restore(config, items)
""",
    "test_grouped.py": """
import os, pytest
pytestmark = pytest.mark.xdist_group("build")

@pytest.mark.parametrize("n", range(6))
def test_grouped(n):
    with open("workers.txt", "a") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
""",
    "test_free.py": """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_free(n):
    pass
""",
}


@pytest.mark.slow  # starts pytest with two workers
def test_a_group_runs_on_one_worker(tmp_path: Path) -> None:
    for name, text in SUITE.items():
        (tmp_path / name).write_text(text)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2",
                           "--dist", "loadgroup", "-c", "/dev/null", "--rootdir", str(tmp_path), str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    workers = (tmp_path / "workers.txt").read_text().split()
    assert len(workers) == 6 and len(set(workers)) == 1, workers
