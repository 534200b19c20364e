"""Every route of the hub is in its access table, and the hub's access token and admin token guard
them as the Manager's guard its routes."""

from __future__ import annotations

import re

from app.hub.access import HUB_ROUTE_ACCESS
from app.manager.settings.config import save_config
from app.manager.web.access import Access

ACCESS = "hub-access-token-0123"


def _routes(hub) -> list[tuple[str, str, str]]:
    out = []
    for route in hub.service.server.app.router.routes():
        if route.method == "HEAD":
            continue
        template = route.resource.canonical
        path = re.sub(r"\{(\w+)\}", lambda m: {"type_name": "echo-sleep-test", "name": "A"}.get(m.group(1), "x"),
                      template)
        out.append((route.method, template, path))
    return out


async def test_every_hub_route_is_in_its_access_table_and_the_table_has_no_stale_lines(hub_farm):
    hub = await hub_farm.start_hub()
    served = {(method, template) for method, template, _ in _routes(hub)}
    assert served == set(HUB_ROUTE_ACCESS), (served ^ set(HUB_ROUTE_ACCESS))


async def test_the_hub_access_token_guards_all_but_the_public_routes(hub_farm):
    hub = await hub_farm.start_hub()
    hub.config.manager.access_token = ACCESS
    save_config(hub.config.manager)
    await hub_farm.stop_hub()
    hub = await hub_farm.start_hub()
    for method, template, path in _routes(hub):
        access = HUB_ROUTE_ACCESS[(method, template)]
        body_kwargs: dict = {"json": {}} if method == "POST" else {}
        if method == "POST" and "/shaman/files/" in template:
            body_kwargs = {"data": b"", "headers": {"Content-Type": "application/octet-stream"}}
        status, body = await hub.request(method, path, **body_kwargs)
        if access is Access.PUBLIC:
            assert status not in (403,) or "access token" not in str(body), (method, template, status, body)
            continue
        assert status == 403 and "access token" in body["message"], (method, template, status, body)
        headers = {**body_kwargs.pop("headers", {}), "Authorization": f"Bearer {ACCESS}"}
        status, body = await hub.request(method, path, headers=headers, **body_kwargs)
        if access is Access.ADMIN:
            assert status == 401 and "admin token" in body["message"], (method, template, status, body)
        else:
            assert status not in (401, 403), (method, template, status, body)
