"""`SettingsService`: the Manager's configuration as clients read and change it through the API.

It owns replacing the whole configuration (`PUT /configuration/file`), replacing the variables
(`PUT /tablao/variables`) and saving the setup assistant's choices. A change is validated first
(nothing changes when it is refused), saved to the config file, applied to what can change while
the Manager runs (through the `live` appliers the composition root gives it), and announced as
`config_did_change`. The setup assistant's choices need a new start: saving them sets
`restart_requested`, which the running `ManagerService` turns into a restart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import Any

from app.api.errors import BadRequest
from app.api.events import ConfigUpdate
from app.api.meta import SetupAssistantConfig, TablaoVariables
from app.common import events as ev
from app.manager.checks.blender_check import setup_choice
from app.manager.checks.storage_check import check_storage
from app.manager.hub_link.settings import hub_link_restart
from app.manager.scheduling import fair_share
from app.manager.settings.config import (
    ConfigError,
    ManagerConfig,
    check_submit_token,
    config_from_dict,
    save_config,
)
from app.manager.settings.variables import Variables

_log = logging.getLogger(__name__)

#: Config keys `replace` copies over; `listen`, `database` and the storage keys take effect at the
#: next start, the others at once (through the live appliers).
REPLACEABLE_KEYS = (
    "manager_name", "task_timeout", "worker_timeout", "blocklist_threshold",
    "task_fail_after_softfail_count", "access_token", "variables", "extra", "listen",
    "database", "local_manager_storage_path", "shared_storage_path", "shaman_enabled",
    "shaman_gc_period", "shaman_gc_max_age", "shaman_link_mode", "shaman_stale_upload_age",
    "database_check_period", "autodiscoverable", "autodiscovery_port", "trust_local_requests",
    "allowed_hosts", "allowed_origins", "allow_blend_scripts", "submit_token", "output_roots",
    *fair_share.CONFIG_KEYS,
)

#: Keys whose new value needs the Manager to start again (it does, in place).
RESTART_KEYS = ("listen", "database", "local_manager_storage_path", "shared_storage_path", "shaman_enabled",
                "autodiscoverable", "autodiscovery_port")

LiveApplier = Callable[[ManagerConfig], None]


class SettingsService:
    """The running configuration, its variables, and the ways the API may change them."""

    def __init__(self, config: ManagerConfig, variables: Variables, bus: ev.EventBus, *,
                 shaman_available: bool = False, live: Sequence[LiveApplier] = ()):
        self.config, self.variables, self._bus = config, variables, bus
        self.shaman_available = shaman_available
        self._live = list(live)
        self.restart_requested = asyncio.Event()

    def add_live_applier(self, apply: LiveApplier) -> None:
        """Call `apply(config)` after every accepted replacement (timeouts, failure policy...)."""
        self._live.append(apply)

    async def update_variables(self, new: TablaoVariables) -> None:
        """Validate and apply new variables (decoded by their request model), then save them to the
        config file."""
        definitions = {name: variable.to_json() for name, variable in new.variables.items()}
        self.variables.update_from_api(definitions)  # raises InvalidVariables (400) first
        self.config.variables = self.variables.to_yaml_dict()
        await self._save(self.config)
        self._announce()

    async def replace(self, raw: dict[str, Any]) -> None:
        """Validate a whole new config (as JSON), save it, and apply what can change live.

        Variables, timeouts and failure thresholds apply at once. A change to the listen address, the
        database, the storage folders or Shaman restarts the Manager in place (no program restart),
        right after the answer. Nothing is changed when validation fails.
        """
        try:
            new = config_from_dict(raw, self.config.path)
            link_restart = hub_link_restart(self.config.extra, new.extra)  # a site's link to its hub
        except ConfigError as exc:
            raise BadRequest(str(exc).split(": ", 1)[-1]) from None
        self.variables.update_from_api(new.variables)  # raises InvalidVariables (400) first
        needs_restart = [k for k in RESTART_KEYS if getattr(new, k) != getattr(self.config, k)] + link_restart
        for key in REPLACEABLE_KEYS:
            setattr(self.config, key, getattr(new, key))
        for apply in self._live:
            apply(self.config)
        await self._save(self.config)
        self._announce()
        if needs_restart and self.config.path is not None:
            _log.info("restarting in place for the new %s", ", ".join(needs_restart))
            asyncio.get_running_loop().call_later(0.3, self.restart_requested.set)  # after the answer

    async def save_setup(self, body: SetupAssistantConfig) -> None:
        """The setup assistant's choices: shared storage and Blender. Saved, then a restart.

        Both are checked as their check endpoints check them; what a check refuses is a 400 with
        its cause, and nothing is saved. Tablao's optional additions: `shamanEnabled`, and whether
        scripts inside .blend files may run (`allowBlendScripts`) for jobs sent with `submitToken`.
        """
        storage, blender = body.storage_location, body.blender_executable
        shaman = self.config.shaman_enabled if body.shaman_enabled is None else body.shaman_enabled
        allow_scripts, submit_token = _scripts_choice(body, self.config)
        report = await asyncio.to_thread(check_storage, storage, shaman, protected_dirs=self.config.own_dirs)
        if not report.is_usable:
            raise BadRequest(f"the shared storage cannot be used: {report.cause}")
        command = await setup_choice(blender)
        if self.config.path is None:
            raise BadRequest("this Manager runs without a config file; nothing to save the setup to")
        # Written to disk only: the running Manager keeps its config until the restart reads it.
        variables = {
            **self.config.variables,
            "blender": {"values": [{"platform": p, "value": command} for p in ("linux", "windows", "darwin")]},
            "blenderArgs": {"values": [{"platform": "all", "value": "-b -y"}]},
        }
        new = dataclasses.replace(self.config, shared_storage_path=report.path, shaman_enabled=shaman,
                                  allow_blend_scripts=allow_scripts, submit_token=submit_token,
                                  variables=variables)
        await asyncio.to_thread(save_config, new)
        # These two are read per request, so they apply at once; and a save of the running config
        # before the restart (the wizard sends its variables right after) must not undo them.
        self.config.allow_blend_scripts, self.config.submit_token = allow_scripts, submit_token
        _log.info("saved the setup assistant's choices (shared storage %s); restarting", report.path)
        self.restart_requested.set()

    async def _save(self, config: ManagerConfig) -> None:
        if config.path is not None:
            await asyncio.to_thread(save_config, config)

    def _announce(self) -> None:
        self._bus.emit(ConfigUpdate(variables=self.config.variables))


def _scripts_choice(body: SetupAssistantConfig, config: ManagerConfig) -> tuple[bool, str]:
    """The setup assistant's `allowBlendScripts` and `submitToken` (each kept as is when left out)."""
    allow = config.allow_blend_scripts if body.allow_blend_scripts is None else body.allow_blend_scripts
    token = config.submit_token if body.submit_token is None else body.submit_token
    try:
        return allow, check_submit_token(token)
    except ValueError as exc:
        raise BadRequest(f"`submitToken`: {exc}") from None
