"""`ManagerConfig`: defaults in code, overlaid by a flamenco-manager.yaml-style file, then CLI flags.

The file layout is Flamenco's (`_meta.version: 3`), so an existing flamenco-manager.yaml loads.
Tablao-only keys are optional additions. Relative paths resolve against the config file's folder.
A missing file is written with defaults on first start; a broken one raises `ConfigError` with a
message saying what to fix (the CLI prints it without a traceback).
"""

from __future__ import annotations

import copy
import logging
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.api.limits import is_whole
from app.common.durations import format_duration, parse_duration
from app.common.paths import config_dir, current_platform
from app.manager.scheduling import fair_share
from app.shaman.config import LinkMode

_log = logging.getLogger(__name__)

CONFIG_FILENAME = "flamenco-manager.yaml"
CONFIG_VERSION = 3


class ConfigError(Exception):
    """The config file cannot be used; the message says which file, which key and what to do."""


def default_variables() -> dict[str, Any]:
    return {
        "blender": {
            "values": [
                {"platform": "linux", "value": "blender"},
                {"platform": "windows", "value": "blender.exe"},
                {"platform": "darwin", "value": "blender"},
            ]
        },
        "blenderArgs": {"values": [{"platform": "all", "value": "-b -y"}]},
    }


@dataclass
class ManagerConfig:
    manager_name: str = "Tablao"
    database: str = "tablao-manager.sqlite"
    database_check_period: float = 600.0
    listen: str = ":8080"
    autodiscoverable: bool = False
    # Tablao addition: the UDP port the SSDP answers listen on. Stock workers search on 1900 only;
    # another port serves Tablao workers that name it in `discovery_targets` (and tests).
    autodiscovery_port: int = 1900
    local_manager_storage_path: str = "tablao-manager-storage"
    shared_storage_path: str = ""
    shaman_enabled: bool = current_platform() != "windows"
    shaman_gc_period: float = 24 * 3600.0
    shaman_gc_max_age: float = 744 * 3600.0
    # Tablao additions to the `shaman:` section (written only when not the default).
    shaman_link_mode: str = "auto"  # auto | symlink | hardlink | copy
    shaman_stale_upload_age: float = 6 * 3600.0
    task_timeout: float = 600.0
    worker_timeout: float = 60.0
    blocklist_threshold: int = 3
    task_fail_after_softfail_count: int = 3
    variables: dict[str, Any] = field(default_factory=default_variables)
    # Tablao additions.
    access_token: str = ""
    # Requests from this machine (TCP peer 127.0.0.0/8 or ::1, and no proxy headers) count as admin,
    # without the admin token. Off by default: the desktop app reads the admin token from its file.
    trust_local_requests: bool = False
    # Names this Manager answers to besides its own host names and addresses (DNS aliases, the name
    # a reverse proxy forwards with); "*" turns the Host check off. See app/manager/web/request_guard.py.
    allowed_hosts: list[str] = field(default_factory=list)
    # Web page origins (scheme://host:port) other than the Manager's own that may call it.
    allowed_origins: list[str] = field(default_factory=list)
    # Folders (variables allowed) besides the shared storage that jobs may write their output to;
    # empty means the two-way variables' values. See app/manager/jobs/output_roots.py.
    output_roots: list[str] = field(default_factory=list)
    # May Blender on the workers run Python stored inside a job's .blend file (auto-run scripts,
    # Python drivers)? Only ever for jobs submitted with a credential: the access token, the submit
    # token or the admin token. Off: every worker renders with Blender's auto-run switched off.
    allow_blend_scripts: bool = False
    # A token artists put in their add-on so their jobs count as submitted with a credential (and
    # so may run the scripts in their .blend files when `allow_blend_scripts` is on). "" is none.
    submit_token: str = ""
    task_log_max_bytes: int = 10 * 1024 * 1024
    # Bounds on HTTP connections (see app/manager/web/connection_guard.py). A connection idle
    # between requests closes after `http_idle_timeout`; one whose request headers take longer than
    # `http_header_timeout`, or whose body stops arriving for `http_body_timeout`, is closed (0 turns
    # either off). A handler at work (a worker's long-poll, the event stream) is never idle.
    # `http_max_connections` 0 means all file descriptors but a reserve for files and the database.
    http_idle_timeout: float = 75.0
    http_header_timeout: float = 30.0
    http_body_timeout: float = 60.0
    http_max_connections: int = 0
    # The event websocket: bytes of events queued for one client before it is disconnected, and
    # the ping interval after which a client that does not answer is dropped.
    events_max_queued_bytes: int = 8 * 1024 * 1024
    events_heartbeat: float = 20.0
    # The largest last-rendered image a worker may send, in pixels (width x height): bigger ones get
    # 413 before anything is decoded. 40 megapixels admits an 8K frame (7680x4320 is 33.2).
    last_rendered_max_pixels: int = 40_000_000
    # Who gets the next task among jobs of equal priority: "priority" (the oldest job) or "fair-share"
    # (the submitter, metadata `fair_share_by`, furthest below its weighted share); see
    # app/manager/scheduling/fair_share.py. Written only when not the default.
    scheduler_policy: str = "priority"
    fair_share_by: str = "user.name"
    fair_share_weights: dict[str, float] = field(default_factory=dict)
    # Where this config was read from; relative paths resolve against its folder.
    path: Path | None = None
    # The address given on the command line (`--listen`) or by the desktop app for this run only: it
    # wins over `listen` but is never written to the file, so a save keeps the file's own address.
    listen_override: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    # --- derived locations -------------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    @property
    def database_url(self) -> str:
        """A peewee `db_url` style URL; a plain path means SQLite."""
        if "://" in self.database:
            return self.database
        return "sqlite:///" + str(self.resolve(self.database))

    @property
    def storage_dir(self) -> Path:
        return self.resolve(self.local_manager_storage_path)

    @property
    def scripts_dir(self) -> Path:
        return self.base_dir / "scripts"

    @property
    def own_dirs(self) -> list[str]:
        """Folders the Manager itself owns; none of them may become the shared storage."""
        program = Path(__file__).resolve().parents[3]  # the folder holding the `app` package
        return [str(program), str(self.base_dir), str(self.storage_dir)]

    @property
    def is_first_run(self) -> bool:
        return not self.shared_storage_path

    @property
    def effective_listen(self) -> str:
        """Where this run listens: the override when there is one, else the file's `listen`."""
        return self.listen_override or self.listen

    def listen_host_port(self) -> tuple[str, int]:
        return parse_listen(self.effective_listen)


