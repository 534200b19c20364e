"""Getting a worker known to its Manager: load or create credentials, register, sign on.

Network errors are retried with backoff (the Manager may start after the worker). When the Manager
rejects the saved credentials (401/403, e.g. its database was reset or the worker was deleted),
the worker registers anew with a fresh secret and saves the new credentials.

The credentials remember the address where the worker last signed on and the key its Manager
gave it (`app.common.manager_proof`). When the worker is now pointed elsewhere, the Manager there
must prove it is the same one before the credentials are sent; one that cannot is another Manager
(or an impostor): the worker registers there as a new worker instead of giving it the old
credentials. The key comes with registration, or, for a worker registered before Managers had
keys, with its next sign-on (trusted on first use, and said so in the log).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from app import __version__
from app.api.enums import WorkerStatus
from app.common.manager_proof import same_address
from app.worker.backoff import Backoff
from app.worker.client import AuthRejected, ManagerRejected, ManagerUnreachable, WorkerClient, new_secret
from app.worker.config import Credentials, WorkerConfig, load_credentials, save_credentials
from app.worker.facts import gather as gather_facts
from app.worker.manager_check import Verdict, check_manager

_log = logging.getLogger(__name__)

SOFTWARE_VERSION = f"Tablao {__version__}"

Sleep = Callable[[float], Awaitable[None]]


async def register(client: WorkerClient, config: WorkerConfig, backoff: Backoff, sleep: Sleep) -> Credentials:
    """Register a new worker (retrying network errors) and save its credentials."""
    while True:
        try:
            creds = await client.register(config.worker_name, config.task_types, new_secret())
        except ManagerUnreachable as exc:
            await sleep(backoff.failed(_log.warning, "cannot register at %s (%s)", client.base_url, exc))
            continue
        except ManagerRejected as exc:
            await sleep(backoff.failed(_log.error, "manager refused registration: %s", exc))
            continue
        save_credentials(config.credentials_path, creds)
        _log.info("registered as worker %s at %s", creds.worker_id, client.base_url)
        if not creds.manager_key:
            _log.info("the manager gave no key (a stock Flamenco manager): this worker will not follow it "
                      "to another address")
        return creds


async def trusted_here(url: str, creds: Credentials, backoff: Backoff, sleep: Sleep) -> bool:
    """May `creds` go to the Manager at `url`? Yes where they were last used, or where it proves itself."""
    if not creds.manager_url:
        return True  # saved before addresses were remembered: the configured address, as before
    if same_address(creds.manager_url, url):
        return True
    while True:
        verdict = await check_manager(url, creds)
        if verdict is Verdict.PROVEN:
            _log.info("the manager at %s proved it is the one this worker registered with (at %s)",
                      url, creds.manager_url)
            return True
        if verdict is not Verdict.UNREACHABLE:
            why = ("it cannot prove it" if verdict is Verdict.FAILED
                   else "this worker holds no key of its manager to check it with")
            _log.warning("the manager at %s may not be the one worker %s registered with at %s (%s); "
                         "registering there as a new worker instead of sending it the old credentials",
                         url, creds.worker_id, creds.manager_url, why)
            return False
        await sleep(backoff.failed(_log.warning, "cannot reach the manager at %s to check it", url))


def remember_manager(config: WorkerConfig, creds: Credentials, url: str, offered_key: str) -> Credentials:
    """The credentials with the address they were just accepted at and the key given there, saved if new."""
    key = creds.manager_key
    if offered_key and offered_key != key:
        if key:
            _log.warning("the manager at %s gave this worker a new key (its secret was made anew); "
                         "the old one no longer counts", url)
        else:
            _log.info("the manager at %s gave this worker its key (trusted on first use): from now on "
                      "a manager at another address must prove itself with it", url)
        key = offered_key
    updated = dataclasses.replace(creds, manager_key=key, manager_url=url)
    if updated != creds:
        save_credentials(config.credentials_path, updated)
    return updated


async def sign_on(
    client: WorkerClient, config: WorkerConfig, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep
) -> WorkerStatus:
    """Sign on (registering first if needed); return the status the Manager wants this worker in."""
    backoff = backoff or Backoff(0.5, 5.0)
    creds = load_credentials(config.credentials_path)
    if creds is None:
        _log.info("no worker credentials in %s; registering", config.credentials_path)
    elif not await trusted_here(client.base_url, creds, backoff, sleep):
        creds = None
    fresh = creds is None
    if creds is None:
        creds = await register(client, config, backoff, sleep)
    client.credentials = creds
    facts = await gather_facts(config.gpu_backends, config.blender_exe)
    while True:
        try:
            reply = await client.sign_on(
                config.worker_name, config.task_types, SOFTWARE_VERSION, config.can_restart, facts
            )
        except ManagerUnreachable as exc:
            await sleep(backoff.failed(_log.warning, "cannot sign on at %s (%s)", client.base_url, exc))
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
        client.credentials = creds = remember_manager(config, creds, client.base_url, reply.manager_key)
        _log.info(
            "signed on as %r (%s); manager requests status %s", config.worker_name, creds.worker_id, reply.status
        )
        return reply.status
