"""The help center on PostgreSQL: the same counters, votes, search and form as on SQLite
(``ON CONFLICT`` upserts, the vote's row lock, the in-memory index built from PostgreSQL rows)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.help.conftest import HELP_TABLE, HelpServer, hidden, start_help_server
from tests.live import fresh_postgres_database

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pg_help_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpServer]:
    with fresh_postgres_database() as url:
        started = start_help_server(tmp_path_factory.mktemp("help-pg"), HELP_TABLE, url)
        try:
            yield started
        finally:
            started.server.stop()


def test_search_views_and_votes_on_postgres(pg_help_server: HelpServer) -> None:
    server = pg_help_server
    with server.client() as client:
        assert (
            client.get("/help/search.json", params={"q": "passw"}).json()["hits"][0]["title"] == "Reset your password"
        )
        page = client.get("/help/articles/reset-password").text
        csrf = hidden(page, "csrf")
        results: list[int] = []

        def vote() -> None:
            with server.client() as twin:
                twin.cookies = client.cookies
                results.append(
                    twin.post("/help/articles/reset-password/vote", data={"helpful": "yes", "csrf": csrf}).status_code
                )

        threads = [threading.Thread(target=vote) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert results == [303] * 4
    # one browser voting four times at once still counts once
    assert server.scalar("SELECT helpful_votes FROM kb_article WHERE slug = 'reset-password'") == 1
    assert server.scalar("SELECT sum(count) FROM help_activity WHERE kind = 'view'") >= 1


def test_the_form_files_once_on_postgres(pg_help_server: HelpServer) -> None:
    with pg_help_server.client() as client:
        page = client.get("/help/new").text
        fields = {
            "csrf": hidden(page, "csrf"),
            "form_id": hidden(page, "form_id"),
            "email": "pg@example.com",
            "subject": "Order never came",
            "description": "Where is it?",
        }
        first = client.post("/help/new", data=fields)
        second = client.post("/help/new", data=fields)
    assert first.status_code == second.status_code == 200
    assert first.text.split("request number is ")[1][:8] == second.text.split("request number is ")[1][:8]
    assert pg_help_server.scalar("SELECT count(*) FROM ticket WHERE subject = 'Order never came'") == 1
    with pg_help_server.admin() as admin:
        assert admin.get("/v1/help/figures").json()["form_tickets"] == 1


def test_the_answer_bot_and_the_tally_on_postgres(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The bot's state in a JSON column, its once-only write and the day's figures, on PostgreSQL."""
    import time

    from supportdesk.store.times import utcnow
    from tests.help.test_answer_bot_live import REFUND, bot_reply, file_request, links, press

    with fresh_postgres_database() as url:
        server = start_help_server(
            tmp_path_factory.mktemp("bot-pg"),
            {**HELP_TABLE, "bot": True, "tally_seconds": 0.2},
            url,
            relay_port=_unused_relay_port(),
        )
        try:
            number = file_request(server, "pia@example.com", "Refund", REFUND)
            reply = bot_reply(server, number)
            assert reply is not None
            yes, _no = links(reply)
            with server.client() as client:
                assert press(client, yes).status_code == 200
                assert press(client, yes).status_code == 403  # replayed
                assert client.get("/help/search", params={"q": "refund"}).status_code == 200
            assert server.scalar("SELECT status FROM ticket WHERE number = :n", n=int(number)) == "solved"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if server.scalar("SELECT searches FROM help_day WHERE id = :d", d=utcnow().date().isoformat()):
                    break
                time.sleep(0.1)
            assert server.scalar("SELECT searches FROM help_day WHERE id = :d", d=utcnow().date().isoformat()) == 1
        finally:
            server.server.stop()


def _unused_relay_port() -> int:
    """A port for ``[channels] relay`` (the links need ``public_url``); nothing need listen there."""
    from tests.live import free_port

    return free_port()
