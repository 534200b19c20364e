"""Who may call which route of the hub: the Manager's access classes, with the hub's own routes.

The Flamenco routes the hub serves keep the class they have on a Manager (`ROUTE_ACCESS`), so an
access token or admin token means the same at the hub. The site link and the blob route sites
fetch files from are `PUBLIC` in this table because their handlers check the site's name and join token itself, before the upgrade, as the
worker routes check worker credentials; adding or removing a site needs the hub's admin token.
"""

from __future__ import annotations

from app.api.headers import API_PREFIX
from app.hub.shaman_relay import BLOBS_PATH
from app.hub.site_reads import FRAMES_PATH
from app.manager.hub_link.protocol import LINK_PATH
from app.manager.web.access import ROUTE_ACCESS, Access

V3 = API_PREFIX

_SHARED = [
    ("GET", "/"),  # the status page: its files are public, its data comes from the API below
    ("GET", "/ui/{asset}"),
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
    ("GET", f"{V3}/tasks/{{task_id}}"),
    ("GET", f"{V3}/tasks/{{task_id}}/logtail"),
    ("GET", f"{V3}/worker-mgt/workers"),
    ("GET", f"{V3}/worker-mgt/tags"),
    ("GET", f"{V3}/status"),
    ("GET", f"{V3}/tablao/jobs"),
    ("GET", f"{V3}/tablao/events"),
    ("GET", f"{V3}/configuration/shared-storage/{{audience}}/{{platform}}"),
    ("POST", f"{V3}/shaman/checkout/requirements"),
    ("POST", f"{V3}/shaman/checkout/create"),
    ("GET", f"{V3}/shaman/files/{{checksum}}/{{filesize}}"),
    ("POST", f"{V3}/shaman/files/{{checksum}}/{{filesize}}"),
    # what the status page and the dashboard read of a job's site, through the hub
    ("GET", f"{V3}/configuration/file"),  # admin: the page asks it to check the admin token
    ("GET", f"{V3}/configuration/variables/{{audience}}/{{platform}}"),
    ("GET", f"{V3}/tablao/jobs/eta"),
    ("GET", f"{V3}/tablao/jobs/{{job_id}}/task-stats"),
    ("GET", f"{V3}/jobs/{{job_id}}/last-rendered"),
    ("POST", f"{V3}/tasks/{{task_id}}/setstatus"),
    ("GET", f"{V3}/worker-mgt/workers/{{worker_id}}"),
]

HUB_ROUTE_ACCESS: dict[tuple[str, str], Access] = {
    **{key: ROUTE_ACCESS[key] for key in _SHARED},
    ("GET", LINK_PATH): Access.PUBLIC,
    ("GET", BLOBS_PATH): Access.PUBLIC,  # a site's name and join token, checked by the handler
    ("GET", FRAMES_PATH): Access.OPEN,  # as a Manager's /job-files/, where its frames are
    ("GET", f"{V3}/tablao/hub/sites"): Access.OPEN,
    ("POST", f"{V3}/tablao/hub/sites"): Access.ADMIN,
    ("DELETE", f"{V3}/tablao/hub/sites/{{name}}"): Access.ADMIN,
}
