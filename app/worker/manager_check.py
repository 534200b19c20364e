"""Is the Manager at this address the one this worker registered with? Asked before credentials go there.

A worker sends its HTTP Basic credentials with every request, and runs what its Manager hands out,
so it must not send them to, or take work from, a Manager it cannot recognise. Where the worker has
not used an address with its Manager before (the Manager was found again on the network, the tray
followed it, or the configured address changed), it challenges the candidate first
(`app.common.manager_proof`): its uuid and a fresh nonce, sent WITHOUT credentials and without
following redirects (a redirect to the real Manager would otherwise answer for the impostor).
Only an answer computed with this worker's key counts.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from app.api.errors import ContractError, ManagerUnreachable
from app.api.models import TablaoManagerChallenge
from app.api.transport import Transport
from app.common import manager_proof
from app.worker.config import Credentials

_log = logging.getLogger(__name__)


class Verdict(StrEnum):
    PROVEN = "proven"             # the answer was made with this worker's key, for this address
    FAILED = "failed"             # it answered, but not with the proof: another Manager, or an impostor
    UNREACHABLE = "unreachable"   # no answer: ask again later
    NO_KEY = "no-key"             # this worker holds no key of its Manager: nothing can be proven


async def check_manager(url: str, credentials: Credentials | None, timeout_s: float = 5.0) -> Verdict:
    """Challenge the Manager at `url` with this worker's key; never sends the credentials."""
    if credentials is None or not credentials.manager_key:
        return Verdict.NO_KEY
    nonce, host = manager_proof.new_nonce(), manager_proof.host_of(url)
    async with Transport(url, timeout_s=timeout_s) as transport:
        try:
            # The Host header is set explicitly so both sides bind the proof to the same text.
            reply = await transport.send("POST", manager_proof.PROVE_PATH, headers={"Host": host},
                                         json_body=TablaoManagerChallenge(credentials.worker_id, nonce).to_json(),
                                         follow_redirects=False)
        except ManagerUnreachable as exc:
            _log.debug("%s does not answer the challenge: %s", url, exc)
            return Verdict.UNREACHABLE
        except ContractError:
            return Verdict.FAILED  # garbage where a proof belongs
    if reply.status >= 500:
        return Verdict.UNREACHABLE
    given = reply.body.get("proof") if reply.status == 200 and isinstance(reply.body, dict) else None
    expected = manager_proof.proof(credentials.manager_key, nonce, host)
    return Verdict.PROVEN if manager_proof.matches(given, expected) else Verdict.FAILED


async def recognised(url: str, credentials: Credentials | None) -> bool:
    """True when credentials may go to `url`: it proved to be this worker's Manager, or the worker
    has none yet (it has not registered: nothing to give away). A Manager that cannot prove itself
    is logged once here and ignored."""
    if credentials is None:
        return True
    verdict = await check_manager(url, credentials)
    if verdict is Verdict.PROVEN:
        return True
    if verdict is Verdict.NO_KEY:
        _log.warning("not sending this worker's credentials to %s: it holds no key to check that is its "
                     "own manager (a Tablao manager gives one at sign-on; a stock Flamenco one gives none)",
                     url)
    elif verdict is Verdict.FAILED:
        _log.warning("ignoring the manager at %s: it cannot prove it is the one worker %s registered with",
                     url, credentials.worker_id)
    else:
        _log.info("the manager at %s did not answer the challenge; trying again later", url)
    return False
