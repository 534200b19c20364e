"""The Manager's secret for worker keys, and the proofs it gives its workers (`app.common.manager_proof`).

The secret is made on first start and kept in `tablao-manager-secret` beside flamenco-manager.yaml
(mode 0600; never in the configuration, never logged). Every worker key is derived from it and the
worker's uuid, so nothing is stored per worker. Deleting the file (or moving the Manager without it)
makes a new secret: workers then cannot follow the Manager to a new address until they have signed
on to it at an address they were given (the key is renewed then). Keep it with the database.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

from app.common import manager_proof
from app.manager.credentials.secret_file import ensure_secret_file

_log = logging.getLogger(__name__)

SECRET_FILENAME = "tablao-manager-secret"


class WorkerKeys:
    """Derives each worker's key from the Manager's secret and answers proofs with it."""

    def __init__(self, secret: bytes):
        self._secret = secret

    @classmethod
    def kept_in(cls, config_folder: Path | None) -> WorkerKeys:
        """The keys from the secret file in `config_folder` (made first when missing).

        Without a folder, or when the file can be neither read nor written: a secret for this run
        only, with a warning, so workers registered now can prove this Manager until it restarts.
        """
        if config_folder is not None:
            path = config_folder / SECRET_FILENAME
            try:
                return cls(ensure_secret_file(path, "manager secret").encode())
            except OSError as exc:
                _log.warning("cannot read or write the manager secret file %s (%s); workers cannot "
                             "follow this manager to a new address after it restarts", path,
                             exc.strerror or exc)
        return cls(secrets.token_bytes(32))

    def key_for(self, worker_uuid: str) -> str:
        return manager_proof.worker_key(self._secret, worker_uuid)

    def prove(self, worker_uuid: str, nonce: str, host: str) -> str:
        return manager_proof.proof(self.key_for(worker_uuid), nonce, host)