def parse_listen(listen: str) -> tuple[str, int]:
    """`:8080` → ("0.0.0.0", 8080); `127.0.0.1:0` → ("127.0.0.1", 0). Raises ConfigError."""
    host, sep, port = listen.rpartition(":")
    if not sep:
        host, port = "", listen
    try:
        port_no = int(port)
    except ValueError:
        raise ConfigError(
            f"listen: {listen!r} is not HOST:PORT (for example :8080 or 127.0.0.1:8080)") from None
    if not 0 <= port_no <= 65535:
        raise ConfigError(f"listen: port {port_no} is out of range 0-65535")
    return (host.strip("[]") or "0.0.0.0"), port_no


# --- reading ---------------------------------------------------------------------------------
_DURATIONS = {"database_check_period", "task_timeout", "worker_timeout", "http_idle_timeout",
              "http_header_timeout", "http_body_timeout", "events_heartbeat"}
_INTS = {"blocklist_threshold", "task_fail_after_softfail_count", "task_log_max_bytes",
         "http_max_connections", "events_max_queued_bytes", "last_rendered_max_pixels"}
_POSITIVE_INTS = {"last_rendered_max_pixels"}
# Tablao additions written to the file only when they differ from the default.
_OPTIONAL_DURATIONS = ("http_idle_timeout", "http_header_timeout", "http_body_timeout", "events_heartbeat")
_OPTIONAL_INTS = ("task_log_max_bytes", "http_max_connections", "events_max_queued_bytes",
                  "last_rendered_max_pixels", "autodiscovery_port")
