"""A client's Manager credentials: the local Manager's admin token, and tokens remembered per Manager.

The Manager writes its admin token to `tablao-admin-token` beside its `flamenco-manager.yaml` (mode
0600); a client on the same machine reads it from there. A remote client asks the user once and
remembers the token per Manager URL: in the platform keyring when the optional `keyring` package is
installed and has a usable backend, otherwise in a 0600 JSON file in the user's config folder.
Admin tokens and submit tokens (what an artist's submissions carry so the scripts in their .blend
files may run, `submit_token_store()`) are kept apart, each kind under its own keyring service and file.
No Qt here: the dashboard, `farm` and scripts share it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from app.common.paths import config_dir

_log = logging.getLogger(__name__)

ADMIN_TOKEN_FILENAME = "tablao-admin-token"
ADMIN_TOKEN_HEADER = "X-Tablao-Admin-Token"
KEYRING_SERVICE = "tablao-manager-admin-token"
TOKENS_FILENAME = "manager-admin-tokens.json"
SUBMIT_KEYRING_SERVICE = "tablao-manager-submit-token"
SUBMIT_TOKENS_FILENAME = "manager-submit-tokens.json"


def read_local_admin_token(config_folder: Path | None = None) -> str | None:
    """The admin token of the Manager whose config lives in `config_folder` (default: this user's).

    None when there is no such file or it cannot be read (another user's Manager, for example).
    """
    path = (config_folder or config_dir()) / ADMIN_TOKEN_FILENAME
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return token or None


def manager_key(url: str) -> str:
    """The key a token is remembered under: scheme, host and port of the Manager's URL, lower case."""
    parts = urlsplit(url.strip() if "://" in url else "http://" + url.strip())
    scheme = (parts.scheme or "http").lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


class KeyringBackend(Protocol):
    """What we use of a `keyring` backend (`keyring.get_keyring()`)."""

    def get_password(self, service: str, username: str) -> str | None: ...
    def set_password(self, service: str, username: str, password: str) -> None: ...
    def delete_password(self, service: str, username: str) -> None: ...


def default_keyring() -> KeyringBackend | None:
    """The platform keyring when `keyring` is importable and has a real backend, else None."""
    try:
        import keyring  # optional dependency
    except ImportError:
        return None
    try:
        backend: KeyringBackend = keyring.get_keyring()
        if float(getattr(backend, "priority", 0)) <= 0:  # the `fail` and `null` backends
            return None
    except Exception as exc:  # noqa: BLE001 - a broken keyring setup means "no keyring"
        _log.debug("no usable keyring: %s", exc)
        return None
    return backend


_NO_KEYRING: Any = object()


def submit_token_store(keyring: KeyringBackend | None | Any = _NO_KEYRING) -> TokenStore:
    """The submit tokens an artist entered, per Manager (never mixed with admin tokens)."""
    return TokenStore(config_dir() / SUBMIT_TOKENS_FILENAME, keyring, service=SUBMIT_KEYRING_SERVICE)


class TokenStore:
    """Remember, recall and forget a token per Manager URL (admin tokens unless `service` says otherwise)."""

    def __init__(self, path: Path | None = None, keyring: KeyringBackend | None | Any = _NO_KEYRING,
                 service: str = KEYRING_SERVICE):
        self.path = path or config_dir() / TOKENS_FILENAME
        self.service = service
        self._keyring = default_keyring() if keyring is _NO_KEYRING else keyring

    @property
    def uses_keyring(self) -> bool:
        return self._keyring is not None

    def remember(self, url: str, token: str) -> None:
        key = manager_key(url)
        if self._keyring is not None:
            try:
                self._keyring.set_password(self.service, key, token)
                self._drop_from_file(key)
                return
            except Exception as exc:  # noqa: BLE001 - a locked or broken keyring: use the file
                _log.warning("cannot store the token in the keyring (%s); using %s", exc, self.path)
        tokens = self._read_file()
        tokens[key] = token
        self._write_file(tokens)

    def recall(self, url: str) -> str | None:
        key = manager_key(url)
        if self._keyring is not None:
            try:
                token = self._keyring.get_password(self.service, key)
                if token:
                    return token
            except Exception as exc:  # noqa: BLE001
                _log.warning("cannot read the keyring (%s); trying %s", exc, self.path)
        token = self._read_file().get(key)
        return token if isinstance(token, str) and token else None

    def forget(self, url: str) -> None:
        key = manager_key(url)
        if self._keyring is not None:
            with contextlib.suppress(Exception):  # nothing stored there is fine
                self._keyring.delete_password(self.service, key)
        self._drop_from_file(key)

    # --- the file fallback -----------------------------------------------------------------------
    def _drop_from_file(self, key: str) -> None:
        tokens = self._read_file()
        if tokens.pop(key, None) is not None:
            self._write_file(tokens)

    def _read_file(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            _log.warning("ignoring unreadable token file %s: %s", self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    def _write_file(self, tokens: dict[str, Any]) -> None:
        """Atomically, readable by this user only (mkstemp creates the file 0600)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tablao-tokens-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(tokens, fh, indent=1, sort_keys=True)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
