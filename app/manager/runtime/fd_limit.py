"""The Manager's open-file limit: raised to the hard limit at start-up, so a large farm fits.

Every waiting worker holds one connection (its long-poll) and every connection is one open file.
Many systems start processes with a soft limit of 1,024, which would cap a farm near 1,000 workers
although the hard limit allows far more; the soft limit may be raised up to the hard limit without
privileges. Windows has no such limit (and no `resource` module).
"""

from __future__ import annotations

import logging

_log = logging.getLogger(__name__)

# Files the Manager needs besides worker connections: database, logs, Shaman, clients, the UI.
RESERVED_FILES = 256


def raise_open_file_limit() -> int | None:
    """Raise the soft RLIMIT_NOFILE to the hard limit; return the soft limit now, None if unknown."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        target = 1 << 20  # macOS reports "unlimited" but refuses more than its kernel maximum
    if soft == resource.RLIM_INFINITY or soft >= target:
        _log_capacity(soft)
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        _log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    _log_capacity(soft)
    return soft


def workers_allowed(soft_limit: int) -> int:
    """About how many workers can long-poll at once under this open-file limit."""
    return max(0, soft_limit - RESERVED_FILES)


def _log_capacity(soft: int) -> None:
    _log.info("open-file limit %d: room for about %d workers waiting for work at once",
              soft, workers_allowed(soft))
