"""The hub's records: the sites it accepts, its outbox of messages to them, its view of their jobs.

Only a hub's store fills these tables (a site Manager's stay empty). Every function runs inside a
Store call, as the other query modules. JSON is kept as text and decoded here, so callers get
plain dicts. A site's token is kept as its SHA-256 only: tokens are 32 random bytes, so a hash
without salt cannot be reversed by guessing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import peewee as pw

from app.manager.persistence.models import BaseModel, tuples


class HubSite(BaseModel):
    id: pw.AutoField[int]
    name = pw.CharField(max_length=64, unique=True)
    token_hash = pw.CharField(max_length=64)
    created_at = pw.DateTimeField()
    last_heard_at = pw.DateTimeField(null=True)
    info = pw.TextField(default="{}")
    cursor = pw.CharField(default="")

    class Meta:
        table_name = "hub_sites"


class HubOutbox(BaseModel):
    id: pw.AutoField[int]
    msg_id = pw.CharField(max_length=36, unique=True)
    site = pw.CharField(max_length=64)
    kind = pw.CharField(max_length=16)
    job_id = pw.CharField(max_length=36)
    payload = pw.TextField()
    created_at = pw.DateTimeField()
    done_at = pw.DateTimeField(null=True)
    result = pw.TextField(default="")

    class Meta:
        table_name = "hub_outbox"


class HubJob(BaseModel):
    id: pw.AutoField[int]
    uuid = pw.CharField(max_length=36, unique=True)
    site = pw.CharField(max_length=64)
    state = pw.CharField(max_length=16)
    snapshot = pw.TextField()
    updated = pw.DateTimeField()
    route_reason = pw.TextField(default="")
    note = pw.TextField(default="")

    class Meta:
        table_name = "hub_jobs"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


# --- sites ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SiteRecord:
    name: str
    token_hash: str
    last_heard_at: dt.datetime | None
    info: dict[str, Any]
    cursor: str


def _site(row: HubSite) -> SiteRecord:
    return SiteRecord(row.name, row.token_hash, row.last_heard_at, json.loads(row.info or "{}"), row.cursor)


def set_site_token(name: str, hashed: str, now: dt.datetime) -> None:
    """Create the site, or give it a new token (the old one stops working)."""
    updated = HubSite.update(token_hash=hashed).where(HubSite.name == name).execute()
    if not updated:
        HubSite.create(name=name, token_hash=hashed, created_at=now)


def remove_site(name: str) -> int:
    return HubSite.delete().where(HubSite.name == name).execute()


def sites() -> list[SiteRecord]:
    return [_site(row) for row in HubSite.select().order_by(HubSite.name)]


def site(name: str) -> SiteRecord | None:
    row = HubSite.get_or_none(HubSite.name == name)
    return _site(row) if row is not None else None


def site_heard(name: str, now: dt.datetime, info: dict[str, Any] | None = None) -> None:
    fields: dict[Any, Any] = {HubSite.last_heard_at: now}
    if info is not None:
        fields[HubSite.info] = json.dumps(info, separators=(",", ":"))
    HubSite.update(fields).where(HubSite.name == name).execute()


# --- the outbox -------------------------------------------------------------------------------
@dataclass(frozen=True)
class OutboxMessage:
    msg_id: str
    site: str
    kind: str
    job_id: str
    payload: dict[str, Any]
    done: bool
    result: dict[str, Any] | None


def _message(row: HubOutbox) -> OutboxMessage:
    return OutboxMessage(row.msg_id, row.site, row.kind, row.job_id, json.loads(row.payload),
                         row.done_at is not None, json.loads(row.result) if row.result else None)


def add_message(msg_id: str, site: str, kind: str, job_id: str, payload: dict[str, Any],
                now: dt.datetime) -> None:
    HubOutbox.create(msg_id=msg_id, site=site, kind=kind, job_id=job_id,
                     payload=json.dumps(payload, separators=(",", ":")), created_at=now)


def pending_messages(site: str) -> list[OutboxMessage]:
    """The messages for `site` it has not acknowledged, oldest first (the order they were made)."""
    query = (HubOutbox.select().where((HubOutbox.site == site) & HubOutbox.done_at.is_null())
             .order_by(HubOutbox.id))
    return [_message(row) for row in query]


def pending_counts() -> dict[str, int]:
    query = (HubOutbox.select(HubOutbox.site, pw.fn.COUNT(HubOutbox.id))
             .where(HubOutbox.done_at.is_null()).group_by(HubOutbox.site))
    return {site: count for site, count in tuples(query)}


def message(msg_id: str) -> OutboxMessage | None:
    row = HubOutbox.get_or_none(HubOutbox.msg_id == msg_id)
    return _message(row) if row is not None else None


def mark_done(msg_id: str, site: str, result: dict[str, Any], now: dt.datetime) -> bool:
    """Record the site's answer; False when it was already recorded (a repeated ack) or is not
    this site's message."""
    return bool(HubOutbox.update(done_at=now, result=json.dumps(result, separators=(",", ":")))
                .where((HubOutbox.msg_id == msg_id) & (HubOutbox.site == site) & HubOutbox.done_at.is_null())
                .execute())


# --- the jobs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobRecord:
    uuid: str
    site: str
    state: str
    snapshot: dict[str, Any]
    route_reason: str
    note: str


