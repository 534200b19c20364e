"""`HubLink`: a site Manager's connection out to its hub, kept up for as long as the Manager runs.

Only the hub needs an address the site can reach: the site opens a websocket to it, shows its
name and join token, says what it offers (`hello`), and then both sides talk over that one
connection (`protocol.py`). When the connection drops or cannot be made, the link tries again
with a growing pause (0.5 s doubling to 30 s, with jitter), forever; a refused token is logged
with what to do, and retried at the longest pause (the hub's admin may fix it meanwhile).

What the hub learns of this site's jobs is never lost to a dropped connection: on every
connection the hub says up to which change it has the site's jobs (`welcome.cursor`), and the site
sends every job changed since, with the list of all its jobs so the hub forgets deleted ones;
after that each `job_did_change` sends the job as it then is.

Task changes and the log lines of tasks the hub follows go the same way, gathered per task and
bounded (`protocol.py`), but best-effort: what was not sent when the connection dropped is not
sent again (the hub has its pages read an unfinished job's tasks again when the site connects).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import random
from typing import Any

import aiohttp

from app import __version__
from app.api.errors import ApiError
from app.api.transport import plain_session
from app.common import events as ev
from app.common.clock import parse_rfc3339
from app.manager.hub_link import protocol as p
from app.manager.hub_link.inbox import HubInbox
from app.manager.hub_link.pinning import HubPin
from app.manager.hub_link.questions import SiteQuestions
from app.manager.hub_link.settings import HubLinkSettings
from app.manager.hub_link.storage import storage_roots
from app.manager.persistence import hub_link_records as records
from app.manager.persistence import jobs as jobs_q
from app.manager.persistence.errors import NotFound
from app.shaman.specs import FileKey

_log = logging.getLogger(__name__)

FIRST_PAUSE, LONGEST_PAUSE = 0.5, 30.0
STATUS_EVERY = 2.0  # seconds between looks at the workers and the queue, sent when they changed
FLUSH_EVERY = 0.1  # job changes are gathered this long, so a burst goes out as one message


class LinkRefused(Exception):
    """The hub refused this site (unknown name, wrong token)."""


class HubLink:
    """A background service of the site Manager (`run()` until cancelled)."""

    def __init__(self, settings: HubLinkSettings, services: Any):
        self.settings, self.services = settings, services
        self.inbox = HubInbox(services.store, services.jobs, services.clock, services.shaman, self._fetch_blob,
                              services.task_logs, SiteQuestions(services))
        config = services.config
        self.pin = HubPin(settings.url, settings.fingerprint, config.base_dir if config.path is not None else None)
        #: Why the last connection failed or ended, in words ("" while linked).
        self.problem = ""
        #: Set while a connection is up and the hub has welcomed this site.
        self.connected = asyncio.Event()
        self._dirty: set[str] = set()
        self._frames: set[str] = set()  # jobs with a new last rendered frame, not yet told the hub
        self._tasks: dict[str, dict[str, Any]] = {}  # task id -> its newest change, not yet sent
        self._stale: set[str] = set()  # jobs with task changes past `TASKS_PENDING_MAX`
        self._follows: set[str] = set()  # tasks whose log lines the hub wants, on this connection
        self._logs: dict[str, _LogLines] = {}  # new lines of followed tasks, not yet sent
        self._wake = asyncio.Event()

    async def run(self) -> None:
        pause = FIRST_PAUSE
        while True:
            try:
                await self._connect_once()
                pause = FIRST_PAUSE
            except LinkRefused as exc:
                self.problem = f"the hub refused site {self.settings.site!r}: {exc}"
                _log.warning("%s", self.problem)
                pause = LONGEST_PAUSE
            except aiohttp.ServerFingerprintMismatch:
                self.problem = self.pin.mismatch_words()
                _log.error("%s", self.problem)
                pause = LONGEST_PAUSE
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                self.problem = f"hub not reachable: {exc or type(exc).__name__}"
                _log.info("hub at %s not reachable (%s); trying again in %.1f s", self.settings.url,
                          exc or type(exc).__name__, pause)
            except Exception as exc:  # noqa: BLE001 - the link must never end the Manager: say it, try again
                self.problem = f"the link to the hub failed: {exc or type(exc).__name__}"
                _log.exception("the link to the hub at %s failed; trying again in %.1f s", self.settings.url, pause)
            finally:
                self.connected.clear()
            await asyncio.sleep(pause * random.uniform(0.8, 1.2))
            pause = min(pause * 2, LONGEST_PAUSE)

    async def _connect_once(self) -> None:
        headers = {"Authorization": f"Bearer {self.settings.token}", p.SITE_HEADER: self.settings.site}
        async with plain_session() as http:
            await self.pin.ensure()
            try:
                ws = await http.ws_connect(self.settings.link_url, headers=headers, heartbeat=15.0, ssl=self.pin.ssl,
                                           max_msg_size=p.MAX_MESSAGE, timeout=aiohttp.ClientWSTimeout(ws_close=5.0))
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status in (401, 403):
                    raise LinkRefused(f"{exc.status} {exc.message}") from None
                raise
            async with ws:
                await self._serve(ws)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        await ws.send_json({"type": p.HELLO, "site": self.settings.site, "version": __version__,
                            **await self._offer()})
        welcome = await ws.receive_json(timeout=30.0)
        if not isinstance(welcome, dict) or welcome.get("type") != p.WELCOME:
            raise ValueError("the hub did not welcome this site")
        bus = self.services.bus
        for pending in (self._dirty, self._frames, self._tasks, self._stale, self._follows, self._logs):
            pending.clear()
        follows = welcome.get("follows")
        for task_id in follows[:p.FOLLOWS_MAX] if isinstance(follows, list) else ():
            self._follow({"type": p.FOLLOW, "task_id": task_id})
        bus.add_listener(self._on_event)
        try:
            await self._resync(ws, welcome.get("cursor") or "")
            self.connected.set()
            self.problem = ""
            _log.info("linked to the hub at %s as site %r", self.settings.url, self.settings.site)
            inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            parts = [asyncio.create_task(part) for part in
                     (self._read(ws, inbox), self._work(ws, inbox), self._flush_loop(ws), self._status_loop(ws))]
            try:  # whichever part ends first (the connection closed, a send failed) ends them all
                done, _ = await asyncio.wait(parts, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for part in parts:
                    part.cancel()
                await asyncio.gather(*parts, return_exceptions=True)
            for part in done:
                if not part.cancelled() and part.exception() is not None:
                    _log.info("the link to the hub ended: %s", part.exception())
        finally:
            bus.remove_listener(self._on_event)

    # --- jobs to the hub -----------------------------------------------------------------------
    def _on_event(self, event: ev.Event) -> None:
        if event.name == ev.JOB_DID_CHANGE:
            self._dirty.add(event.data["id"])
            self._wake.set()
        elif event.name == ev.LAST_RENDERED_DID_CHANGE and isinstance(event.data.get("job_id"), str):
            self._frames.add(event.data["job_id"])  # the hub's page asks for the picture when it shows it
            self._wake.set()
        elif event.name == ev.TASK_DID_CHANGE:
            self._task_changed(event.data)
        elif event.name == ev.TASK_LOG_DID_APPEND and event.data.get("task_id") in self._follows:
            self._log_appended(event.data)

    def _task_changed(self, data: dict[str, Any]) -> None:
        task_id = data.get("id")
        if not isinstance(task_id, str):
            return
        if task_id in self._tasks or len(self._tasks) < p.TASKS_PENDING_MAX:
            self._tasks[task_id] = data  # only the newest change of a task is worth sending
        elif isinstance(data.get("job_id"), str) and len(self._stale) < p.TASKS_PENDING_MAX:
            self._stale.add(data["job_id"])
        self._wake.set()

    def _log_appended(self, data: dict[str, Any]) -> None:
        text = data.get("log")
        if not isinstance(text, str) or not text:
            return
        lines = self._logs.get(data["task_id"])
        if lines is None:
            lines = self._logs[data["task_id"]] = _LogLines(str(data.get("job_id") or ""))
        lines.add(text)
        self._wake.set()

    def _follow(self, data: dict[str, Any]) -> None:
        """The hub's `follow`/`unfollow`: cheap, so taken as read, ahead of slower messages."""
        task_id = data.get("task_id")
        if not isinstance(task_id, str) or not 1 <= len(task_id) <= p.ID_MAX:
            return
        if data.get("type") == p.UNFOLLOW:
            self._follows.discard(task_id)
            self._logs.pop(task_id, None)
        elif len(self._follows) < p.FOLLOWS_MAX:
            self._follows.add(task_id)
        else:
            _log.warning("the hub follows more than %d task logs at once; not task %s", p.FOLLOWS_MAX, task_id)

    async def _resync(self, ws: aiohttp.ClientWebSocketResponse, cursor: str) -> None:
        since = None
        if cursor:
            with contextlib.suppress(ValueError):
                since = parse_rfc3339(cursor).astimezone(dt.UTC).replace(tzinfo=None)
        store = self.services.store
        await ws.send_json({"type": p.INVENTORY, "uuids": await store.call(records.all_job_uuids)})
        changed = await store.call(records.job_uuids_changed_since, since)
        for start in range(0, len(changed), p.JOBS_PER_MESSAGE):
            await self._send_jobs(ws, changed[start:start + p.JOBS_PER_MESSAGE])

    async def _send_jobs(self, ws: aiohttp.ClientWebSocketResponse, uuids: list[str]) -> None:
        from app.manager.jobs.convert import job_json

        def load() -> tuple[list[dict[str, Any]], list[str]]:
            found, gone = [], []
            for uuid in uuids:
                try:
                    found.append(job_json(jobs_q.fetch_job(uuid)))
                except NotFound:
                    gone.append(uuid)
            return found, gone

        found, gone = await self.services.store.call(load)
        await ws.send_json({"type": p.JOBS, "jobs": found, "gone": gone})

    async def _flush_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(FLUSH_EVERY)
            self._wake.clear()
            dirty, self._dirty = list(self._dirty), set()
            for start in range(0, len(dirty), p.JOBS_PER_MESSAGE):
                await self._send_jobs(ws, dirty[start:start + p.JOBS_PER_MESSAGE])
            frames, self._frames = sorted(self._frames), set()
            for job_id in frames:
                await ws.send_json({"type": p.FRAME, "job_id": job_id})
            await self._send_tasks(ws)
            logs, self._logs = self._logs, {}
            for task_id, lines in logs.items():
                await ws.send_json({"type": p.LOG, "task_id": task_id, "job_id": lines.job_id, "log": lines.text()})

    async def _send_tasks(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        stale, self._stale = sorted(self._stale), set()
        for start in range(0, max(len(tasks), 1 if stale else 0), p.TASKS_PER_MESSAGE):
            await ws.send_json({"type": p.TASKS, "tasks": tasks[start:start + p.TASKS_PER_MESSAGE],
                                "stale": stale if start == 0 else []})

    async def _status_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        last: dict[str, Any] | None = None
        while True:
            await asyncio.sleep(STATUS_EVERY)
            now = await self._status()
            if now != last:
                await ws.send_json({"type": p.STATUS, **now})
                last = now

    async def _offer(self) -> dict[str, Any]:
        services = self.services
        return {"job_types": await services.compiler.list_job_types(), "tags": await services.admin.tags(),
                "storage": storage_roots(services.settings.variables), **await self._status()}

    async def _status(self) -> dict[str, Any]:
        # Vitals change every few seconds and are the site's own business: the hub shows the rest.
        workers = [{key: value for key, value in w.items() if key != "vitals"} for w in await self.services.admin.list()]
        return {"workers": workers, "load": await self.services.store.call(records.load)}

    async def _fetch_blob(self, key: FileKey) -> None:
        """One file of the hub's Shaman into this site's; a failure is this site's trouble (5xx), so
        the hub sends the submission again on the next connection."""
        shaman = self.services.shaman
        url = f"{self.settings.url.rstrip('/')}/api/v3/tablao/hub/blobs/{key.sha}/{key.size}"
        headers = {"Authorization": f"Bearer {self.settings.token}", p.SITE_HEADER: self.settings.site}
        try:
            async with plain_session() as http, http.get(url, headers=headers, ssl=self.pin.ssl) as resp:
                if resp.status != 200:
                    raise ApiError(f"the hub did not give file {key.sha[:12]}…/{key.size}: HTTP {resp.status}",
                                   status=502)
                await shaman.store_file(key, resp.content.iter_chunked(256 * 1024), label=key.sha[:12])
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ApiError(f"fetching file {key.sha[:12]}… from the hub failed: {exc}", status=502) from None

    # --- the hub's messages --------------------------------------------------------------------
    async def _read(self, ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        """Read on while messages are applied (`_work`): a long one (a big file fetched from the hub)
        must not keep the websocket's pings unanswered, or the connection drops mid-way."""
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                _log.warning("the hub sent a message that is not JSON; ignored")
                continue
            if isinstance(data, dict) and data.get("type") in (p.FOLLOW, p.UNFOLLOW):
                self._follow(data)
            elif isinstance(data, dict):
                inbox.put_nowait(data)

    async def _work(self, ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue[dict[str, Any]]) -> None:
        """Apply the hub's messages one at a time, in the order they came."""
        while True:
            await self._handle(ws, await inbox.get())

    async def _handle(self, ws: aiohttp.ClientWebSocketResponse, data: dict[str, Any]) -> None:
        kind = data.get("type")
        handlers = {p.SUBMIT: self.inbox.submit, p.ACTION: self.inbox.action, p.ASK: self.inbox.ask}
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            _log.debug("ignored a hub message of type %r", kind)
            return
        try:
            result = await handler(data)
        except Exception:  # noqa: BLE001 - answered as this site's trouble; the hub asks again later
            _log.exception("applying the hub's %s message failed", kind)
            result = {"ok": False, "status": 500, "message": "the site failed to apply it; see its log"}
        if kind == p.ASK:
            await ws.send_json({"type": p.REPLY, "rid": data.get("rid"), **result})
        else:
            await ws.send_json({"type": p.ACK, "id": data.get("id"), **result})


class _LogLines:
    """A followed task's new log text, keeping only the last `LOG_CHUNK` characters and counting
    what it dropped, so a task that logs fast never makes one message too big."""

    __slots__ = ("job_id", "_text", "_skipped")

    def __init__(self, job_id: str):
        self.job_id, self._text, self._skipped = job_id, "", 0

    def add(self, text: str) -> None:
        self._text += text
        if len(self._text) > p.LOG_CHUNK:
            self._skipped += len(self._text) - p.LOG_CHUNK
            self._text = self._text[-p.LOG_CHUNK:]

    def text(self) -> str:
        if not self._skipped:
            return self._text
        return f"[{self._skipped} characters of this log skipped here; the site's log has them all]\n{self._text}"
