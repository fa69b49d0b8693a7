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
