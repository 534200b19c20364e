"""A secret the Manager keeps in a file of its own beside flamenco-manager.yaml, readable by its user only.

Made on first use (written to a temporary file created 0600, then renamed into place, so it is never
readable by others, not even briefly), read back on every start, and set back to 0600 when someone
loosened its mode. The admin token and the Manager's secret for worker keys are such files.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

_log = logging.getLogger(__name__)


def ensure_secret_file(path: Path, what: str) -> str:
    """The secret in `path`, created first when missing or empty. Raises OSError when it can be neither."""
    secret = _read(path)
    if secret:
        _tighten(path, what)
        return secret
    return _create(path, what)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        return ""  # not ours: replaced below


def _create(path: Path, what: str) -> str:
    secret = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secret + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _log.info("created the %s in %s", what, path)
    return secret


def _tighten(path: Path, what: str) -> None:
    """Make a file that someone loosened readable by this user only again (POSIX)."""
    if os.name != "posix":
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        _log.warning("the %s file %s was readable by others (mode %o); setting it to 0600", what, path, mode)
        os.chmod(path, 0o600)
