"""The dashboard's book of its Managers' ETAs and their words (no Qt): a Manager's answer replaces its
last one, a Manager not answered yet shows that it is asked, one without ETAs leaves the job to the
dashboard's own estimate."""

from __future__ import annotations

from datetime import UTC, datetime

from app.api.jobs import JobEta, JobEtas
from app.ui.manager_eta import EtaBook, ManagerEta, eta_sort_key, job_eta_words, manager_eta_words
from tests.ui.typed_rows import job

AT = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def _eta(at: str = "2026-01-01T12:10:00Z") -> JobEta:
    return JobEta(at=at, low="2026-01-01T12:08:00Z", high="2026-01-01T12:20:00Z", seconds=600,
                  computed="2026-01-01T12:00:00Z", source="type", basis=1, workers=[])


def test_each_managers_answer_replaces_its_last_and_leaves_the_others():
    book = EtaBook()
    assert book.of("m1", "j1") is None and book.gives("m1") is False  # never asked: not ours
    book.asking("m1")
    assert book.of("m1", "j1") == "asking the Manager for its ETA" and book.gives("m1") is None
    book.answered("m1", JobEtas(jobs={"j1": _eta()}, reasons={"j2": "the job is paused"}))
    book.asking("m2")
    book.answered("m2", JobEtas(jobs={"j1": _eta("2026-01-01T13:00:00Z")}))
    found = book.of("m1", "j1")
    assert isinstance(found, ManagerEta) and found.at == datetime(2026, 1, 1, 12, 10, tzinfo=UTC)
    assert book.of("m1", "j2") == "the job is paused" and book.of("m1", "j3") == "the Manager has no ETA for it yet"
    book.answered("m1", JobEtas(jobs={}))
    assert book.of("m1", "j1") == "the Manager has no ETA for it yet"
    assert isinstance(book.of("m2", "j1"), ManagerEta)
    book.answered("m2", None)  # an older Manager: the dashboard's own estimate serves
    assert book.of("m2", "j1") is None and book.gives("m2") is False


def test_the_words_count_down_to_the_managers_times():
    eta = ManagerEta(AT.replace(minute=10), AT.replace(minute=8), AT.replace(minute=20), "file", 12, 2)
    row = job(status="active")
    text, why = manager_eta_words(row, eta, AT)
    assert text == "10 min (8 min – 20 min)"
    assert why == ("about 10 min, between 8 min and 20 min, from 12 finished tasks of earlier jobs of this "
                   ".blend file and 2 workers")
    assert manager_eta_words(row, eta, AT.replace(hour=13))[0] == "0 s (0 s – 0 s)"
    assert manager_eta_words(row, "no awake worker takes its tasks", AT) == ("—", "no awake worker takes its tasks")
    assert manager_eta_words(job(status="paused"), eta, AT)[0] == "paused"
    assert job_eta_words(job(status="completed"), eta)[0] == "done"
    assert job_eta_words(job(status="queued", steps_total=4), None)[0] == "—"  # no estimate of its own
    assert eta_sort_key(row, "why not") == float("inf") and eta_sort_key(job(status="failed"), eta) == float("inf")
