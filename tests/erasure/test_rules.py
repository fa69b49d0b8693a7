"""The rules around an erasure, each on its own: erased stays erased, only admins erase, files go
by hash only, a new mail from an erased customer is a new ticket, a hostile tombstone is ignored."""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import text

from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.signing import make_message_id
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.mutations.privacy import ERASED_TEXT, anonymised_row
from supportdesk.store.files import path_for, remove_files
from supportdesk.store.workspace import Workspace
from supportdesk.sync import erasure
from supportdesk.sync.wire import Change
from tests.channels.conftest import make_mail
from tests.conftest import Team
from tests.live import Deployment
from tests.server.test_api import create_ticket, push

NAME = "Olwethu Brackenridge"
EMAIL = "olwethu.b@bracken-mail.example"
IBAN = "GB33BUKB20201555555555"
WORDS = ("olwethu", "brackenridge", "bracken-mail", IBAN.lower())


def every_text(workspace: Workspace) -> str:
    """Every text value of every table of the file (the search index's shadow tables included)."""
    found: list[str] = []
    with closing(sqlite3.connect(workspace.db_path)) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in tables:
            if name.endswith(("_fts", "_vocab")):
                continue
            for row in connection.execute(f'SELECT * FROM "{name}"'):
                found += [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in row if v is not None]
        connection.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, ticket_fts, row)")
        found += [r[0] for r in connection.execute("SELECT term FROM temp.words")]
    return "\n".join(str(v) for v in found).lower()


def erased_customer(team: Team) -> tuple[str, str]:
    """A ticket of a customer who was then erased: (ticket id, customer id)."""
    created = team.as_(
        team.agent,
        "ticket.create",
        {"subject": "Refund", "body": "Hello", "requester": {"value": EMAIL, "name": NAME}, "group_id": team.tier1},
    ).result
    ticket_id = str(created["ticket_id"])
    with team.workspace.reading() as connection:
        customer_id = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    team.as_(team.admin, "customer.erase", {"customer_id": customer_id})
    return ticket_id, customer_id


