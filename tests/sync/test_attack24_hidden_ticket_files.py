"""attack24: a customer's file cached on an agent's disk must go with the customer's erasure even
when the ticket it belongs to left the agent's replica first.

The replica's erasure (``sync.erasure``) finds the person's files through the attachment rows of
the tickets it holds; a ticket moved to a group the agent does not see is hidden — its rows
deleted (``sync.rows.delete_ticket``) — but the cached files it named stay in the workspace's
store, and no row names them any more for an erasure to find.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from supportdesk.store.blobs import AttachmentLimits
from supportdesk.sync.blob_cache import fetch, stage
from supportdesk.sync.client import ServerClient
from tests.live import Deployment

CONTENT = b"Passport scan of Kim Doe: X1234567, 12 Elm Street\n"


def test_attack24_a_cached_file_of_a_hidden_ticket_goes_with_its_customers_erasure(
    sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    team = sqlite_deployment.team
    digest = hashlib.sha256(CONTENT).hexdigest()
    with sqlite_deployment.replicas("sam", "tom", "ada") as (sam, tom, ada):
        args = {"subject": "Scan", "body": "see the scan", "requester": {"value": "kim@example.com"}}
        ticket_id = str(sam.apply("ticket.create", {**args, "group_id": team.tier1}).result["ticket_id"])
        scan = tmp_path / "scan.txt"
        scan.write_bytes(CONTENT)
        files = stage(sam.workspace, [scan], AttachmentLimits())
        sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "the scan", "attachments": files})
        assert not sam.sync().refused
        tom.sync()
        token = team.tokens["tom"]
        fetch(tom.workspace, digest, client=lambda: ServerClient(sqlite_deployment.server.url, token))
        cached = [p for p in tom.workspace.attachments_dir.rglob(digest) if p.is_file()]
        assert cached, "Tom opened the file: a cached copy"
        ada.sync()
        requester = ada.rows("SELECT requester_id FROM ticket WHERE id = ?", ticket_id)[0][0]
        ada.apply("ticket.assign", {"ticket_id": ticket_id, "group_id": team.billing, "assignee_id": None})
        ada.sync()
        tom.sync()
        assert tom.rows("SELECT count(*) FROM ticket WHERE id = ?", ticket_id) == [(0,)]
        assert not [p for p in cached if p.exists()], "the ticket left: its cached file goes with it"
        ada.apply("customer.erase", {"customer_id": requester})
        ada.sync()
        tom.sync()
        left = [p for p in tom.workspace.attachments_dir.rglob("*") if p.is_file() and CONTENT in p.read_bytes()]
        assert not left, left


def test_attack24_a_file_another_held_ticket_names_stays_when_one_ticket_leaves(
    sqlite_deployment: Deployment, tmp_path: Path
) -> None:
    team = sqlite_deployment.team
    digest = hashlib.sha256(CONTENT).hexdigest()
    with sqlite_deployment.replicas("sam", "ada") as (sam, ada):
        scan = tmp_path / "scan.txt"
        scan.write_bytes(CONTENT)
        made = []
        for subject in ("Moves away", "Stays"):
            args = {"subject": subject, "body": "see the scan", "requester": {"value": "kim@example.com"}}
            ticket_id = str(sam.apply("ticket.create", {**args, "group_id": team.tier1}).result["ticket_id"])
            files = stage(sam.workspace, [scan], AttachmentLimits())
            sam.apply("ticket.note", {"ticket_id": ticket_id, "body": "the scan", "attachments": files})
            made.append(ticket_id)
        assert not sam.sync().refused
        ada.sync()
        ada.apply("ticket.assign", {"ticket_id": made[0], "group_id": team.billing, "assignee_id": None})
        ada.sync()
        sam.sync()
        assert sam.rows("SELECT id FROM ticket WHERE id IN (?, ?)", *made) == [(made[1],)]
        assert [p for p in sam.workspace.attachments_dir.rglob(digest) if p.is_file()]
