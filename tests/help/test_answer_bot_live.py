"""The answer bot on a real server (``[help] bot = true``) and in a real headless Chromium.

A request filed through the web form gets the bot's answer (written by the server's worker),
whose signed "yes" link solves it in the browser; forged, replayed and crossed links, another
customer's ticket and a missing CSRF token are refused over plain HTTP.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase
from tests.channels.smtp_helpers import RecordingRelay, relay
from tests.help.conftest import HELP_TABLE, HelpServer, hidden, start_help_server
from tests.help.test_browser import axe_violations, browser, photograph, wait_until  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration

REFUND = "How long until the money for my returned order is back on my card?"
WAIT = 60
OTHER: dict[str, Any] = {}
RELAY: list[RecordingRelay] = []


def _other_customers_ticket(database: ServerDatabase) -> None:
    created, _ = apply_as(
        database,
        SYSTEM,
        "ticket.create",
        {
            "subject": "Bob's refund",
            "body": "Bob's private question",
            "requester": {"kind": "email", "value": "bob@example.com", "name": "Bob"},
        },
    )
    OTHER.update(created)


@pytest.fixture(scope="module")
def bot_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpServer]:
    handler = RecordingRelay()
    RELAY[:] = [handler]
    with relay(handler) as port:
        started = start_help_server(
            tmp_path_factory.mktemp("bot"),
            {**HELP_TABLE, "form_per_address": 20, "bot": True},
            relay_port=port,
            prepare=_other_customers_ticket,
        )
        try:
            yield started
        finally:
            started.server.stop()


def file_request(server: HelpServer, email: str, subject: str, description: str) -> str:
    """File through the web form as a browser would; the new ticket's number."""
    with server.client() as client:
        page = client.get("/help/new")
        sent = client.post(
            "/help/new",
            data={
                "csrf": hidden(page.text, "csrf"),
                "form_id": hidden(page.text, "form_id"),
                "name": "Rita Ray",
                "email": email,
                "subject": subject,
                "description": description,
                "action": "send",
            },
        )
    assert sent.status_code == 200, sent.text
    found = re.search(r"#(\d+)", sent.text)
    assert found
    return found.group(1)


def bot_reply(server: HelpServer, number: str) -> str | None:
    """The bot's reply on ticket ``number`` once the worker wrote it (waits), or None."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        body = server.scalar(
            "SELECT m.body FROM message m JOIN ticket t ON t.id = m.ticket_id "
            "WHERE t.number = :n AND m.author_kind = 'system' AND m.body LIKE '%Did this solve it%'",
            n=int(number),
        )
        if body:
            return str(body)
        time.sleep(0.1)
    return None


def links(reply: str) -> tuple[str, str]:
    yes = re.search(r"Yes, it did: (http://\S+)", reply)
    no = re.search(r"No, I still need help: (http://\S+)", reply)
    assert yes and no, reply
    return yes.group(1), no.group(1)


def press(client: httpx.Client, url: str) -> httpx.Response:
    """Open a link's page and press its button (the page's CSRF token, the browser's cookie)."""
    page = client.get(url)
    if page.status_code != 200:
        return page
    return client.post(url, data={"csrf": hidden(page.text, "csrf")})


