"""The small query language of `farm kill` and `farm requeue`.

A query is terms separated by spaces; a job matches when every term matches (AND):

    name:GLOB          the job's name (the release's job name for farm jobs), shell-style glob
    status:S[,S...]    one of the job statuses (queued, active, completed, failed, canceled, ...)
    type:GLOB          the job type, e.g. simple-blender-render
    release:GLOB       the release the job belongs to (its `farm.release` metadata)
    KEY=GLOB           a metadata value, e.g. project=spring
    GLOB               a bare word: the same as name:GLOB

A term starting with `-` is negated (`-status:completed`). Quote terms with spaces ('name:"my shot"').
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from app.api.enums import JobStatus
from app.api.jobs import Job
from app.farm.errors import UsageError

RELEASE_KEY = "farm.release"
JOB_KEY = "farm.job"
_FIELDS = ("name", "status", "type", "release")
_STATUSES = {s.value for s in JobStatus}


@dataclass(frozen=True, slots=True)
class Term:
    field: str  # name, status, type, release, or "meta:<key>"
    values: tuple[str, ...]
    negated: bool = False

    def matches(self, job: Job) -> bool:
        return self._matches(job) != self.negated

    def _matches(self, job: Job) -> bool:
        if self.field == "status":
            return str(job.status) in self.values
        if self.field == "name":
            names = {job.name, job.metadata.get(JOB_KEY, job.name)}
            return any(fnmatchcase(n, v) for n in names for v in self.values)
        if self.field == "type":
            return any(fnmatchcase(job.type, v) for v in self.values)
        if self.field == "release":
            release = job.metadata.get(RELEASE_KEY)
            return release is not None and any(fnmatchcase(release, v) for v in self.values)
        key = self.field.removeprefix("meta:")
        value = job.metadata.get(key)
        return value is not None and any(fnmatchcase(value, v) for v in self.values)


@dataclass(frozen=True, slots=True)
class Query:
    text: str
    terms: tuple[Term, ...] = field(default=())

    def matches(self, job: Job) -> bool:
        return all(term.matches(job) for term in self.terms)

    def releases(self) -> list[str]:
        """The release names the query asks for (positively), if any."""
        return [v for t in self.terms if t.field == "release" and not t.negated for v in t.values]


def parse_query(text: str) -> Query:
    """Parse a query, or raise `UsageError` saying which term is wrong."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"query {text!r} does not parse: {exc}") from None
    if not words:
        raise UsageError("the query is empty; say which jobs, e.g. 'status:active name:shot_0*'")
    return Query(text, tuple(_term(word) for word in words))


def _term(word: str) -> Term:
    negated = word.startswith("-") and len(word) > 1
    body = word[1:] if negated else word
    if ":" in body and ("=" not in body or body.index(":") < body.index("=")):
        key, _, value = body.partition(":")
        key = key.lower()
        if key not in _FIELDS:
            raise UsageError(f"query term {word!r}: unknown field {key!r} "
                             f"(fields: {', '.join(_FIELDS)}, or KEY=VALUE for metadata)")
    elif "=" in body:
        key, _, value = body.partition("=")
        if not key:
            raise UsageError(f"query term {word!r}: the metadata key is missing")
        key = "meta:" + key
    else:
        key, value = "name", body
    values = tuple(v for v in value.split(",") if v) if key == "status" else (value,)
    if not value or not values:
        raise UsageError(f"query term {word!r} has no value")
    if key == "status":
        unknown = [v for v in values if v not in _STATUSES]
        if unknown:
            raise UsageError(f"query term {word!r}: unknown status {unknown[0]!r} "
                             f"(statuses: {', '.join(sorted(_STATUSES))})")
    return Term(key, values, negated)
