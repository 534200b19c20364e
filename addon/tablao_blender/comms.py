"""The add-on's Manager client: urllib only (Blender has no aiohttp), blocking, one call per method.

Every failure is one of the vendored `_api.errors` client errors: `ManagerUnreachable` (no answer),
`HttpError` (the Manager's own `{code, message}`), `ContractError` (an answer that breaks the
contract). Callers on Blender's main thread keep calls short (the connection check, job types);
packing and uploading run on a worker thread (see `submission.py`).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

from ._api.errors import ContractError, HttpError, ManagerUnreachable
from ._api.headers import API_PREFIX, SHAMAN_CAN_DEFER_HEADER, SHAMAN_FILENAME_HEADER
from ._api.jobs import AvailableJobType, Job, LastRenderedInfo, SubmittedJob
from ._api.meta import FlamencoVersion, SharedStorageLocation, SubmitPolicy

_log = logging.getLogger(__name__)

#: Flamenco v3's API: the add-on works with Managers whose version starts with one of these.
COMPATIBLE_MAJOR = ("3.",)  # Tablao reports the Flamenco version it speaks, e.g. "3.8 (Tablao 0.1.0)"


class Manager:
    """One Manager at `url`; `token` goes as `Authorization: Bearer` when the Manager needs one."""

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url = url.strip().rstrip("/")
        if self.url and "://" not in self.url:
            self.url = "http://" + self.url
        self.token = token.strip()
        self.timeout = timeout

    # ---------------------------------------------------------------- transport
    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        data: bytes | BinaryIO | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
        raw: bool = False,
    ) -> tuple[int, Any]:
        """Send one request; returns (status, decoded JSON, bytes when `raw`, or None)."""
        if not self.url:
            raise ManagerUnreachable("no Manager URL is set; enter it in the add-on's preferences")
        hdrs = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                payload = resp.read()
                status = resp.status
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            raise _http_error(exc) from None
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ManagerUnreachable(f"cannot reach the Manager at {self.url}: {reason}") from None
        if raw:
            return status, payload
        if not payload:
            return status, None
        if "json" not in ctype:
            return status, payload.decode("utf-8", "replace")
        try:
            return status, json.loads(payload)
        except ValueError:
            raise ContractError(f"the Manager at {self.url} sent invalid JSON for {path}") from None

    def get(self, path: str) -> Any:
        return self.request("GET", API_PREFIX + path)[1]

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", API_PREFIX + path, body)[1]

    # ---------------------------------------------------------------- meta
    def version(self) -> FlamencoVersion:
        return FlamencoVersion.from_json(self.get("/version"))

    def shared_storage(self, platform: str) -> SharedStorageLocation:
        return SharedStorageLocation.from_json(self.get(f"/configuration/shared-storage/users/{platform}"))

    def submit_policy(self, platform: str) -> SubmitPolicy | None:
        """Whether this add-on's jobs run their .blend scripts (the token counts), and where jobs may
        write, spelled for `platform`; None from a Manager without a policy (Flamenco answers 404)."""
        try:
            doc = self.get(f"/tablao/submit-policy?platform={urllib.parse.quote(platform)}")
        except HttpError as exc:
            if exc.status == 404:
                return None
            raise
        return SubmitPolicy.from_json(doc)

    # ---------------------------------------------------------------- jobs
    def job_types(self) -> list[AvailableJobType]:
        doc = self.get("/jobs/types")
        if not isinstance(doc, dict) or not isinstance(doc.get("job_types"), list):
            raise ContractError("the Manager's job types answer lacks `job_types`")
        return [AvailableJobType.from_json(t) for t in doc["job_types"]]

    def worker_tags(self) -> list[dict[str, str]]:
        try:
            doc = self.get("/worker-mgt/tags")
        except HttpError:
            return []  # tags behind an admin token: submitting works without choosing one
        return [t for t in (doc or {}).get("tags", []) if isinstance(t, dict)]

    def hub_sites(self) -> list[dict[str, Any]]:
        """A hub's sites (`name`, `online`, `state` in words); [] from a Manager, which has none (404)."""
        try:
            doc = self.get("/tablao/hub/sites")
        except HttpError:
            return []
        return [s for s in (doc or {}).get("sites", []) if isinstance(s, dict) and isinstance(s.get("name"), str)]

    def check_job(self, job: SubmittedJob) -> None:
        """Compile without storing (POST /jobs/check): 412 for a stale type, 400 for a bad setting."""
        self.post("/jobs/check", job.to_json())

    def submit_job(self, job: SubmittedJob) -> Job:
        return Job.from_json(self.post("/jobs", job.to_json()))

    def fetch_job(self, job_id: str) -> Job:
        return Job.from_json(self.get(f"/jobs/{urllib.parse.quote(job_id)}"))

    def last_rendered(self, job_id: str) -> LastRenderedInfo | None:
        status, doc = self.request("GET", f"{API_PREFIX}/jobs/{urllib.parse.quote(job_id)}/last-rendered")
        return None if status == 204 or not doc else LastRenderedInfo.from_json(doc)

    def download(self, path: str) -> bytes:
        return self.request("GET", path, raw=True)[1]

    # ---------------------------------------------------------------- shaman
    def shaman_requirements(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The files (of `{sha, size, path}`) the Manager does not have yet."""
        doc = self.post("/shaman/checkout/requirements", {"files": files})
        return list((doc or {}).get("files", []))

    def shaman_upload(self, sha: str, size: int, path: Path, name: str) -> None:
        """Upload one file's bytes; a 208 (already stored, or stored meanwhile) is success too."""
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),
            SHAMAN_FILENAME_HEADER: urllib.parse.quote(name),
            SHAMAN_CAN_DEFER_HEADER: "false",
        }
        with open(path, "rb") as fh:
            self.request(
                "POST",
                f"{API_PREFIX}/shaman/files/{sha}/{size}",
                data=fh,
                headers=headers,
                timeout=max(self.timeout, 600.0),
            )

    def shaman_checkout(self, files: list[dict[str, Any]], checkout_path: str) -> str:
        doc = self.post("/shaman/checkout/create", {"files": files, "checkoutPath": checkout_path})
        return str((doc or {}).get("checkoutPath", checkout_path))


def is_compatible(version: FlamencoVersion) -> bool:
    return version.version.startswith(COMPATIBLE_MAJOR)


def _http_error(exc: urllib.error.HTTPError) -> HttpError:
    message = ""
    try:
        doc = json.loads(exc.read() or b"{}")
        message = str(doc.get("message", "")) if isinstance(doc, dict) else ""
    except (ValueError, OSError):
        pass
    return HttpError(exc.code, message or f"{exc.reason}")
