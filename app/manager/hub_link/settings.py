"""Whether a Manager is a site of a hub, read from its flamenco-manager.yaml.

Three keys join a Manager to a hub: `hub_url` (the hub's address; only the hub needs one others
can reach), `hub_site` (this site's name at the hub) and `hub_token` (the join token
`tablao hub add-site NAME` printed). All three or none. With an https:// hub, `hub_fingerprint`
may pin its certificate (else the site pins what it sees on its first join: pinning.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.manager.settings.config import ConfigError

SITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_KEYS = ("hub_url", "hub_site", "hub_token")
#: Every key of the link; a change to any of them needs the Manager to start again.
LINK_KEYS = (*_KEYS, "hub_fingerprint")


@dataclass(frozen=True)
class HubLinkSettings:
    url: str
    site: str
    token: str
    fingerprint: str = ""  # the hub certificate's SHA-256 (hex), pinned by the admin; "" pins on first join

    @property
    def link_url(self) -> str:
        from app.manager.hub_link.protocol import LINK_PATH

        scheme = "wss" if self.url.startswith("https://") else "ws"
        rest = self.url.split("://", 1)[1].rstrip("/")
        return f"{scheme}://{rest}{LINK_PATH}"


def check_site_name(name: str) -> str:
    """`name` when it can name a site, else ValueError saying what a name looks like."""
    if not SITE_NAME.fullmatch(name or ""):
        raise ValueError(f"{name!r} cannot name a site: use 1 to 64 letters, digits, - and _, "
                         "starting with a letter or digit")
    return name


def hub_link_settings(extra: dict[str, Any], where: str = "flamenco-manager.yaml") -> HubLinkSettings | None:
    """The link's settings from a configuration's extra keys; None when the Manager is no site."""
    given = {key: extra.get(key) for key in _KEYS if extra.get(key) not in (None, "")}
    if not given:
        return None
    missing = [key for key in _KEYS if key not in given]
    if missing:
        raise ConfigError(f"{where}: a site of a hub needs hub_url, hub_site and hub_token; "
                          f"{', '.join(missing)} missing")
    url, site, token = (str(given[key]).strip() for key in _KEYS)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: hub_url {url!r} is not an http(s) address such as http://hub.example:8090/")
    try:
        check_site_name(site)
    except ValueError as exc:
        raise ConfigError(f"{where}: hub_site: {exc}") from None
    if not 16 <= len(token) <= 200 or any(c.isspace() for c in token):
        raise ConfigError(f"{where}: hub_token is not a join token; `tablao hub add-site {site}` on the hub "
                          "prints one")
    pin = str(extra.get("hub_fingerprint") or "").replace(":", "").strip().lower()
    if pin and not re.fullmatch(r"[0-9a-f]{64}", pin):
        raise ConfigError(f"{where}: hub_fingerprint is not a SHA-256 fingerprint (64 hex digits, colons allowed); "
                          "`tablao hub make-cert` prints it")
    return HubLinkSettings(url, site, token, pin)


def hub_link_restart(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """["hub link"] when a replaced configuration changes the link (the Manager builds it at start),
    else []; ConfigError when the new settings cannot be used, so they are refused before saving."""
    hub_link_settings(new, "the configuration")
    return ["hub link"] if any(old.get(key) != new.get(key) for key in LINK_KEYS) else []