def _job(row: HubJob) -> JobRecord:
    return JobRecord(row.uuid, row.site, row.state, json.loads(row.snapshot), row.route_reason, row.note)


def add_job(uuid: str, site: str, state: str, snapshot: dict[str, Any], updated: dt.datetime,
            route_reason: str, note: str) -> None:
    HubJob.create(uuid=uuid, site=site, state=state, snapshot=json.dumps(snapshot, separators=(",", ":")),
                  updated=updated, route_reason=route_reason, note=note)


def job(uuid: str) -> JobRecord | None:
    row = HubJob.get_or_none(HubJob.uuid == uuid)
    return _job(row) if row is not None else None


def jobs(site: str | None = None) -> list[JobRecord]:
    query = HubJob.select().order_by(HubJob.id)
    if site is not None:
        query = query.where(HubJob.site == site)
    return [_job(row) for row in query]


def move_job(uuid: str, site: str, route_reason: str, submit_id: str, payload: dict[str, Any]) -> None:
    """A job that waited for a site, and its unsent messages, now belong to `site` (its submission
    with `payload`, the job as that site takes it)."""
    HubJob.update(site=site, route_reason=route_reason, note="").where(HubJob.uuid == uuid).execute()
    HubOutbox.update(site=site).where((HubOutbox.job_id == uuid) & HubOutbox.done_at.is_null()).execute()
    HubOutbox.update(payload=json.dumps(payload, separators=(",", ":"))).where(HubOutbox.msg_id == submit_id).execute()


def drop_unsent(uuid: str) -> None:
    """Forget a job that never went to a site, with its messages."""
    HubOutbox.delete().where((HubOutbox.job_id == uuid) & HubOutbox.done_at.is_null()).execute()
    HubJob.delete().where(HubJob.uuid == uuid).execute()


def set_job_state(uuid: str, state: str, note: str, snapshot: dict[str, Any] | None = None) -> None:
    fields: dict[Any, Any] = {HubJob.state: state, HubJob.note: note}
    if snapshot is not None:
        fields[HubJob.snapshot] = json.dumps(snapshot, separators=(",", ":"))
    HubJob.update(fields).where(HubJob.uuid == uuid).execute()


#: What `apply_snapshot` did: the job was new, or it changed (with its status before), or nothing.
NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"


def apply_snapshot(site: str, snapshot: dict[str, Any], updated: dt.datetime) -> tuple[str, str | None]:
    """Take a site's job as it is now; an older one than the kept one changes nothing (a replayed or
    reordered message), and a job of another site is never overwritten. Returns what it did and the
    job's status before."""
    uuid = snapshot["id"]
    text = json.dumps(snapshot, separators=(",", ":"))
    row = HubJob.get_or_none(HubJob.uuid == uuid)
    if row is None:
        HubJob.create(uuid=uuid, site=site, state="delivered", snapshot=text, updated=updated)
        return NEW, None
    # An equal `updated` with other content is taken: a few fields (a job's activity) change without
    # moving `updated` at the site.
    if row.site != site or (row.state == "delivered" and (row.updated > updated or
                                                          (row.updated == updated and row.snapshot == text))):
        return UNCHANGED, None
    before = json.loads(row.snapshot).get("status")
    HubJob.update(snapshot=text, updated=updated, state="delivered", note="").where(HubJob.id == row.id).execute()
    return CHANGED, before


def forget_jobs(site: str, uuids: list[str]) -> list[JobRecord]:
    """Drop jobs the site no longer has (deleted there), never one still waiting to go out; the
    jobs dropped, as they were."""
    if not uuids:
        return []
    where = (HubJob.site == site) & HubJob.uuid.in_(uuids) & (HubJob.state != "waiting")
    dropped = [_job(row) for row in HubJob.select().where(where)]
    HubJob.delete().where(where).execute()
    return dropped


def job_uuids(site: str) -> list[str]:
    return [uuid for (uuid,) in tuples(HubJob.select(HubJob.uuid).where(HubJob.site == site))]


def set_cursor(site: str, cursor: str) -> None:
    HubSite.update(cursor=cursor).where(HubSite.name == site).execute()


def forget_refused(uuid: str) -> None:
    """Drop a submission its site refused while the artist waited (the artist got the refusal)."""
    HubJob.delete().where((HubJob.uuid == uuid) & (HubJob.state == "waiting")).execute()


# --- Shaman checkouts made at the hub ------------------------------------------------------------
class HubCheckout(BaseModel):
    id: pw.AutoField[int]
    path = pw.CharField(max_length=1024, unique=True)
    files = pw.TextField()
    created_at = pw.DateTimeField()

    class Meta:
        table_name = "hub_checkouts"


def record_checkout(path: str, files: list[dict[str, Any]], now: dt.datetime) -> None:
    text = json.dumps(files, separators=(",", ":"))
    (HubCheckout.insert(path=path, files=text, created_at=now)  # upsert: SQLite and PostgreSQL alike
     .on_conflict(conflict_target=[HubCheckout.path], update={HubCheckout.files: text, HubCheckout.created_at: now})
     .execute())


def checkout_files(path: str) -> list[dict[str, Any]] | None:
    row = HubCheckout.get_or_none(HubCheckout.path == path)
    return json.loads(row.files) if row is not None else None
