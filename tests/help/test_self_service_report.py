"""Self-service figures reach ``supportdesk report`` by sync, and follow the agent's groups.

A real server counts help-center searches and views in its own tables; its tally worker writes
the day's sums with ``help.tally`` (shared ``help_day`` rows). Web-form requests and the bot's
answers live on tickets. Two agents' replicas pull: the Tier 1 agent's report counts the
tickets of Tier 1 only, the admin's counts every group; the site's searches and views are the
same for both.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.self_service import self_service
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase
from supportdesk.store.times import utcnow
from tests.cli.conftest import run_in_process
from tests.help.conftest import HELP_TABLE, start_help_server
from tests.live import LOADED_MACHINE_TIMEOUT, Replica

pytestmark = pytest.mark.integration

TOKENS: dict[str, str] = {}


def _two_groups(database: ServerDatabase) -> None:
    """Tier 1 gets two form requests (one solved by the bot, one handed over); Billing one (solved)."""
    with database.engine.connect() as connection:
        refunds = connection.execute(text("SELECT id FROM kb_article WHERE slug = 'refunds'")).scalar()
        tier1 = connection.execute(text("SELECT id FROM groups WHERE name = 'Tier 1'")).scalar()
    billing = admin.add_group(database, "Billing")
    admin.add_agent(database, "Sam Agent", "sam@acme.test", "agent", ["Tier 1"])
    TOKENS["sam"] = admin.new_token(database, "sam@acme.test")[1]
    for group, who, verdict in ((tier1, "a", True), (tier1, "b", False), (billing, "c", True)):
        created, _ = apply_as(
            database,
            SYSTEM,
            "ticket.create",
            {
                "subject": "Refund",
                "body": "When is my money back?",
                "channel": "web",
                "group_id": group,
                "fields": {"help_center": "form"},
                "requester": {"kind": "email", "value": f"{who}@example.com", "name": who},
            },
        )
        ticket = created["ticket_id"]
        apply_as(
            database,
            SYSTEM,
            "ticket.bot_answer",
            {"ticket_id": ticket, "article_id": refunds, "body": "Try Refunds and returns.", "confidence": 0.8},
        )
        apply_as(database, SYSTEM, "ticket.bot_feedback", {"ticket_id": ticket, "solved": verdict})


def test_self_service_figures_by_sync_and_groups(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from supportdesk.server.help.search import HelpSearch  # noqa: F401  (the server's, loaded here too)

    server = start_help_server(tmp_path / "server", {**HELP_TABLE, "tally_seconds": 0.2}, prepare=_two_groups)
    replicas: list[Replica] = []
    try:
        with server.client() as client:
            for query in ("refund", "password", "zebra crossing"):
                assert client.get("/help/search", params={"q": query}).status_code == 200
            assert client.get("/help/articles/refunds").status_code == 200
        day = utcnow().date().isoformat()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.scalar("SELECT views FROM help_day WHERE id = :d", d=day) == 1:
                break
            time.sleep(0.1)
        assert server.scalar("SELECT searches FROM help_day WHERE id = :d", d=day) == 3
        assert server.scalar("SELECT searches_empty FROM help_day WHERE id = :d", d=day) == 1

        from supportdesk.sync.client import ServerClient

        figures: dict[str, Any] = {}
        for who, token in (("sam", TOKENS["sam"]), ("ada", server.admin_token)):
            client = ServerClient(server.url, token, timeout=LOADED_MACHINE_TIMEOUT)
            replica = Replica(tmp_path / f"ws-{who}", server.server, token, client=client)
            replicas.append(replica)
            with replica.workspace.reading() as connection:
                figures[who] = self_service(
                    connection, since=utcnow().replace(hour=0, minute=0, second=0, microsecond=0), until=utcnow()
                )
        sam, ada = figures["sam"], figures["ada"]
        assert (sam.form_tickets, sam.bot_answers, sam.bot_resolutions, sam.bot_handed_over) == (2, 2, 1, 1)
        assert (ada.form_tickets, ada.bot_answers, ada.bot_resolutions, ada.bot_handed_over) == (3, 3, 2, 1)
        for seen in (sam, ada):  # the public site's figures: the same for every agent
            assert (seen.searches, seen.searches_empty, seen.article_views) == (3, 1, 1)

        # the CLI prints the same from the Tier 1 agent's workspace
        replicas[0].workspace.close()
        result = run_in_process(
            capsys,
            monkeypatch,
            ("--workspace", str(tmp_path / "ws-sam"), "report", "--since", "1d", "--json"),
        )
        assert result.code == 0, result.stderr
        document = json.loads(result.stdout)
        assert document["self_service"]["bot_answers"] == 2 and document["self_service"]["bot_resolution_pct"] == 50.0
        assert document["self_service"]["searches"] == 3
        table = run_in_process(
            capsys, monkeypatch, ("--workspace", str(tmp_path / "ws-sam"), "report", "self-service", "--since", "1d")
        )
        assert table.code == 0 and "bot_resolutions" in table.stdout
    finally:
        for replica in replicas[1:]:
            replica.close()
        if replicas:
            replicas[0].client.close()
        server.server.stop()
