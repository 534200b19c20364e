"""A site Manager's link to a hub: the connection it opens out, and what it does with the hub's messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.manager.hub_link.link import HubLink


def attach_hub_link(services: Any) -> HubLink | None:
    """Add the link to the Manager's background services when its configuration names a hub."""
    from app.manager.hub_link.link import HubLink
    from app.manager.hub_link.settings import hub_link_settings

    config = services.config
    settings = hub_link_settings(config.extra, str(config.path) if config.path else "flamenco-manager.yaml")
    if settings is None:
        return None
    link = HubLink(settings, services)
    services.background.append(link)
    return link


def hub_link_of(services: Any) -> HubLink | None:
    """The running Manager's link to its hub, if it has one."""
    from app.manager.hub_link.link import HubLink

    return next((svc for svc in services.background if isinstance(svc, HubLink)), None)
