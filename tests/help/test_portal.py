"""The customer portal on a real server with a real SMTP relay: the sign-in link is read from
the mail the relay received, and every customer sees only their own requests."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase
from tests.channels.smtp_helpers import RecordingRelay, relay
from tests.help.conftest import HELP_TABLE, HelpServer, hidden, start_help_server

pytestmark = pytest.mark.integration

TICKETS: dict[str, Any] = {}


def _tickets(database: ServerDatabase) -> None:
    for who, subject in (("rita@example.com", "Kettle leaks"), ("bob@example.com", "Bob's private matter")):
        created, _ = apply_as(
            database,
            SYSTEM,
            "ticket.create",
            {"subject": subject, "body": f"Help, {who}", "requester": {"kind": "email", "value": who, "name": who}},
        )
        TICKETS[who] = created
    rita = TICKETS["rita@example.com"]["ticket_id"]
    apply_as(database, SYSTEM, "ticket.note", {"ticket_id": rita, "body": "INTERNAL: customer is difficult"})
    apply_as(database, SYSTEM, "ticket.reply", {"ticket_id": rita, "body": "We are sending a new kettle."})


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HelpServer, RecordingRelay]]:
    handler = RecordingRelay()
    with relay(handler) as port:
        started = start_help_server(
            tmp_path_factory.mktemp("portal"), {**HELP_TABLE, "form_per_address": 10}, relay_port=port, prepare=_tickets
        )
        try:
            yield started, handler
        finally:
            started.server.stop()


def _link_for(handler: RecordingRelay, address: str, seen: int) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with handler.lock:
            mails = [m for m in handler.received if address in m.rcpt_tos]
        if len(mails) > seen:
            body = mails[-1].message.get_content()
            found = re.search(r"http://\S+/help/requests/sign-in/\S+", body)
            assert found, body
            return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no sign-in mail to {address}")


def _sign_in(client: Any, path: str) -> Any:
    """Open a mailed link and press its one button (opening alone spends nothing)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    return client.post(path, data={"csrf": hidden(page.text, "csrf")}, follow_redirects=True)


def _ask_link(client: Any, address: str) -> Any:
    page = client.get("/help/requests").text
    return client.post("/help/requests/sign-in", data={"csrf": hidden(page, "csrf"), "email": address})


def test_sign_in_by_mailed_link_and_see_only_ones_own_requests(portal: tuple[HelpServer, RecordingRelay]) -> None:
    server, handler = portal
    rita, bob = TICKETS["rita@example.com"], TICKETS["bob@example.com"]
    with server.client() as client:
        known = _ask_link(client, "rita@example.com")
        unknown = _ask_link(client, "nobody@example.com")
        assert known.status_code == unknown.status_code == 200
        assert known.text.replace("rita@example.com", "X") == unknown.text.replace("nobody@example.com", "X")
        link = _link_for(handler, "rita@example.com", 0)
        assert link.startswith(server.url)
        assert client.get(link.removeprefix(server.url)).status_code == 200  # a mail scanner's fetch
        signed = _sign_in(client, link.removeprefix(server.url))
        assert "Kettle leaks" in signed.text and "Bob" not in signed.text
        page = client.get(f"/help/requests/{rita['number']}").text
        assert "We are sending a new kettle." in page and "INTERNAL" not in page
        assert client.get(f"/help/requests/{bob['number']}").status_code == 404
        assert client.get("/help/requests/999999").status_code == 404
        # the link works once
    with server.client() as thief:
        assert thief.get(link.removeprefix(server.url)).status_code == 403
        assert thief.post(link.removeprefix(server.url), data={"csrf": "0" * 64}).status_code == 403
        tampered = link.removeprefix(server.url)[:-1] + ("0" if not link.endswith("0") else "1")
        assert thief.get(tampered).status_code == 403
        assert thief.get(f"/help/requests/{rita['number']}").status_code == 401
    with handler.lock:
        assert not [m for m in handler.received if "nobody@example.com" in m.rcpt_tos]


