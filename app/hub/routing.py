"""Which site runs a job: the one it names, else the one that will start it soonest.

A pure function of the job and what each site last said (its job types, tags, workers awake and
idle, tasks queued) plus what waits for it at the hub. A site can run a job when it offers the
job type (with the same etag, when the job names one) and, for a job with a worker tag, has a tag
of that id or name, and, for a job whose files lie in place on shared storage (no Shaman checkout),
reaches every one of its absolute paths: each lies under a root the site reported (its shared
storage path or a two-way variable's value) for the platform the job was submitted from. A site
that never said what it reaches (an older site) is not judged on it. Among those, online sites come before offline ones; then a site with an idle
worker; then the fewest queued tasks per awake worker (the hub's own waiting jobs for the site
count as queued); then the name, so the choice is stable. The reason names the figures compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.api.errors import BadRequest
from app.common import crosspath


@dataclass(frozen=True)
class SiteView:
    """What routing knows of one site."""

    name: str
    online: bool
    job_types: dict[str, str] = field(default_factory=dict)  # name -> etag
    tags: dict[str, str] = field(default_factory=dict)  # id -> name
    awake_workers: int = 0
    idle_workers: int = 0
    queued_tasks: int = 0
    waiting_at_hub: int = 0
    # (root, platforms) where the site reaches files in place; None: the site did not say
    storage: tuple[tuple[str, tuple[str, ...]], ...] | None = None


@dataclass(frozen=True)
class InPlace:
    """A job's files on shared storage: its absolute paths and the platform that wrote them."""

    paths: tuple[str, ...] = ()
    platform: str = ""


class Unreachable(BadRequest):
    """No site reaches the job's files in place, though some site could run it otherwise: the hub
    keeps such a job waiting rather than refusing it, since a site may yet say it reaches them."""


@dataclass(frozen=True)
class Route:
    site: str
    reason: str
    worker_tag: str | None = None  # the job's tag as the chosen site's id


def in_place_paths(settings: dict[str, Any] | None, platform: str | None) -> InPlace:
    """The job's blendfile and render output settings that are absolute paths (a `{variable}/...`
    path is the site's own to expand, so it is not one)."""
    paths = tuple(value for key, value in (settings or {}).items()
                  if (key == "blendfile" or key.startswith("render_output")) and isinstance(value, str)
                  and value and crosspath.is_absolute(value, platform or None))
    return InPlace(paths, crosspath.normalise_platform(platform) if platform else "")


def unreachable(site: SiteView, files: InPlace) -> str:
    """The first of the job's in-place paths `site` cannot reach, or ""."""
    if site.storage is None:
        return ""
    for path in files.paths:
        if not any(crosspath.is_under(path, root, files.platform or None) for root, platforms in site.storage
                   if not files.platform or "all" in platforms or files.platform in platforms):
            return path
    return ""


def can_run(site: SiteView, job_type: str, etag: str, worker_tag: str, files: InPlace = InPlace()) -> str:
    """"" when `site` can run the job, else why not."""
    if job_type not in site.job_types:
        return f"{site.name} does not offer job type {job_type!r}"
    if etag and site.job_types[job_type] and site.job_types[job_type] != etag:
        return f"{site.name} has another version of job type {job_type!r}"
    if worker_tag and _tag_id(site, worker_tag) is None:
        return f"{site.name} has no worker tag {worker_tag!r}"
    path = unreachable(site, files)
    if path:
        roots = ", ".join(root for root, _ in site.storage or ()) or "none"
        return (f"{site.name} cannot reach {path!r} (its shared storage and two-way variables cover: {roots}); "
                "submit with Shaman, or give that site a two-way variable for the folder")
    return ""


def _tag_id(site: SiteView, tag: str) -> str | None:
    if tag in site.tags:
        return tag
    return next((tid for tid, name in site.tags.items() if name == tag), None)


def _describe(site: SiteView) -> str:
    if not site.online:
        return f"{site.name} offline"
    queued = site.queued_tasks + site.waiting_at_hub
    return (f"{site.name}: {site.idle_workers} idle of {site.awake_workers} awake workers, "
            f"{queued} queued tasks")


def _rank(site: SiteView) -> tuple[Any, ...]:
    queued = site.queued_tasks + site.waiting_at_hub
    return (not site.online, site.idle_workers == 0, queued / max(site.awake_workers, 1),
            -site.idle_workers, site.name)


def choose_site(sites: list[SiteView], job_type: str, etag: str = "", worker_tag: str = "",
                named: str = "", files: InPlace = InPlace()) -> Route:
    """The site for a job; BadRequest saying why when there is none (or the named one cannot)."""
    by_name = {site.name: site for site in sites}
    if named:
        site = by_name.get(named)
        if site is None:
            known = ", ".join(sorted(by_name)) or "none yet"
            raise BadRequest(f"the job names site {named!r}, which is not joined to this hub (sites: {known})")
        why_not = can_run(site, job_type, etag, worker_tag, files) if site.job_types or site.online else ""
        if why_not:
            raise BadRequest(f"the job names site {named!r}, but {why_not}")
        return Route(named, f"named by the job (metadata `site`); {_describe(site)}",
                     _tag_id(site, worker_tag) if worker_tag else None)
    able = [site for site in sites if not can_run(site, job_type, etag, worker_tag, files)]
    if not able:
        why = "; ".join(can_run(site, job_type, etag, worker_tag, files) for site in sites) or "no site has joined yet"
        if files.paths and any(not can_run(site, job_type, etag, worker_tag) for site in sites):
            raise Unreachable(f"no site reaches this job's files: {why}")
        raise BadRequest(f"no site can run this job: {why}")
    able.sort(key=_rank)
    best, others = able[0], able[1:]
    reason = f"chosen as the site likely to start it soonest ({_describe(best)}"
    reason += "; " + "; ".join(_describe(site) for site in others) + ")" if others else ")"
    return Route(best.name, reason, _tag_id(best, worker_tag) if worker_tag else None)
