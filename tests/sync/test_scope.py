"""An agent's groups change on the server: the next sync fills in what became visible and takes
away what no longer is (the change log alone does neither for unchanged tickets)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import orjson
import pytest

from supportdesk.domain.context import SYSTEM
from supportdesk.server.apply import apply_as
from supportdesk.store import fts
from supportdesk.sync import local
from supportdesk.sync.client import Offline, ServerClient
from tests.live import Deployment, Replica
from tests.sync.compare import differences, replica_view, server_count, server_view


def _set_groups(deployment: Deployment, who: str, group_ids: list[str]) -> None:
    agent_id = deployment.team.ids[who]
    apply_as(deployment.team.db, SYSTEM, "agent.update", {"agent_id": agent_id, "group_ids": group_ids})


def _create(replica: Replica, subject: str, group_id: str, **extra: Any) -> str:
    args = {"subject": subject, "body": f"{subject}: details", "requester": {"value": "kim@example.com"}}
    created = replica.apply("ticket.create", {**args, "group_id": group_id, **extra}).result
    return str(created["ticket_id"])


def _fts_hits(replica: Replica, word: str) -> int:
    return replica.rows("SELECT count(*) FROM ticket_fts WHERE ticket_fts MATCH ?", word)[0][0]


def test_joining_a_group_brings_its_existing_tickets_on_the_next_sync(deployment: Deployment) -> None:
    team = deployment.team
    bea = deployment.replica("bea")
    billing = [_create(bea, f"Zanzibar invoice {n}", team.billing) for n in range(3)]
    bea.apply("ticket.note", {"ticket_id": billing[0], "body": "old note"})
    bea.sync()
    sam = deployment.replica("sam")
    try:
        assert sam.rows("SELECT count(*) FROM ticket WHERE group_id = ?", team.billing) == [(0,)]
        _set_groups(deployment, "sam", [team.tier1, team.billing])
        summary = sam.sync()
        assert summary.rescoped
        held = {row[0] for row in sam.rows("SELECT id FROM ticket WHERE group_id = ?", team.billing)}
        assert held == set(billing)
        assert sam.rows("SELECT count(*) FROM message WHERE ticket_id = ?", billing[0]) == [(2,)]
        assert _fts_hits(sam, "zanzibar") == 3
        assert not differences(server_view(team.db, sam.agent_id), replica_view(sam.workspace))
        assert not sam.sync().rescoped  # the new scope is remembered
    finally:
        sam.close()
        bea.close()


def test_leaving_a_group_removes_its_tickets_and_still_pushes_pending_work_once(deployment: Deployment) -> None:
    team = deployment.team
    _set_groups(deployment, "sam", [team.tier1, team.billing])
    bea = deployment.replica("bea")
    gone = _create(bea, "Zanzibar refund", team.billing)
    bea.apply("ticket.tag", {"ticket_id": gone, "tags": ["refund"]})
    bea.sync()
    sam = deployment.replica("sam")
    try:
        kept = _create(sam, "Login loop", team.tier1)
        sam.sync()
        assert sam.rows("SELECT count(*) FROM ticket WHERE id = ?", gone) == [(1,)]
        assert _fts_hits(sam, "zanzibar") == 1
        _set_groups(deployment, "sam", [team.tier1])
        sam.apply("ticket.reply", {"ticket_id": kept, "body": "Cleared your session."})  # pending, offline
        summary = sam.sync()
        assert summary.rescoped and summary.dropped == 1
        assert not summary.refused
        for table_name in ("ticket", "message", "ticket_tag", "draft"):
            column = "id" if table_name == "ticket" else "ticket_id"
            assert sam.rows(f"SELECT count(*) FROM {table_name} WHERE {column} = ?", gone) == [(0,)]
        assert _fts_hits(sam, "zanzibar") == 0
        assert _fts_hits(sam, "login") == 1
        with closing(sqlite3.connect(sam.workspace.db_path)) as connection:
            connection.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, ticket_fts, row)")
            assert connection.execute("SELECT count(*) FROM temp.words WHERE term = 'zanzibar'").fetchone() == (0,)
            fts.integrity_check(connection)
        assert sam.rows("SELECT count(*) FROM message WHERE ticket_id = ?", kept) == [(2,)]
        sam.sync()
        body = "SELECT count(*) FROM message WHERE ticket_id = :t AND body = 'Cleared your session.'"
        assert server_count(team.db, body, t=kept) == 1
        assert sam.rows("SELECT count(*) FROM outbox") == [(0,)]
        assert not differences(server_view(team.db, sam.agent_id), replica_view(sam.workspace))
    finally:
        sam.close()
        bea.close()


class CutOnce(ServerClient):
    """A client whose next bootstrap stream breaks at the first chunk of messages (after the
    tickets), as a dropped connection would."""

    cut = False

    def bootstrap(self, table: str | None = None, after: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        for line in super().bootstrap(table, after):
            yield line
            if self.cut and line.get("table") == "message":
                self.cut = False
                raise Offline("the bootstrap was cut")


def test_an_interrupted_rescope_resumes_and_still_removes_what_left_the_scope(deployment: Deployment) -> None:
    team = deployment.team
    _set_groups(deployment, "sam", [team.tier1, team.billing])
    bea = deployment.replica("bea")
    gone = _create(bea, "Zanzibar refund", team.billing)
    bea.sync()
    client = CutOnce(deployment.server.url, team.tokens["sam"])
    sam = deployment.replica("sam", client=client)
    try:
        kept = _create(sam, "Login loop", team.tier1)
        sam.sync()
        _set_groups(deployment, "sam", [team.tier1])
        client.cut = True
        with pytest.raises(Offline):
            sam.sync()
        assert local.state(sam.workspace).bootstrap.get("rescope")
        summary = sam.sync()
        assert summary.dropped == 1
        assert sam.rows("SELECT id FROM ticket WHERE id IN (?, ?)", gone, kept) == [(kept,)]
        assert not differences(server_view(team.db, sam.agent_id), replica_view(sam.workspace))
    finally:
        sam.close()
        bea.close()


def test_pulls_and_bootstraps_report_the_callers_scope(deployment: Deployment) -> None:
    team = deployment.team
    with deployment.api("sam") as sam, deployment.api("tom") as tom:

        def scopes(api: httpx.Client) -> tuple[str, str]:
            pulled = api.get("/v1/pull", params={"cursor": 0}).json()["scope"]
            begin = orjson.loads(api.get("/v1/bootstrap").content.splitlines()[0])
            assert begin["type"] == "begin"
            return pulled, begin["scope"]

        before = scopes(sam)
        assert before[0] == before[1] == scopes(sam)[0]
        assert scopes(tom)[0] != before[0]  # same groups, another agent (their own tickets differ)
        _set_groups(deployment, "sam", [team.tier1, team.billing])
        # on PostgreSQL the server forgets its token checks when the change's NOTIFY arrives,
        # milliseconds after the commit made here (server/token_cache.py): a pull sent at once
        # may still be answered with the old groups, and the bootstrap after it with the new
        deadline = time.monotonic() + 30
        while (after := scopes(sam))[0] == before[0] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert after[0] != before[0], "the server never saw the new groups"
        after = scopes(sam)
        assert after[0] == after[1] != before[0]


def test_a_note_refused_because_its_ticket_moved_away_stays_as_a_draft(deployment: Deployment) -> None:
    """Sam writes on a ticket that Bea moves to Billing before Sam syncs: the server refuses the
    note, the ticket leaves Sam's replica, and the note's text stays in its draft."""
    team = deployment.team
    with deployment.replicas("sam", "ada") as (sam, ada):
        ticket_id = _create(sam, "Moving target", team.tier1)
        sam.sync()
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "Customer called back twice."})
        ada.sync()
        ada.apply("ticket.assign", {"ticket_id": ticket_id, "group_id": team.billing, "assignee_id": None})
        ada.sync()
        summary = sam.sync()
        assert [r.name for r in summary.refused] == ["ticket.note"]
        assert sam.rows("SELECT count(*) FROM ticket WHERE id = ?", ticket_id) == [(0,)]
        assert sam.rows("SELECT body FROM draft WHERE ticket_id = ? AND kind = 'note'", ticket_id) == [
            ("Customer called back twice.",)
        ]
        assert not differences(server_view(team.db, sam.agent_id), replica_view(sam.workspace))
        ada.apply("ticket.assign", {"ticket_id": ticket_id, "group_id": team.tier1, "assignee_id": None})
        ada.sync()
        sam.sync()  # back in view, with the draft where Sam left it
        assert sam.rows("SELECT count(*) FROM ticket WHERE id = ?", ticket_id) == [(1,)]
        assert sam.rows("SELECT count(*) FROM draft WHERE ticket_id = ?", ticket_id) == [(1,)]


def test_a_kept_refused_draft_goes_when_its_customer_is_erased(sqlite_deployment: Deployment) -> None:
    """A refused note kept after its ticket left the replica still belongs to the ticket's
    customer: erasing the customer takes it, though the ticket is no longer there to find."""
    deployment = sqlite_deployment
    team = deployment.team
    sam, ada = deployment.replica("sam"), deployment.replica("ada")
    try:
        ticket_id = _create(sam, "Secret", team.tier1)
        sam.sync()
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "Kim's passport is X1234567."})
        ada.sync()
        ada.apply("ticket.assign", {"ticket_id": ticket_id, "group_id": team.billing, "assignee_id": None})
        ada.sync()
        sam.sync()
        assert sam.rows("SELECT count(*) FROM draft WHERE ticket_id = ?", ticket_id) == [(1,)]
        requester = ada.rows("SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        ada.apply("customer.erase", {"customer_id": requester})
        ada.sync()
        sam.sync()
        assert sam.rows("SELECT count(*) FROM draft") == [(0,)]
    finally:
        sam.close()
        ada.close()


def test_a_refused_reply_on_an_erased_customers_ticket_is_not_kept_as_a_draft(
    sqlite_deployment: Deployment,
) -> None:
    """A refusal that comes back after this replica already forgot the customer (the tombstone
    pulled first) must not make a new copy of the words as a draft."""
    from supportdesk.domain import write
    from supportdesk.domain.context import SYSTEM
    from supportdesk.sync.engine import keep_as_draft

    team = sqlite_deployment.team
    sam = sqlite_deployment.replica("sam")
    try:
        ticket_id = _create(sam, "Secret", team.tier1)
        requester = sam.rows("SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        write.apply(sam.workspace, "customer.erase", {"customer_id": requester}, actor=SYSTEM)
        keep_as_draft(sam.workspace, "ticket.reply", {"ticket_id": ticket_id, "body": "Kim's passport is X1234567."})
        assert sam.rows("SELECT count(*) FROM draft") == [(0,)]
        # a customer who was not erased keeps the refused text, as before
        other = _create(sam, "Not secret", team.tier1)
        keep_as_draft(sam.workspace, "ticket.reply", {"ticket_id": other, "body": "Shipping on Monday."})
        assert sam.rows("SELECT body FROM draft WHERE ticket_id = ?", other) == [("Shipping on Monday.",)]
    finally:
        sam.close()