def test_no_sends_the_request_to_the_queue_and_links_work_once(bot_server: HelpServer) -> None:
    number = file_request(bot_server, "nora@example.com", "Refund", REFUND)
    reply = bot_reply(bot_server, number)
    assert reply is not None and "Refunds and returns" in reply and "/help/articles/refunds" in reply
    yes, no = links(reply)
    status = "SELECT status FROM ticket WHERE number = :n"
    assert bot_server.scalar(status, n=int(number)) == "pending"
    with bot_server.client() as client:
        # opening a link (a mail scanner) records nothing
        assert client.get(no).status_code == 200 and client.get(yes).status_code == 200
        assert bot_server.scalar(status, n=int(number)) == "pending"
        # a post without the page's CSRF token records nothing
        assert client.post(no, data={}).status_code == 403
        assert client.post(no, data={"csrf": "0" * 64}).status_code == 403
        assert bot_server.scalar(status, n=int(number)) == "pending"
        answered = press(client, no)
        assert answered.status_code == 200 and "a person will answer" in answered.text
        assert bot_server.scalar(status, n=int(number)) == "open"
        note = bot_server.scalar(
            "SELECT m.body FROM message m JOIN ticket t ON t.id = m.ticket_id WHERE t.number = :n AND NOT m.public",
            n=int(number),
        )
        assert "Refunds and returns" in note
        # replayed, or the other link afterwards: refused, nothing changes
        for url in (no, yes):
            again = client.get(url)
            assert again.status_code == 403 and "does not work" in again.text
            token = url.rsplit("/", 1)[1]
            page = client.get("/help/new")
            late = client.post(f"/help/answers/{token}", data={"csrf": hidden(page.text, "csrf")})
            assert late.status_code == 409
        assert bot_server.scalar(status, n=int(number)) == "open"
    with bot_server.admin() as admin:
        figures = admin.get("/v1/help/figures").json()
    assert figures["bot_answers"] >= 1 and figures["bot_declined"] >= 1


def test_forged_and_crossed_links_are_refused(bot_server: HelpServer) -> None:
    number = file_request(bot_server, "fred@example.com", "Refund", REFUND)
    reply = bot_reply(bot_server, number)
    assert reply is not None
    yes, _no = links(reply)
    token = yes.rsplit("/", 1)[1]
    ticket_id, _verdict, mac = token.split(".")
    forged = [
        f"{OTHER['ticket_id']}.y.{mac}",  # another customer's ticket with this link's signature
        f"{ticket_id}.y.{'0' * 40}",
        f"{ticket_id}.Y.{mac}",
        f"{ticket_id}.y.{mac}<script>",
        "..%2F..%2Fv1%2Fhealth",
        "x" * 300,
    ]
    with bot_server.client() as client:
        page = client.get("/help/new")
        csrf = hidden(page.text, "csrf")
        for bad in forged:
            assert client.get(f"/help/answers/{bad}").status_code in (403, 404)
            assert client.post(f"/help/answers/{bad}", data={"csrf": csrf}).status_code in (403, 404, 413)
    assert bot_server.scalar("SELECT status FROM ticket WHERE number = :n", n=int(number)) == "pending"
    assert bot_server.scalar("SELECT status FROM ticket WHERE id = :t", t=OTHER["ticket_id"]) == "new"


def test_a_question_no_article_answers_gets_no_bot(bot_server: HelpServer) -> None:
    number = file_request(bot_server, "olga@example.com", "Visit", "Do you have an office in Australia? We'd visit.")
    other = file_request(bot_server, "olga2@example.com", "Refund", REFUND)
    assert bot_reply(bot_server, other) is not None  # the worker has passed the first one
    assert (
        bot_server.scalar(
            "SELECT count(*) FROM message m JOIN ticket t ON t.id = m.ticket_id "
            "WHERE t.number = :n AND m.body LIKE '%Did this solve it%'",
            n=int(number),
        )
        == 0
    )


def test_the_bots_answer_solves_a_request_in_the_browser(browser: Any, bot_server: HelpServer) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{bot_server.url}/help/new")
    browser.find_element(By.ID, "subject").send_keys("Money back?")
    browser.find_element(By.ID, "email").send_keys("bea@example.com")
    browser.find_element(By.ID, "description").send_keys(REFUND)
    browser.find_element(By.CSS_SELECTOR, "button[value=send]").click()
    status = wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "p.ok"))[0]
    number = re.search(r"#(\d+)", status.text)
    assert number
    reply = bot_reply(bot_server, number.group(1))
    assert reply is not None
    yes, _no = links(reply)
    browser.get(yes)
    button = wait_until(browser, lambda d: d.find_elements(By.ID, "bot-yes"))[0]
    assert axe_violations(browser) == []
    photograph(browser, "bot-answer")
    button.click()
    wait_until(browser, lambda d: "Glad we could help" in d.find_element(By.TAG_NAME, "h1").text)
    assert f"#{number.group(1)} is solved" in browser.find_element(By.CSS_SELECTOR, "p.ok").text
    photograph(browser, "bot-solved")
    row = bot_server.scalar("SELECT status FROM ticket WHERE number = :n", n=int(number.group(1)))
    assert row == "solved"
    # the link replayed in the browser: refused, the ticket stays solved
    browser.get(yes)
    assert "This link does not work" in browser.find_element(By.TAG_NAME, "h1").text


