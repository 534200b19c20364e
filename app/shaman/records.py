"""The record of the checkouts this Shaman made, kept on disk so that it survives a restart.

Job submission accepts a `shaman_checkout_id` only when it names a checkout recorded here, and job
deletion erases only recorded checkouts, so a client cannot point a job at a folder the Shaman did
not make: another job's parent folder, `..`, or anything outside the jobs root.

There is one small JSON file per checkout under `<file-store>/checkout-records/`, named by the
SHA-256 of the checkout path. Adding or removing a record is one atomic file operation, with no
shared index to rewrite or corrupt, and the records sit beside the blobs on the shared storage, so
they move with it. All methods block (small file operations); async callers use a thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import time
from pathlib import Path

_log = logging.getLogger(__name__)

RECORDS_DIR = "checkout-records"


class CheckoutRecords:
    """A persistent set of checkout paths (relative to the jobs root, as the Shaman returned them)."""

    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        for leftover in directory.glob("*.tmp"):  # a write cut short by a crash
            with contextlib.suppress(OSError):
                leftover.unlink()

    def _file(self, checkout_path: str) -> Path:
        digest = hashlib.sha256(checkout_path.encode("utf-8", "surrogatepass")).hexdigest()
        return self.directory / f"{digest}.json"

    def add(self, checkout_path: str) -> None:
        """Record a checkout; the record is complete on disk (written, synced, renamed) on return."""
        final = self._file(checkout_path)
        temp = final.with_name(f"{final.stem}-{secrets.token_hex(4)}.tmp")
        data = json.dumps({"checkoutPath": checkout_path, "created": time.time()}).encode()
        try:
            with open(temp, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, final)
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise

    def contains(self, checkout_path: str) -> bool:
        try:
            data = json.loads(self._file(checkout_path).read_bytes())
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as exc:
            _log.warning("unreadable checkout record for %r: %s", checkout_path[:200], exc)
            return False
        return isinstance(data, dict) and data.get("checkoutPath") == checkout_path

    def remove(self, checkout_path: str) -> None:
        self._file(checkout_path).unlink(missing_ok=True)
