"""The OpenAPI description against what a live server does: Schemathesis generates requests from
it (valid and invalid) for every operation, as an admin, an agent and a light agent, and checks
each answer — no server error, only declared status codes and content types, bodies that match
their schemas, invalid requests refused, ``Allow`` on 405 — against a real uvicorn on SQLite. The
stateful phase follows the OpenAPI links (``server/routes/links.py``): a ticket created, then read,
replied to, noted, changed and merged; an article or macro created, then read and changed; a
ticket's requester read and changed.

Two checks are left out. That every request the schema allows is accepted: the query language,
page cursors, pushed mutations' arguments and idempotency keys reused with another body are
checked by the server beyond what a JSON schema can say, and refused with a 4xx naming the field.
And that a created resource can be read back by its creator: an agent may file a ticket into a
group they cannot see (handing it to another team), and reading it is then a 404 by design.

The sample is fixed (``--seed``) so that CI is repeatable; ``SCHEMATHESIS_SEED=random`` draws a new
one. The server runs with ``--feedback-limit 0``: the survey link allows 30 requests a minute per
address, so a few seconds into the run every survey request was a 429 and the fuzzer never
reached the survey's parser. Random samples twice found a "schema-violating request accepted" on
``/v1/feedback/{token}`` that could not be replayed: a comment over the schema's 5,000 characters
answered 413 (a status Schemathesis does not count as refusing bad data) when its characters were
wide enough to pass the then 16 KiB body limit, and 422 when they were not — by then the minute's
30 requests were spent, so a replay got a 429. The limit is now 64 KiB, which every answer the
schema allows fits (``test_feedback.py::test_every_answer_the_schema_allows_fits_…``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from tests.live import Deployment, deploy

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Deployment]:
    """A server whose survey links are not rate-limited (see the module docstring)."""
    with deploy("sqlite", tmp_path, extra=("--feedback-limit", "0")) as running:
        yield running


#: The event stream does not end by itself: each generated request waits until the server cuts
#: the stream (~27 s), so fuzzing it ten times in each of the three runs below took 272 of each
#: run's 286 s. It is fuzzed once, apart (:func:`test_the_event_stream_keeps_its_contract`).
EVENTS = "/v1/events"


def schemathesis(deployment: Deployment, who: str, *, phases: str, max_examples: int, paths: list[str]) -> str:
    """Run Schemathesis against the live server as ``who``; its report, asserted free of failures."""
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{deployment.server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {deployment.team.tokens[who]}",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance,ensure_resource_availability",
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        *paths,
    ]
    # CI replays one fixed sample so that a red run can be replayed; SCHEMATHESIS_SEED=random
    # (or another number) explores further
    seed = os.environ.get("SCHEMATHESIS_SEED", "20261206")
    if seed != "random":
        command += ["--seed", seed]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=deployment.tmp_path)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert "Tested:" in run.stdout and "Failures:" not in run.stdout
    return run.stdout


@pytest.mark.parametrize("who", ["ada", "sam", "lee"])
def test_the_server_keeps_its_openapi_contract(live_server: Deployment, who: str) -> None:
    deployment = live_server
    args = {"subject": "Printer on fire", "body": "It smokes.", "requester": {"value": "carol@example.com"}}
    apply_as(deployment.team.db, SYSTEM, "ticket.create", {**args, "group_id": deployment.team.tier1})
    report = schemathesis(
        deployment, who, phases="examples,fuzzing,stateful", max_examples=10, paths=["--exclude-path", EVENTS]
    )
    assert "✅ Stateful" in report  # the links were followed: create, then read and write it


def test_the_event_stream_keeps_its_contract(live_server: Deployment) -> None:
    """The stream's answers (an event stream, or a JSON error) as its OpenAPI says, once."""
    report = schemathesis(
        live_server, "sam", phases="examples,fuzzing", max_examples=1, paths=["--include-path", EVENTS]
    )
    assert "Selected: 1/" in report
