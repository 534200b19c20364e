"""Getting a worker known to its Manager: load or create credentials, register, sign on.

Network errors are retried with backoff (the Manager may start after the worker). When the Manager
rejects the saved credentials (401/403, e.g. its database was reset or the worker was deleted),
the worker registers anew with a fresh secret and saves the new credentials.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from app import __version__
from app.api.enums import WorkerStatus
from app.worker.backoff import Backoff
from app.worker.client import AuthRejected, ManagerRejected, ManagerUnreachable, WorkerClient, new_secret
from app.worker.config import Credentials, WorkerConfig, load_credentials, save_credentials

_log = logging.getLogger(__name__)

SOFTWARE_VERSION = f"Tablao {__version__}"

Sleep = Callable[[float], Awaitable[None]]


async def register(client: WorkerClient, config: WorkerConfig, backoff: Backoff, sleep: Sleep) -> Credentials:
    """Register a new worker (retrying network errors) and save its credentials."""
    while True:
        try:
            creds = await client.register(config.worker_name, config.task_types, new_secret())
        except ManagerUnreachable as exc:
            await sleep(backoff.failed(_log.warning, "cannot register at %s (%s)", config.manager_url, exc))
            continue
        except ManagerRejected as exc:
            await sleep(backoff.failed(_log.error, "manager refused registration: %s", exc))
            continue
        save_credentials(config.credentials_path, creds)
        _log.info("registered as worker %s at %s", creds.worker_id, config.manager_url)
        return creds


async def sign_on(
    client: WorkerClient, config: WorkerConfig, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep
) -> WorkerStatus:
    """Sign on (registering first if needed); return the status the Manager wants this worker in."""
    backoff = backoff or Backoff(0.5, 5.0)
    creds = load_credentials(config.credentials_path)
    fresh = creds is None
    if creds is None:
        _log.info("no worker credentials in %s; registering", config.credentials_path)
        creds = await register(client, config, backoff, sleep)
    client.credentials = creds
    while True:
        try:
            status = await client.sign_on(
                config.worker_name, config.task_types, SOFTWARE_VERSION, config.can_restart
            )
        except ManagerUnreachable as exc:
            await sleep(backoff.failed(_log.warning, "cannot sign on at %s (%s)", config.manager_url, exc))
            continue
        except AuthRejected:
            _log.warning(
                "manager does not accept credentials of worker %s; registering anew", creds.worker_id
            )
            if fresh:
                # Even brand-new credentials were refused: something is off at the Manager; don't spin.
                await sleep(backoff.next_delay())
            client.credentials = creds = await register(client, config, backoff, sleep)
            fresh = True
            continue
        except ManagerRejected as exc:
            await sleep(backoff.failed(_log.error, "manager refused sign-on: %s", exc))
            continue
        _log.info(
            "signed on as %r (%s); manager requests status %s", config.worker_name, creds.worker_id, status
        )
        return status
