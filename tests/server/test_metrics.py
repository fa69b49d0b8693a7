"""``/metrics`` against a real server: only the metrics token or an admin may scrape; what it
shows counts requests by route *template*, so no customer's data reaches a label, and hostile
paths and methods cannot grow the series."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supportdesk.server.metrics import Metrics
from tests.channels.server_helpers import wait_for
from tests.live import Deployment, deploy
from tests.server.test_streams import open_stream

pytestmark = pytest.mark.integration

SCRAPE_TOKEN = "scrape-" + "k" * 40
#: What a hostile customer or caller puts where a careless exporter would copy it into a label.
SECRET_EMAIL = "victim.person@private-example.test"
SECRET_SUBJECT = 'Refund "card 4111" \\ \n{le="x"}'


@pytest.fixture(params=["sqlite", "postgresql"])
def scraped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    with deploy(request.param, tmp_path, env={"SUPPORTDESK_METRICS_TOKEN": SCRAPE_TOKEN}) as running:
        yield running


def _scrape(deployment: Deployment, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{deployment.server.url}/metrics", headers=headers, timeout=60)


def test_only_the_metrics_token_or_an_admin_may_scrape(scraped: Deployment) -> None:
    tokens = scraped.team.tokens
    refused = {
        "no token": (None, 401),
        "a wrong token": ("scrape-" + "x" * 40, 401),
        "the metrics token with a byte more": (SCRAPE_TOKEN + "k", 401),
        "an agent's token": (tokens["sam"], 403),
        "a light agent's token": (tokens["lee"], 403),
    }
    for what, (token, status) in refused.items():
        answer = _scrape(scraped, token)
        assert answer.status_code == status, what
        assert answer.json()["error"]["code"] in ("unauthenticated", "forbidden"), what
        assert "supportdesk_" not in answer.text, what
    for token in (SCRAPE_TOKEN, tokens["ada"]):
        answer = _scrape(scraped, token)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "# TYPE supportdesk_http_requests_total counter" in answer.text


def test_labels_hold_route_templates_never_what_a_caller_or_customer_sent(scraped: Deployment) -> None:
    from supportdesk.domain.context import SYSTEM
    from supportdesk.server.apply import apply_as

    args = {"subject": SECRET_SUBJECT, "body": "my card", "requester": {"value": SECRET_EMAIL}}
    number = apply_as(scraped.team.db, SYSTEM, "ticket.create", args)[0]["number"]
    with scraped.api("ada") as admin:
        assert admin.get(f"/v1/tickets/{number}").status_code == 200
        admin.get(f"/v1/tickets/{SECRET_EMAIL}")
        admin.get(f"/v1/{SECRET_EMAIL}/nowhere")
        admin.request("FROBNICATE", "/v1/tickets")
        admin.get("/v1/tickets", params={"query": SECRET_EMAIL})
    text = _scrape(scraped, SCRAPE_TOKEN).text
    assert SECRET_EMAIL not in text
    assert "victim" not in text and "4111" not in text and "FROBNICATE" not in text
    assert re.search(
        r'supportdesk_http_requests_total\{[^}]*method="GET",route="/v1/tickets/\{[a-z_]+\}",status="200"\}', text
    )
    assert 'route="unmatched",status="404"' in text
    assert 'method="other"' in text
    # every sample line is well formed: a name, labels of plain quoted values, a number
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\\n]|\\.)*",?)*\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line


def test_it_counts_pushes_open_streams_pool_and_queues(scraped: Deployment) -> None:
    stream = open_stream(scraped, "sam")
    try:
        with scraped.api("sam") as sam:
            body = {
                "client_id": "client-metrics-1",
                "schema_version": 1,
                "mutations": [
                    {
                        "id": 1,
                        "name": "ticket.create",
                        "args": {"subject": "Printer", "body": "smokes", "requester": {"value": "a@example.com"}},
                    }
                ],
            }
            assert sam.post("/v1/push", json=body).json()["results"][0]["ok"]
        text = _scrape(scraped, SCRAPE_TOKEN).text
        assert re.search(
            r'supportdesk_mutations_total\{worker="\d+",mutation="ticket.create",source="push"\} 1$', text, re.M
        )
        assert re.search(r'supportdesk_push_duration_seconds_count\{worker="\d+"\} 1$', text, re.M)
        assert re.search(r'supportdesk_push_duration_seconds_bucket\{worker="\d+",le="\+Inf"\} 1$', text, re.M)
        assert re.search(r"supportdesk_event_streams_open\{worker=\"\d+\"\} 1$", text, re.M)
        assert 'supportdesk_outbox_messages{status="queued"} 0' in text
        assert "supportdesk_webhook_deliveries_pending 0" in text
        assert "supportdesk_database_up 1" in text
        if scraped.backend == "postgresql":
            assert re.search(r"supportdesk_db_pool_size\{worker=\"\d+\"\} \d+", text)
    finally:
        stream.close()
    # the stream is let go when its client leaves (the server notices at its next write)
    wait_for(
        lambda: (
            not re.search(
                r"supportdesk_event_streams_open\{worker=\"\d+\"\} 1$", _scrape(scraped, SCRAPE_TOKEN).text, re.M
            )
        ),
        "the closed stream no longer counted",
        timeout=60,
    )


def test_counting_is_safe_from_many_threads() -> None:
    metrics = Metrics()

    def hammer() -> None:
        for _ in range(2000):
            metrics.record_request("POST", "/v1/push", 200, 0.003)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert metrics.requests[("POST", "/v1/push", 200)] == 16000
    assert sum(metrics.push_buckets) == 16000
