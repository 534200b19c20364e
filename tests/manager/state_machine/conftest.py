"""The `db` fixture: a status machine's store on a real SQLite file in the test's temp folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.manager.persistence.db import Store
from tests.manager.state_machine.machine_db import MachineDb


@pytest.fixture
def db(tmp_path: Path) -> Iterator[MachineDb]:
    store = Store(f"sqlite:///{tmp_path / 'machine.sqlite'}")
    store.open_sync()  # integrity check and every migration, as a Manager's start does
    try:
        yield MachineDb(store)
    finally:
        store.close_sync()
