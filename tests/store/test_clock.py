"""The process's one clock: what every layer reads as "now", pinned by tests and by
``SUPPORTDESK_NOW`` for the processes a test starts."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from supportdesk.store import times
from supportdesk.store.query import compile_query
from tests.conftest import DEMO_NOW, TestClock


def test_the_suite_reads_the_demo_calendar_whatever_the_date(clock: TestClock) -> None:
    assert abs(times.utcnow() - DEMO_NOW) < timedelta(hours=2)  # the suite started at DEMO_NOW
    clock.freeze(DEMO_NOW)
    assert times.utcnow() == DEMO_NOW
    clock.advance(timedelta(days=3))
    assert times.utcnow() == DEMO_NOW + timedelta(days=3)


def test_the_query_compiler_reads_the_same_clock(clock: TestClock) -> None:
    clock.freeze(DEMO_NOW)
    compiled = compile_query("created>7d")
    assert times.to_db(DEMO_NOW - timedelta(days=7)) in [str(v) for v in compiled.params.values()]


def run_clock(env_value: str | None) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != times.NOW_VARIABLE}
    if env_value is not None:
        env[times.NOW_VARIABLE] = env_value
    code = "from supportdesk.store.times import utcnow; print(utcnow().isoformat())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


@pytest.mark.integration
def test_a_process_started_with_supportdesk_now_reads_that_calendar() -> None:
    anchored = run_clock("2030-01-02T03:04:05Z@" + repr(datetime.now(UTC).timestamp()))
    read = datetime.fromisoformat(anchored.stdout.strip())
    assert timedelta(0) <= read - datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) < timedelta(minutes=1)
    started = datetime.fromisoformat(run_clock("2030-01-02T03:04:05").stdout.strip())
    assert timedelta(0) <= started - datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC) < timedelta(minutes=1)
    real = datetime.fromisoformat(run_clock(None).stdout.strip())
    assert abs(real - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.mark.integration
def test_a_bad_supportdesk_now_is_a_sentence() -> None:
    failed = run_clock("next tuesday")
    assert failed.returncode != 0
    assert "'next tuesday' is not an ISO 8601 instant" in failed.stderr
