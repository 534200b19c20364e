"""What the wizard's pages share: the choices so far and the client of the Manager being set up."""

from __future__ import annotations

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
    applied: bool = False

    @property
    def sets_up_manager(self) -> bool:
        return self.role in ("manager", "both") and self.client is not None