def ticket_and_customer(team: Team, ticket_id: str) -> tuple[str, str]:
    with team.workspace.reading() as connection:
        row = connection.execute("SELECT id, requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    return row[0], row[1]


def test_an_erased_customer_stays_erased(team: Team) -> None:
    """Text written later to their tickets is erased too; their record takes no new name,
    address or ticket."""
    ticket_id, _ = erased_customer(team)
    reply = team.as_(team.agent, "ticket.reply", {"ticket_id": ticket_id, "body": f"Dear {NAME}, IBAN {IBAN} done"})
    assert any("was erased: the text written there was not kept" in w for w in reply.warnings), reply.warnings
    team.as_(team.agent, "ticket.note", {"ticket_id": ticket_id, "body": f"{NAME} called"})
    team.as_(team.agent, "ticket.set_subject", {"ticket_id": ticket_id, "subject": f"Refund {IBAN}"})
    with team.workspace.reading() as connection:
        bodies = [r[0] for r in connection.execute("SELECT body FROM message WHERE ticket_id = ?", (ticket_id,))]
        subject = connection.execute("SELECT subject FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    assert bodies == [ERASED_TEXT] * 3 and subject == ERASED_TEXT
    text = every_text(team.workspace)
    assert [w for w in WORDS if w in text] == []

    _, customer_id = ticket_and_customer(team, ticket_id)
    for name, args in (
        ("customer.update", {"customer_id": customer_id, "name": NAME}),
        ("customer.add_identity", {"customer_id": customer_id, "kind": "email", "value": EMAIL}),
        ("ticket.create", {"subject": "x", "body": "y", "requester": {"customer_id": customer_id}}),
    ):
        refused = write.apply_many(team.workspace, [(name, args)], actor=team.admin)[0]
        assert refused.error is not None and "was erased" in refused.error.message, name
    other = team.as_(
        team.agent,
        "ticket.create",
        {"subject": "Kept", "body": f"About {IBAN}", "requester": {"value": "someone@example.com"}},
    )
    assert not other.warnings and IBAN.lower() in every_text(team.workspace)  # only erased tickets


def test_a_new_mail_answering_an_erased_customers_thread_is_a_new_ticket(team: Team, tmp_path: Path) -> None:
    settings = ChannelSettings(
        secret="erasure-test-secret-0123456789", mail_domain="acme.test", attachments_dir=tmp_path
    )

    def apply(name: str, args: dict[str, Any]) -> dict[str, Any]:
        return write.apply(team.workspace, name, args, actor=SYSTEM).result

    ingest = MailIngest(team.workspace.engine, apply, settings)
    first = ingest.ingest(make_mail(sender=f"{NAME} <{EMAIL}>", subject="Refund", body=f"IBAN {IBAN}"))
    assert first.status == "created" and first.ticket_id
    with team.workspace.reading() as connection:
        customer_id = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (first.ticket_id,)).fetchone()
    team.as_(team.admin, "customer.erase", {"customer_id": customer_id[0]})
    ours = make_message_id(settings.secret_bytes, "acme.test", str(first.ticket_id), "0" * 32)
    again = ingest.ingest(
        make_mail(
            sender=f"{NAME} <{EMAIL}>",
            subject=f"Re: [#{first.number}]",
            body="A new question",
            headers={"In-Reply-To": ours},
        )
    )
    assert again.status == "created" and again.ticket_id != first.ticket_id
    with team.workspace.reading() as connection:
        body = connection.execute("SELECT body FROM message WHERE ticket_id = ?", (again.ticket_id,)).fetchone()[0]
    assert body.startswith("A new question")


def requester_of(deployment: Deployment, ticket_id: str) -> str:
    with deployment.team.db.engine.connect() as connection:
        found = connection.execute(text("SELECT requester_id FROM ticket WHERE id = :t"), {"t": ticket_id}).scalar()
    return str(found)


def test_only_an_admin_erases_and_a_replay_erases_nothing_twice(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    with deployment.api("sam") as sam, deployment.api("ada") as ada:
        created = create_ticket(
            sam, "sam-client", 1, requester={"value": EMAIL, "name": NAME}, group_id=deployment.team.tier1
        )
        customer_id = requester_of(deployment, created["ticket_id"])
        erase = {"id": 2, "name": "customer.erase", "args": {"customer_id": customer_id}}
        refused = push(sam, "sam-client", [erase]).json()["results"][0]
        assert not refused["ok"] and refused["error"]["code"] == "forbidden"
        assert NAME.lower() in json.dumps(sam.get("/v1/pull", params={"cursor": 0}).json()).lower()

        typo = {"customer_id": customer_id, "kind": "email", "value": "olwethu.b@@bracken-mail.example"}
        mistyped = push(ada, "ada-client", [{"id": 1, "name": "customer.add_identity", "args": typo}])
        assert "olwethu.b@@" in mistyped.json()["results"][0]["error"]["message"]  # a refusal quotes it

        done = push(ada, "ada-client", [{**erase, "id": 2}]).json()["results"][0]
        replay = push(ada, "ada-client", [{**erase, "id": 2}]).json()["results"][0]
        assert done["ok"] and replay["replayed"] and replay["result"] == done["result"]
        assert done["result"]["stored_outcomes"] == 1
        stored = push(ada, "ada-client", [{"id": 1, "name": "customer.add_identity", "args": typo}]).json()
        assert stored["results"][0]["replayed"] and "olwethu" not in json.dumps(stored).lower()
        pulled = sam.get("/v1/pull", params={"cursor": 0}).json()["changes"]
        assert [w for w in WORDS if w in json.dumps(pulled).lower()] == []
        tombstones = [c for c in pulled if c["op"] == "erase"]
        assert [t["data"]["customer_id"] for t in tombstones] == [customer_id]  # one, though pushed twice

        old = requester_of(
            deployment, create_ticket(sam, "sam-client", 3, requester={"value": "old@example.com"})["ticket_id"]
        )
        new = create_ticket(sam, "sam-client", 4, requester={"value": "new@example.com", "name": "Secret Newname"})
        new_customer = requester_of(deployment, new["ticket_id"])
        merge = {"id": 3, "name": "customer.merge", "args": {"source_id": old, "target_id": new_customer}}
        assert push(ada, "ada-client", [merge]).json()["results"][0]["ok"]
        wrong = push(ada, "ada-client", [{"id": 4, "name": "customer.erase", "args": {"customer_id": old}}])
        error = wrong.json()["results"][0]["error"]
        assert error["field"] == "customer_id" and new_customer in error["message"]
        assert "Newname" not in error["message"]
        unknown = push(ada, "ada-client", [{"id": 5, "name": "customer.erase", "args": {"customer_id": "no-such-id"}}])
        assert unknown.json()["results"][0]["error"]["code"] == "not_found"
        extra = push(ada, "ada-client", [{"id": 6, "name": "customer.erase", "args": {"customer_id": old, "x": 1}}])
        assert extra.json()["results"][0]["error"]["field"] == "x"


def test_attachment_files_are_removed_by_hash_only_and_overwritten_first(tmp_path: Path) -> None:
    root = tmp_path / "attachments"
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    sha = "ab" * 32
    target = path_for(root, sha)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"passport scan 0123456789")
    other_link = tmp_path / "second-name-of-the-same-file"
    os.link(target, other_link)
    hostile = ["../precious.txt", "../../" + sha, sha.upper(), "", sha + "/..", str(outside)]
    assert remove_files(root, hostile) == 0 and outside.read_text() == "keep me" and target.exists()
    assert remove_files(root, [sha, sha]) == 1
    assert not target.exists()
    assert other_link.read_bytes() == bytes(len(b"passport scan 0123456789"))  # its bytes were zeroed


def test_a_malformed_tombstone_is_ignored(workspace: Workspace) -> None:
    hostile = [
        Change(seq=1, entity="customer", op="erase", data={"customer_id": 7, "records": ["x"]}),
        Change(seq=2, entity="customer", op="erase", data={"records": "not-a-list"}),
        Change(seq=3, entity="customer", op="erase", data={"customer_id": "unknown", "records": [1, None]}),
    ]
    with workspace.engine.connect() as connection:
        people = erasure.prepare(connection, hostile)
    assert [p.customer_id for p in people] == ["unknown"] and people[0].records == ["unknown"]
    assert people[0].tickets == [] and people[0].words == []


def test_a_logged_row_is_erased_as_the_table_row_is() -> None:
    message = {"id": "m", "body": f"IBAN {IBAN}", "meta": {"email": {"from": EMAIL}}, "channel": "email"}
    assert anonymised_row("message", message) == {"id": "m", "body": ERASED_TEXT, "meta": {}, "channel": "email"}
    assert anonymised_row("survey", {"comment": ""})["comment"] == ""  # an empty comment stays empty
    assert anonymised_row("ticket_tag", {"tag": "vip"}) == {"tag": "vip"}
