"""``supportdesk serve`` writes one line per request with its id, the agent, the status and the
time taken (issue 13, "Operating it"), and the id follows the request: answered in
``X-Request-Id``, written in a REST write's audit reference. A real server process, its real log.

Hostile cases: a path carrying a line break and an escape sequence cannot forge a second line or
reach the operator's terminal; a forged ``X-Request-Id`` (too long, odd characters) is replaced;
values in the path and the query string — a customer's words — are never written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from supportdesk.server.request_log import log_config, safe
from tests.channels.server_helpers import wait_for
from tests.live import Deployment, api, deploy

pytestmark = pytest.mark.integration

LINE = re.compile(
    r"^\S+ \S+ INFO supportdesk\.server\.requests: request id=(?P<id>\S+) method=(?P<method>\S+)"
    r" path=(?P<path>\S+) status=(?P<status>\d+) ms=(?P<ms>\d+\.\d)"
    r"(?: agent=(?P<agent>\S+))?(?: token=(?P<token>\S+))?$"
)


def _lines(deployment: Deployment) -> list[re.Match[str]]:
    text = deployment.server.log.read_text(errors="replace")
    return [found for line in text.splitlines() if (found := LINE.match(line))]


def _line_of(deployment: Deployment, request_id: str) -> re.Match[str]:
    def logged() -> re.Match[str] | None:
        return next((found for found in _lines(deployment) if found["id"] == request_id), None)

    found = wait_for(logged, f"the log line of request {request_id}")
    assert found is not None
    return found


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    with deploy("sqlite", tmp_path) as running:
        yield running


def test_each_request_has_one_line_with_its_id_agent_status_and_time(deployment: Deployment) -> None:
    with api(deployment.server, deployment.team.tokens["ada"]) as client:
        listed = client.get("/v1/tickets", params={"query": "secretword refund"})
        assert listed.status_code == 200, listed.text
        refused = client.get("/v1/tickets/999999")
        assert refused.status_code == 404
    anonymous = httpx.get(f"{deployment.server.url}/v1/tickets", timeout=30)
    assert anonymous.status_code == 401

    line = _line_of(deployment, listed.headers["x-request-id"])
    assert (line["method"], line["path"], line["status"], line["agent"]) == (
        "GET",
        "/v1/tickets",
        "200",
        "Ada\\x20Admin",
    )
    assert float(line["ms"]) >= 0
    # the route that answered, not the values in the path
    missing = _line_of(deployment, refused.headers["x-request-id"])
    assert (missing["path"], missing["status"]) == ("/v1/tickets/{number}", "404")
    assert "999999" not in deployment.server.log.read_text(errors="replace")
    nobody = _line_of(deployment, anonymous.headers["x-request-id"])
    assert nobody["status"] == "401" and nobody["agent"] is None
    # the query string (a customer's words) is written nowhere
    assert "secretword" not in deployment.server.log.read_text(errors="replace")
    ids = [found["id"] for found in _lines(deployment)]
    assert len(ids) == len(set(ids)), "two requests shared an id"


def test_a_rest_write_carries_its_request_id_into_the_audit(deployment: Deployment) -> None:
    with api(deployment.server, deployment.team.tokens["ada"]) as client:
        created = client.post(
            "/v1/tickets",
            json={"subject": "Printer", "body": "jammed", "requester": {"email": "p@example.com"}},
            headers={"X-Request-Id": "lb-7f3a.19_x"},
        )
    assert created.status_code == 201, created.text
    assert created.headers["x-request-id"] == "lb-7f3a.19_x"  # the proxy's own id is kept
    assert _line_of(deployment, "lb-7f3a.19_x")["status"] == "201"
    with deployment.team.db.engine.connect() as connection:
        refs = {
            ref
            for (ref,) in connection.exec_driver_sql(
                "SELECT DISTINCT mutation_ref FROM audit_event WHERE mutation = 'ticket.create'"
            )
        }
    assert any(ref.startswith("api:lb-7f3a.19_x:") for ref in refs), refs


@pytest.mark.parametrize(
    "forged",
    ["x" * 37, "id with spaces", "a:b", "é-unicode", "<script>", "1;DROP"],
)
def test_a_forged_request_id_is_replaced(deployment: Deployment, forged: str) -> None:
    answer = httpx.get(
        f"{deployment.server.url}/v1/health", headers={"X-Request-Id": forged.encode("utf-8")}, timeout=30
    )
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] != forged
    assert re.fullmatch(r"[0-9a-f-]{36}", answer.headers["x-request-id"])
    _line_of(deployment, answer.headers["x-request-id"])


def test_a_hostile_path_stays_on_its_own_line_and_sends_no_escape(deployment: Deployment) -> None:
    # %0a: a line break that would forge a second line; %1b[2J: clear the operator's screen
    path = "/no%0a2099-01-01%2000:00:00%20INFO%20supportdesk.server.requests:%20request%20id=forged%1b[2J/x"
    answer = httpx.get(f"{deployment.server.url}{path}", timeout=30)
    assert answer.status_code == 404
    line = _line_of(deployment, answer.headers["x-request-id"])
    assert line["status"] == "404" and line["path"].startswith("unmatched:/no\\x0a2099")
    assert "\\x1b" in line["path"] and line["path"].endswith("/...")
    text = deployment.server.log.read_text(errors="replace")
    assert "\x1b" not in text
    assert not any(found["id"] == "forged" for found in _lines(deployment))


def test_of_a_path_no_route_has_only_the_first_segment_is_written(deployment: Deployment) -> None:
    """A sign-in link's token sent with a slash too many matches no route; it is not logged."""
    secret = "Zq3kSECRETtokenVALUE9x"
    answer = httpx.get(f"{deployment.server.url}/help/sign-in/{secret}/extra/", timeout=30)
    assert answer.status_code == 404
    assert _line_of(deployment, answer.headers["x-request-id"])["path"] == "unmatched:/help/..."
    assert secret not in deployment.server.log.read_text(errors="replace")


def test_safe_escapes_everything_but_printable_ascii() -> None:
    assert safe("/v1/tickets") == "/v1/tickets"
    assert safe("a b\nc\x1b[0m\u202eé😀") == "a\\x20b\\x0ac\\x1b[0m\\u202e\\xe9\\U0001f600"
    assert safe("x" * 100, cap=10) == "x" * 10 + "..."


def test_the_log_configuration_gives_our_loggers_a_handler_at_the_asked_level() -> None:
    for level, number in (("info", 20), ("warning", 30), ("debug", 10), ("trace", 5)):
        ours = log_config(level)["loggers"]["supportdesk"]
        assert ours["level"] == number and ours["handlers"] == ["supportdesk"] and ours["propagate"] is False