def _mail(sender: str, subject: str, body: str, *extra: str) -> bytes:
    headers = [
        f"From: {sender}",
        "To: support@acme.test",
        f"Subject: {subject}",
        f"Message-ID: <{abs(hash((sender, subject)))}@example.com>",
        "Date: Mon, 23 Nov 2026 09:00:00 +0000",
        *extra,
    ]
    return ("\r\n".join(headers) + "\r\n\r\n" + body + "\r\n").encode()


def _mails_to(address: str) -> list[Any]:
    with RELAY[0].lock:
        return [m for m in RELAY[0].received if address in m.rcpt_tos]


def test_mail_gets_the_answer_by_mail_and_automated_mail_gets_none(bot_server: HelpServer) -> None:
    with bot_server.admin() as client:
        robot = client.post(
            "/v1/channels/email",
            content=_mail("robot@example.com", "Out of office: refund", REFUND, "Auto-Submitted: auto-replied"),
        )
        person = client.post("/v1/channels/email", content=_mail("mia@example.com", "Refund", REFUND))
    assert robot.status_code == 200 and person.status_code == 200, (robot.text, person.text)
    deadline = time.monotonic() + WAIT
    answer = None
    while time.monotonic() < deadline and answer is None:
        answer = next(
            (m for m in _mails_to("mia@example.com") if "Did this solve it?" in m.message.get_content()), None
        )
        time.sleep(0.1)
    assert answer is not None, "the bot's answer was not mailed"
    assert answer.message["Auto-Submitted"].startswith("auto-replied")
    assert "/help/answers/" in answer.message.get_content()
    # the worker is past the automated mail (it came first): no answer was written or mailed
    assert (
        bot_server.scalar(
            "SELECT count(*) FROM message m JOIN ticket t ON t.id = m.ticket_id "
            "WHERE t.subject = 'Out of office: refund' AND m.author_kind = 'system' AND m.body LIKE '%Did this solve%'"
        )
        == 0
    )
    assert not [m for m in _mails_to("robot@example.com") if "Did this solve it?" in m.message.get_content()]


def test_the_portal_offers_the_same_verdict_to_the_signed_in_customer(bot_server: HelpServer) -> None:
    number = file_request(bot_server, "pam@example.com", "Refund", REFUND)
    assert bot_reply(bot_server, number) is not None
    with bot_server.client() as client:
        page = client.get("/help/requests").text
        client.post("/help/requests/sign-in", data={"csrf": hidden(page, "csrf"), "email": "pam@example.com"})
        link = None
        deadline = time.monotonic() + WAIT
        while link is None and time.monotonic() < deadline:
            for mail in _mails_to("pam@example.com"):
                found = re.search(r"http://\S+/help/requests/sign-in/\S+", mail.message.get_content())
                link = found.group(0) if found else link
            time.sleep(0.1)
        assert link is not None, "no sign-in mail"
        confirm = client.get(link)
        client.post(link, data={"csrf": hidden(confirm.text, "csrf")})
        request = client.get(f"/help/requests/{number}")
        assert request.status_code == 200 and 'id="bot-yes"' in request.text and 'id="bot-no"' in request.text
        action = re.search(r'action="(/help/answers/[^"]+\.y\.[^"]+)"', request.text)
        assert action
        solved = client.post(action.group(1), data={"csrf": hidden(request.text, "csrf")})
        assert solved.status_code == 200 and "Glad we could help" in solved.text
        again = client.get(f"/help/requests/{number}")
        assert 'id="bot-yes"' not in again.text and "This request is solved." in again.text
        # the other customer's ticket is not this customer's to see, nor to answer for
        assert client.get(f"/help/requests/{OTHER['number']}").status_code == 404
    assert bot_server.scalar("SELECT status FROM ticket WHERE number = :n", n=int(number)) == "solved"
