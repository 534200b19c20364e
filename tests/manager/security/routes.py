"""Every route of a running Manager, with a path that reaches it, for the access tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.manager.web.access import ROUTE_ACCESS, Access

JOB_FILE = "/job-files/job-4b3f/task-1.txt"  # written by the tests that read it

_SAMPLES = {
    "job_id": "4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0aa",
    "task_id": "4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0ab",
    "worker_id": "4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0ac",
    "tag_id": "4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0ad",
    "audience": "users",
    "platform": "linux",
    "type_name": "echo-sleep-test",
    "checksum": "a" * 64,
    "filesize": "1",
    "filename": "index.html",
    "asset": "main.js",
}


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    path: str

    @property
    def access(self) -> Access:
        return ROUTE_ACCESS[(self.method, self.template)]

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def served_routes(app) -> list[Route]:
    """(method, template, concrete path) of every route but the implicit HEADs."""
    routes = []
    for route in app.router.routes():
        if route.method == "HEAD":
            continue
        template = route.resource.canonical
        if template == "/job-files":
            path = JOB_FILE
        else:
            path = re.sub(r"\{(\w+)\}", lambda m: _SAMPLES[m.group(1)], template)
        routes.append(Route(route.method, template, path))
    return routes