_STR_LISTS = ("allowed_hosts", "allowed_origins", "output_roots")
# Tablao additions that are true or false, written only when true.
_BOOLS = ("trust_local_requests", "allow_blend_scripts")
_STRS = {"manager_name", "database", "listen", "local_manager_storage_path",
         "shared_storage_path", "access_token", "submit_token"}


def default_config_path() -> Path:
    return config_dir() / CONFIG_FILENAME


def load_config(path: Path, write_if_missing: bool = True) -> ManagerConfig:
    """Load `path` over the defaults. Writes a default file when it is missing."""
    if not path.exists():
        cfg = ManagerConfig(path=path)
        if write_if_missing:
            save_config(cfg)
            _log.info("wrote default config to %s", path)
        return cfg
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" near line {where.line + 1}" if where else ""
        raise ConfigError(
            f"{path}: not valid YAML{line}. Fix the file or delete it to get defaults.") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it ({exc.strerror}).") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level.")
    return config_from_dict(raw, path)


def config_from_dict(raw: dict[str, Any], path: Path | None) -> ManagerConfig:
    version = (raw.get("_meta") or {}).get("version") if isinstance(raw.get("_meta"), dict) else None
    if version != CONFIG_VERSION:
        raise ConfigError(
            f"{path}: `_meta: {{version: {CONFIG_VERSION}}}` is required (found {version!r}). "
            "Add it at the top of the file."
        )
    cfg = ManagerConfig(path=path)
    for key, value in raw.items():
        if key == "_meta":
            continue
        try:
            _apply_key(cfg, key, value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: setting `{key}`: {exc}") from exc
    cfg.listen_host_port()  # validate early
    return cfg


def _apply_key(cfg: ManagerConfig, key: str, value: Any) -> None:
    if key in _DURATIONS:
        setattr(cfg, key, parse_duration(value))
    elif key in _INTS:
        least = 1 if key in _POSITIVE_INTS else 0
        if not is_whole(value) or value < least:
            raise ValueError(f"expected a whole number >= {least}, got {value!r}")
        setattr(cfg, key, value)
    elif key in _CHECKED:
        setattr(cfg, key, _CHECKED[key](value))
    elif key in _STRS:
        setattr(cfg, key, "" if value is None else str(value))
    elif key == "autodiscoverable":
        cfg.autodiscoverable = bool(value)
    elif key == "autodiscovery_port":
        if not is_whole(value) or not 0 <= value <= 65535:
            raise ValueError(f"expected a UDP port 0-65535 (1900 is the one stock workers search), got {value!r}")
        cfg.autodiscovery_port = value
    elif key in _BOOLS:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        setattr(cfg, key, value)
    elif key in _STR_LISTS:
        setattr(cfg, key, _str_list(value))
    elif key == "variables":
        if not isinstance(value, dict):
            raise ValueError("expected a mapping of variable names")
        cfg.variables = value
    elif key == "shaman":
        _apply_shaman(cfg, value or {})
    else:
        cfg.extra[key] = value  # kept and written back (mqtt, future keys)


# Keys whose value a function checks and gives back as it is kept.
_CHECKED: dict[str, Callable[[Any], Any]] = {
    "submit_token": lambda value: check_submit_token("" if value is None else str(value)),
    **fair_share.CONFIG_KEYS,
}
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9._~+/=-]{16,200}")


def check_submit_token(token: str) -> str:
    """`token` when it can be a submit token ("" is none), else ValueError saying what one looks like.

    It travels as `Authorization: Bearer <token>` (RFC 6750's characters, no spaces) and lets whoever
    holds it run Python on every worker when scripts are allowed: long enough not to be guessed."""
    token = token.strip()
    if token and not _TOKEN_CHARS.fullmatch(token):
        raise ValueError("a submit token is 16 to 200 letters, digits and - . _ ~ + / = (no spaces); "
                         "the setup assistant makes one")
    return token


def _str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of names, got {value!r}")
    if len(value) > 256 or any(len(v) > 255 for v in value):
        raise ValueError("expected at most 256 names of at most 255 characters")
    return [v.strip() for v in value if v.strip()]


