"""The API's path prefixes and header names, defined once for the Manager and every client."""

from __future__ import annotations

#: Flamenco v3's API.
API_PREFIX = "/api/v3"
#: Tablao's additions.
TABLAO_PREFIX = f"{API_PREFIX}/tablao"

#: Tablao extension: how long the Manager may hold a worker's request open waiting for news.
WAIT_HEADER = "X-Tablao-Wait"
#: Tablao extension: how a Shaman checkout was built (symlinks, hardlinks, copies).
LINK_MODE_HEADER = "X-Tablao-Link-Mode"
#: The admin token that administering operations need.
ADMIN_TOKEN_HEADER = "X-Tablao-Admin-Token"
#: Flamenco's Shaman upload headers.
SHAMAN_CAN_DEFER_HEADER = "X-Shaman-Can-Defer-Upload"
SHAMAN_FILENAME_HEADER = "X-Shaman-Original-Filename"
