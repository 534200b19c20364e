"""Who may call which route of the hub: the Manager's access classes, with the hub's own routes.

The Flamenco routes the hub serves keep the class they have on a Manager (`ROUTE_ACCESS`), so an
access token or admin token means the same at the hub. The site link is `PUBLIC` in this table
because its handler checks the site's name and join token itself, before the upgrade, as the
worker routes check worker credentials; adding or removing a site needs the hub's admin token.
"""

from __future__ import annotations

from app.api.headers import API_PREFIX
from app.manager.hub_link.protocol import LINK_PATH
from app.manager.web.access import ROUTE_ACCESS, Access

V3 = API_PREFIX

_SHARED = [
    ("GET", f"{V3}/version"),
    ("GET", f"{V3}/jobs/types"),
    ("GET", f"{V3}/jobs/type/{{type_name}}"),
    ("GET", f"{V3}/jobs"),
    ("POST", f"{V3}/jobs"),
    ("POST", f"{V3}/jobs/check"),
    ("GET", f"{V3}/jobs/{{job_id}}"),
    ("DELETE", f"{V3}/jobs/{{job_id}}"),
    ("GET", f"{V3}/jobs/{{job_id}}/tasks"),
    ("POST", f"{V3}/jobs/{{job_id}}/setstatus"),
    ("POST", f"{V3}/jobs/{{job_id}}/setpriority"),
    ("GET", f"{V3}/worker-mgt/workers"),
]

HUB_ROUTE_ACCESS: dict[tuple[str, str], Access] = {
    **{key: ROUTE_ACCESS[key] for key in _SHARED},
    ("GET", LINK_PATH): Access.PUBLIC,
    ("GET", f"{V3}/tablao/hub/sites"): Access.OPEN,
    ("POST", f"{V3}/tablao/hub/sites"): Access.ADMIN,
    ("DELETE", f"{V3}/tablao/hub/sites/{{name}}"): Access.ADMIN,
}