def _apply_shaman(cfg: ManagerConfig, value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError("expected a mapping with `enabled` and `garbageCollect`")
    if "enabled" in value:
        cfg.shaman_enabled = bool(value["enabled"])
    gc = value.get("garbageCollect") or {}
    if "period" in gc:
        cfg.shaman_gc_period = parse_duration(gc["period"])
    if "maxAge" in gc:
        cfg.shaman_gc_max_age = parse_duration(gc["maxAge"])
    if "linkMode" in value:
        modes = [mode.value for mode in LinkMode]
        mode = str(value["linkMode"]).lower()
        if mode not in modes:
            raise ValueError(f"linkMode must be one of {', '.join(modes)}, got {value['linkMode']!r}")
        cfg.shaman_link_mode = mode
    if "staleUploadAge" in value:
        cfg.shaman_stale_upload_age = parse_duration(value["staleUploadAge"])


# --- writing ---------------------------------------------------------------------------------
def config_to_dict(cfg: ManagerConfig) -> dict[str, Any]:
    out: dict[str, Any] = {
        "_meta": {"version": CONFIG_VERSION},
        "manager_name": cfg.manager_name,
        "database": cfg.database,
        "database_check_period": format_duration(cfg.database_check_period),
        "listen": cfg.listen,
        "autodiscoverable": cfg.autodiscoverable,
        "local_manager_storage_path": cfg.local_manager_storage_path,
        "shared_storage_path": cfg.shared_storage_path,
        "shaman": {
            "enabled": cfg.shaman_enabled,
            "garbageCollect": {
                "period": format_duration(cfg.shaman_gc_period),
                "maxAge": format_duration(cfg.shaman_gc_max_age),
            },
        },
        "task_timeout": format_duration(cfg.task_timeout),
        "worker_timeout": format_duration(cfg.worker_timeout),
        "blocklist_threshold": cfg.blocklist_threshold,
        "task_fail_after_softfail_count": cfg.task_fail_after_softfail_count,
        "variables": copy.deepcopy(cfg.variables),
    }
    if cfg.shaman_link_mode != ManagerConfig.shaman_link_mode:
        out["shaman"]["linkMode"] = cfg.shaman_link_mode
    if cfg.shaman_stale_upload_age != ManagerConfig.shaman_stale_upload_age:
        out["shaman"]["staleUploadAge"] = format_duration(cfg.shaman_stale_upload_age)
    if cfg.access_token:
        out["access_token"] = cfg.access_token
    for key in _BOOLS:
        if getattr(cfg, key):
            out[key] = True
    if cfg.submit_token:
        out["submit_token"] = cfg.submit_token
    for key in _STR_LISTS:
        if getattr(cfg, key):
            out[key] = list(getattr(cfg, key))
    if cfg.task_log_max_bytes != ManagerConfig.task_log_max_bytes:
        out["task_log_max_bytes"] = cfg.task_log_max_bytes
    for key in _OPTIONAL_INTS:
        if getattr(cfg, key) != getattr(ManagerConfig, key):
            out[key] = getattr(cfg, key)
    for key in _OPTIONAL_DURATIONS:
        if getattr(cfg, key) != getattr(ManagerConfig, key):
            out[key] = format_duration(getattr(cfg, key))
    out.update(fair_share.config_entries(cfg))
    out.update(copy.deepcopy(cfg.extra))
    return out


_HEADER = (
    "# Tablao Manager configuration (flamenco-manager.yaml layout, version 3).\n"
    "# Edit while the Manager is stopped, or through the dashboard.\n"
)


def save_config(cfg: ManagerConfig) -> None:
    """Write atomically (temp file + rename) with mode 0600: it may hold an access token."""
    if cfg.path is None:
        raise ConfigError("this configuration has no file path to save to")
    cfg.path.parent.mkdir(parents=True, exist_ok=True)
    text = _HEADER + yaml.safe_dump(config_to_dict(cfg), sort_keys=False, allow_unicode=True)
    fd, tmp = tempfile.mkstemp(prefix=".tablao-config-", dir=cfg.path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, cfg.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