def test_a_reply_becomes_the_customers_message(portal: tuple[HelpServer, RecordingRelay]) -> None:
    server, handler = portal
    rita = TICKETS["rita@example.com"]
    with handler.lock:
        seen = len([m for m in handler.received if "rita@example.com" in m.rcpt_tos])
    with server.client() as client:
        _ask_link(client, "rita@example.com")
        _sign_in(client, _link_for(handler, "rita@example.com", seen).removeprefix(server.url))
        page = client.get(f"/help/requests/{rita['number']}").text
        sent = client.post(
            f"/help/requests/{rita['number']}/reply",
            data={"csrf": hidden(page, "csrf"), "body": "Thanks! <script>x()</script>"},
            follow_redirects=True,
        )
        assert sent.status_code == 200 and "Thanks! &lt;script&gt;x()&lt;/script&gt;" in sent.text
        forged = client.post(f"/help/requests/{rita['number']}/reply", data={"csrf": "0" * 64, "body": "forged"})
        assert forged.status_code == 422 and "expired" in forged.text
    assert (
        server.scalar(
            "SELECT count(*) FROM message WHERE ticket_id = :t AND author_kind = 'customer' AND body LIKE 'Thanks!%'",
            t=rita["ticket_id"],
        )
        == 1
    )
    assert server.scalar("SELECT count(*) FROM message WHERE body = 'forged'") == 0


def test_the_customer_solves_and_rates(portal: tuple[HelpServer, RecordingRelay]) -> None:
    server, handler = portal
    rita = TICKETS["rita@example.com"]
    with handler.lock:
        seen = len([m for m in handler.received if "rita@example.com" in m.rcpt_tos])
    with server.client() as client:
        _ask_link(client, "rita@example.com")
        _sign_in(client, _link_for(handler, "rita@example.com", seen).removeprefix(server.url))
        page = client.get(f"/help/requests/{rita['number']}").text
        assert client.post(f"/help/requests/{rita['number']}/solve", data={"csrf": "1" * 64}).status_code == 403
        assert server.scalar("SELECT status FROM ticket WHERE id = :t", t=rita["ticket_id"]) != "solved"
        solved = client.post(
            f"/help/requests/{rita['number']}/solve", data={"csrf": hidden(page, "csrf")}, follow_redirects=True
        )
        assert "This request is solved." in solved.text
        assert server.scalar("SELECT status FROM ticket WHERE id = :t", t=rita["ticket_id"]) == "solved"
        rate = re.search(r'href="(/v1/feedback/[^"]+)"', solved.text)
        assert rate, "a solved ticket links to its satisfaction survey"
        answered = client.post(rate.group(1), json={"csat": "good"})
        assert answered.status_code == 200, answered.text
        assert "Rate our help" not in client.get(f"/help/requests/{rita['number']}").text


def test_an_erased_customers_session_and_links_stop_working(portal: tuple[HelpServer, RecordingRelay]) -> None:
    server, handler = portal
    bob = TICKETS["bob@example.com"]
    with server.client() as client:
        _ask_link(client, "bob@example.com")
        first = _link_for(handler, "bob@example.com", 0)
        _ask_link(client, "bob@example.com")
        second = _link_for(handler, "bob@example.com", 1)
        _sign_in(client, first.removeprefix(server.url))
        assert "private matter" in client.get("/help/requests").text
        customer = server.scalar("SELECT requester_id FROM ticket WHERE id = :t", t=bob["ticket_id"])
        with server.admin() as admin:
            pushed = admin.post(
                "/v1/push",
                json={
                    "client_id": "erase-test",
                    "schema_version": 1,
                    "mutations": [{"id": 1, "name": "customer.erase", "args": {"customer_id": customer}}],
                },
            )
            assert pushed.status_code == 200, pushed.text
        assert client.get("/help/requests").status_code == 200
        assert "Mail me a sign-in link" in client.get("/help/requests").text
        assert client.get(second.removeprefix(server.url)).status_code == 403
