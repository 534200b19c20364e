"""Wire models of a hub's own routes (`/api/v3/tablao/hub/...`): joining a site.

A hub answers the Flamenco routes with the Manager's models; these are the bodies of what only a
hub does. Its site list (`GET .../hub/sites`) is read by the desktop app as it comes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.api.codec import RequestBody, Wire
from app.api.limits import SHORT_MAX, limits


@dataclass(slots=True)
class HubSiteAdd(RequestBody):
    """A site to let join (`POST /api/v3/tablao/hub/sites`, admin only); the hub checks the name's
    form and that its configuration lists it, in its words."""

    name: str = field(metadata=limits(max_len=SHORT_MAX))


@dataclass(slots=True)
class HubSiteToken(Wire):
    """The answer to `HubSiteAdd`: the site's join token, shown once (the hub keeps its hash)."""

    name: str
    token: str
