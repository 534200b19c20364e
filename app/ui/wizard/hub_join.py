"""What the wizard's hub step does with the Manager and the hub (no Qt): read the Manager's hub
settings, write changed ones with its configuration (the Manager restarts in place to open its
link), and wait until the hub says this site is online.

The settings go through the Manager's own configuration route, so they are checked as the Manager
reads them (`hub_link_settings`) and saved with the rest of flamenco-manager.yaml.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from app.api.client import ManagerClient
from app.api.transport import plain_session
from app.manager.hub_link.settings import LINK_KEYS

SITES_PATH = "/api/v3/tablao/hub/sites"


async def current_hub_values(client: ManagerClient) -> dict[str, str]:
    """The Manager's hub settings now ("" for each one not set)."""
    config = await client.configuration_file()
    return {key: str(config.get(key) or "") for key in LINK_KEYS}


async def apply_hub_values(client: ManagerClient, values: dict[str, str]) -> bool:
    """Save the hub settings into the Manager's configuration (all empty: leave the hub); False when
    they were already so (nothing saved, no restart)."""
    config = await client.configuration_file()
    if all(str(config.get(key) or "") == (values.get(key) or "") for key in LINK_KEYS):
        return False
    for key in LINK_KEYS:
        if values.get(key):
            config[key] = values[key]
        else:
            config.pop(key, None)
    await client.set_configuration_file(config)
    return True


async def wait_until_online(url: str, site: str, fingerprint: str = "", timeout_s: float = 45.0) -> str:
    """Wait until the hub at `url` lists `site` online; "" then, else what the hub (or the way to it)
    last said. An https:// hub is asked only when it shows the pinned certificate."""
    ssl: Any = aiohttp.Fingerprint(bytes.fromhex(fingerprint)) if url.startswith("https://") and fingerprint \
        else None
    said = "the hub did not answer"
    deadline = time.monotonic() + timeout_s
    async with plain_session(connect_timeout_s=5, read_timeout_s=10) as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url.rstrip("/") + SITES_PATH, ssl=ssl) as resp:
                    sites = (await resp.json()).get("sites") or [] if resp.status == 200 else []
                    mine = next((s for s in sites if s.get("name") == site), None)
                    if mine is not None and mine.get("online"):
                        return ""
                    said = str(mine.get("state")) if mine else f"the hub does not know site {site}"
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                said = str(exc) or type(exc).__name__
            await asyncio.sleep(0.5)
    return said


class HubNotJoined(Exception):
    """The settings are saved, but the hub has not heard from this site (the Manager keeps trying)."""


async def join_hub(client: ManagerClient, values: dict[str, str] | None) -> None:
    """Apply the hub page's choice: save changed settings, then wait until the hub lists this site
    online (HubNotJoined with the hub's words when it does not within the wait). None: the page was
    not passed (a Worker-only setup), nothing changes."""
    if values is None:
        return
    changed = await apply_hub_values(client, values)
    if not values.get("hub_url"):
        return
    if changed:
        await asyncio.sleep(1.0)  # the Manager restarts in place 0.5 s after its answer: let it go down first
    said = await wait_until_online(values["hub_url"], values["hub_site"], values.get("hub_fingerprint", ""))
    if said:
        raise HubNotJoined(f"the settings are saved, but the hub has not heard from this site yet ({said}); "
                           "the Manager keeps trying. Check the join token and the hub's address")


def hub_row(values: dict[str, str] | None) -> str:
    """The review's line for the hub page's choice."""
    if not values or not values.get("hub_url"):
        return "no: this Manager stands alone"
    pinned = " (its certificate pinned)" if values.get("hub_fingerprint") else ""
    return f"site {values['hub_site']} of the hub at {values['hub_url']}{pinned}"
