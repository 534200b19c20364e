"""Retry delays, and how often repeated failures are logged."""

from __future__ import annotations

import re

from app.worker.backoff import LOUD_FAILURES, REMIND_EVERY_S, Backoff


def test_delays_grow_to_the_maximum_and_reset() -> None:
    backoff = Backoff(1.0, 8.0)
    delays = [backoff.next_delay() for _ in range(6)]
    for delay, expected in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert abs(delay - expected) <= 0.1 * expected  # the jitter is 10 %
    assert backoff.failures == 6
    backoff.reset()
    assert backoff.failures == 0 and abs(backoff.next_delay() - 1) <= 0.1


def test_a_long_outage_logs_a_line_a_minute_not_one_per_retry() -> None:
    now = [0.0]
    lines: list[str] = []
    backoff = Backoff(0.5, 5.0, clock=lambda: now[0])

    def log(message: str, *args: object) -> None:
        lines.append(message % args)

    for _ in range(100):  # 100 failures, 5 s apart: about eight minutes of outage
        backoff.failed(log, "cannot sign on at %s", "http://farm:8080")
        now[0] += 5.0
    assert len(lines) == LOUD_FAILURES + int((100 - LOUD_FAILURES) * 5.0 // REMIND_EVERY_S)
    assert all(line.startswith("cannot sign on at http://farm:8080; ") for line in lines)
    assert "retrying in" in lines[0]
    reminder = re.search(r"; (\d+) failures in a row", lines[-1])
    assert reminder and LOUD_FAILURES < int(reminder.group(1)) <= 100

    backoff.reset()  # the Manager answered; the next outage is reported in full again
    lines.clear()
    for _ in range(LOUD_FAILURES):
        backoff.failed(log, "cannot sign on at %s", "http://farm:8080")
    assert len(lines) == LOUD_FAILURES
