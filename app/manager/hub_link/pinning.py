"""Which certificate a site accepts from an HTTPS hub: the one pinned by its SHA-256 fingerprint.

The hub's certificate is self-made (`tablao hub make-cert`), so no authority vouches for it. The
site pins it instead: `hub_fingerprint` in its flamenco-manager.yaml when the admin copied it from
the hub, else the fingerprint it sees on its first join, written to `hub-fingerprint.txt` beside
its configuration. From then on the link and every file fetch accept only that certificate
(`aiohttp.Fingerprint`); a hub that shows another is refused, in words saying how to re-pin.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

_log = logging.getLogger(__name__)

PIN_FILENAME = "hub-fingerprint.txt"


async def shown_fingerprint(url: str, timeout_s: float = 30) -> str:
    """The SHA-256 (hex) of the certificate the https:// hub at `url` shows, read without trusting it
    (to pin it, or to show it for comparing with what `tablao hub make-cert` printed)."""
    parts = urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # only to read what it shows
    _reader, writer = await asyncio.wait_for(
        asyncio.open_connection(parts.hostname, parts.port or 443, ssl=context), timeout_s)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
    if not der:
        raise aiohttp.ClientError("the hub showed no certificate to pin")
    return hashlib.sha256(der).hexdigest()


class HubPin:
    def __init__(self, url: str, given: str = "", folder: Path | None = None):
        self.https = url.startswith("https://")
        self.url = url
        self.file = folder / PIN_FILENAME if folder is not None else None
        self.pin = given or self._read()

    def _read(self) -> str:
        if self.file is not None and self.file.exists():
            return self.file.read_text(encoding="ascii").strip().lower()
        return ""

    @property
    def ssl(self) -> aiohttp.Fingerprint | bool:
        """What aiohttp takes as `ssl=`: the pinned fingerprint for an HTTPS hub, True for plain HTTP."""
        if not self.https:
            return True
        assert self.pin, "call ensure() first"
        return aiohttp.Fingerprint(bytes.fromhex(self.pin))

    async def ensure(self) -> None:
        """Pin the hub's certificate on the first join (trust on first use), when nothing is pinned yet."""
        if not self.https or self.pin:
            return
        self.pin = await shown_fingerprint(self.url)
        if self.file is not None:
            self.file.write_text(self.pin + "\n", encoding="ascii")
        _log.warning("pinned the hub's certificate on first join: SHA-256 %s (kept in %s); compare it with "
                     "what `tablao hub make-cert` printed", self.pin, self.file or "memory")

    def mismatch_words(self) -> str:
        where = f"delete {self.file}" if self.file is not None else "change hub_fingerprint"
        return (f"the hub's certificate is not the one this site pinned (SHA-256 {self.pin}); if the hub's "
                f"certificate was replaced on purpose, {where} to pin the new one on the next join")
