"""The Manager's admin token: made on first start, kept beside flamenco-manager.yaml (mode 0600).

It is never part of the configuration (so never served by `GET /configuration/file`) and never
logged. Deleting the file and restarting the Manager makes a new one (and invalidates the old).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from app.common.credentials import ADMIN_TOKEN_FILENAME

_log = logging.getLogger(__name__)


def admin_token_path(config_folder: Path) -> Path:
    return config_folder / ADMIN_TOKEN_FILENAME


def ensure_admin_token(config_folder: Path) -> str:
    """The token in `config_folder`, created first when missing or empty.

    Returns "" (no remote admin; local trust still works) when the file can be neither read nor
    written, with a warning that says which file.
    """
    path = admin_token_path(config_folder)
    try:
        token = _read(path)
        if token:
            _tighten(path)
            return token
        return _create(path)
    except OSError as exc:
        _log.warning("cannot read or write the admin token file %s (%s); admin operations are only "
                     "possible from this machine until that is fixed", path, exc.strerror or exc)
        return ""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        return ""  # not ours: replaced below


def _create(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(token + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _log.info("created the admin token in %s", path)
    return token


def _tighten(path: Path) -> None:
    """Make a token file that someone loosened readable by this user only again (POSIX)."""
    if os.name != "posix":
        return
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        _log.warning("the admin token file %s was readable by others (mode %o); setting it to 0600",
                     path, mode)
        os.chmod(path, 0o600)
