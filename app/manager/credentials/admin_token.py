"""The Manager's admin token: made on first start, kept beside flamenco-manager.yaml (mode 0600).

It is never part of the configuration (so never served by `GET /configuration/file`) and never
logged. Deleting the file and restarting the Manager makes a new one (and invalidates the old).
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.common.credentials import ADMIN_TOKEN_FILENAME
from app.manager.credentials.secret_file import ensure_secret_file

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
        return ensure_secret_file(path, "admin token")
    except OSError as exc:
        _log.warning("cannot read or write the admin token file %s (%s); admin operations are only "
                     "possible from this machine until that is fixed", path, exc.strerror or exc)
        return ""
