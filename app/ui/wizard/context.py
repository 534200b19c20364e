"""What the wizard's pages share: the choices so far and the client of the Manager being set up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from app.api.client import ManagerClient


@dataclass
class WizardContext:
    """`client` talks to the Manager being set up (the local one); None for a Worker-only setup."""

    client: ManagerClient | None
    role: str = "manager"
    manager_url: str = ""
    manager_found_by: str = ""  # "discovery" or "typed"
    storage_path: str = ""
    storage_report: dict[str, Any] = field(default_factory=dict)
    shaman: bool = False
    blender: dict[str, Any] = field(default_factory=dict)   # a check result: input, path, source, cause
    variables: dict[str, dict[str, str]] = field(default_factory=dict)  # name → platform → value
    allow_blend_scripts: bool = False  # may the scripts inside .blend files run (for token holders)?
    submit_token: str = ""  # the token those jobs carry; the Manager's current one when reopened
    listen_host: str = ""   # the host of the Manager's `listen` ("" = every network interface)
    listen_port: int = 8080  # the port other computers will reach it on (asked on the network page)
    listen_given: str = ""  # `--listen` from the command line: the wizard does not ask then
    current_port: int = 0   # the port the Manager listens on for other computers now (reopened wizard)
    # Moves the Manager being set up to `listen_port` after Apply (the desktop app's; it replaces
    # `client` and sets `public_url`); None: the Manager stays where it is (tests, tools).
    relisten: Callable[[int], Awaitable[None]] | None = None
    #: The hub this Manager joins as a site (hub_url, hub_site, hub_token, hub_fingerprint; all empty:
    #: none), from the hub page; None until that page was passed, so Apply leaves the settings alone.
    hub: dict[str, str] | None = None
    public_url: str = ""    # where other computers reach it once applied (the add-on's address)
    applied: bool = False

    @property
    def sets_up_manager(self) -> bool:
        return self.role in ("manager", "both") and self.client is not None

    @property
    def manager_address(self) -> str:
        """The URL other computers use for the Manager (known for certain once applied)."""
        return self.public_url or (self.client.base_url.rstrip("/") + "/" if self.client is not None else "")
