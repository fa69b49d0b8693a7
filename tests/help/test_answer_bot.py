"""The answer bot in one process (no socket): which requests it answers, once, and the verdict.

A real server database and app (``create_app`` + ``help.install``), real mutations through
``ServerState.apply_as`` and the real ranking with the shipped meaning model; the worker thread
is not started — each test hands the bot the tickets its hook queued, as the worker would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM, Actor
from supportdesk.domain.errors import Conflict, DomainError
from supportdesk.server import admin
from supportdesk.server.apply import apply_as
from supportdesk.server.db import ServerDatabase, open_database
from supportdesk.server.help.bot import AnswerBot, link_token, read_token
from supportdesk.server.help.settings import HelpSettings
from supportdesk.store.enums import Role
from tests.help.conftest import ARTICLES

REFUND_QUESTION = "How long until the money for my returned order is back on my card?"


@dataclass
class Desk:
    database: ServerDatabase
    bot: AnswerBot
    state: Any
    agent: Actor
    group: str

    def create(self, subject: str, body: str, *, actor: Actor = SYSTEM, **extra: Any) -> str:
        args = {
            "subject": subject,
            "body": body,
            "channel": extra.pop("channel", "web"),
            "requester": extra.pop("requester", {"kind": "email", "value": "rita@example.com", "name": "Rita Ray"}),
            **extra,
        }
        created, _ = self.state.apply_as(actor, "ticket.create", args)
        return str(created["ticket_id"])

    def queued(self) -> list[str]:
        found = []
        while not self.bot.pending.empty():
            item = self.bot.pending.get_nowait()
            if item is not None:
                found.append(item)
        return found

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        with self.database.engine.connect() as connection:
            row = dict(
                connection.execute(text("SELECT status, fields FROM ticket WHERE id = :t"), {"t": ticket_id})
                .mappings()
                .one()
            )
            row["messages"] = [
                dict(m)
                for m in connection.execute(
                    text(
                        "SELECT author_kind, public, body, meta FROM message WHERE ticket_id = :t "
                        "ORDER BY created_at, id"
                    ),
                    {"t": ticket_id},
                ).mappings()
            ]
        if isinstance(row["fields"], str):
            row["fields"] = json.loads(row["fields"])
        return row


def _desk(tmp_path: Path, **settings: Any) -> Desk:
    from supportdesk.server import help as help_center
    from supportdesk.server.app import create_app

    database = open_database(str(tmp_path / "server.db"))
    group = admin.add_group(database, "Tier 1")
    admin.add_group(database, "Billing")
    agent_id = admin.add_agent(database, "Alan Agent", "alan@acme.test", "agent", ["Tier 1"])
    for article in ARTICLES:
        created, _ = apply_as(database, SYSTEM, "article.create", {k: article[k] for k in ("slug", "title", "body")})
        apply_as(database, SYSTEM, "article.publish", {"article_id": created["article_id"], "section": "Help"})
    app = create_app(database)
    center = help_center.install(app, HelpSettings(secret="s" * 32, bot=True, **settings))
    bot = center.state.extensions["answer_bot"]
    agent = Actor(id=agent_id, name="Alan Agent", role=Role.AGENT, group_ids=frozenset({group}))
    return Desk(database, bot, center.state, agent, group)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    made = _desk(tmp_path)
    yield made
    made.database.dispose()


def test_a_request_an_article_answers_gets_it_once(desk: Desk) -> None:
    ticket_id = desk.create("Refund question", REFUND_QUESTION)
    assert desk.queued() == [ticket_id]
    written = desk.bot.consider(ticket_id)
    assert written is not None and written["article"] == "refunds"
    ticket = desk.ticket(ticket_id)
    assert ticket["status"] == "pending"
    assert ticket["fields"]["answer_bot"] == "offered" and ticket["fields"]["answer_bot_article"] == "refunds"
    reply = ticket["messages"][-1]
    assert reply["author_kind"] == "system" and reply["public"]
    assert "Refunds and returns" in reply["body"] and "Did this solve it?" in reply["body"]
    # again (a replayed queue, a restart, a second process): nothing more
    assert desk.bot.consider(ticket_id) is None
    assert len(desk.ticket(ticket_id)["messages"]) == len(ticket["messages"])


def test_the_mutation_itself_answers_a_ticket_once(desk: Desk) -> None:
    ticket_id = desk.create("Refund question", REFUND_QUESTION)
    with desk.database.engine.connect() as connection:
        article = connection.execute(text("SELECT id FROM kb_article WHERE slug = 'refunds'")).scalar()
    args = {"ticket_id": ticket_id, "article_id": article, "body": "Try this article.", "confidence": 0.9}
    first, _ = desk.state.apply_as(SYSTEM, "ticket.bot_answer", args)
    second, _ = desk.state.apply_as(SYSTEM, "ticket.bot_answer", args)
    assert first["answered"] is True and second["answered"] is False
    assert sum(m["author_kind"] == "system" for m in desk.ticket(ticket_id)["messages"]) == 1


def test_an_agent_may_not_write_as_the_bot(desk: Desk) -> None:
    ticket_id = desk.create("Refund question", REFUND_QUESTION, group_id=desk.group)
    with desk.database.engine.connect() as connection:
        article = connection.execute(text("SELECT id FROM kb_article WHERE slug = 'refunds'")).scalar()
    for name, args in (
        ("ticket.bot_answer", {"ticket_id": ticket_id, "article_id": article, "body": "x", "confidence": 1}),
        ("ticket.bot_feedback", {"ticket_id": ticket_id, "solved": True}),
    ):
        with pytest.raises(DomainError):
            apply_as(desk.database, desk.agent, name, args)


def test_a_question_no_article_answers_is_left_to_the_agents(desk: Desk) -> None:
    ticket_id = desk.create("Partnership", "Do you have an office in Australia? We would like to visit you.")
    assert desk.bot.consider(ticket_id) is None
    assert desk.ticket(ticket_id)["status"] == "new"


def test_never_an_agents_ticket(desk: Desk) -> None:
    desk.create("Refund question", REFUND_QUESTION, actor=desk.agent, group_id=desk.group)
    assert desk.queued() == []


def test_never_an_erased_customer(desk: Desk) -> None:
    ticket_id = desk.create("Refund question", REFUND_QUESTION)
    with desk.database.engine.connect() as connection:
        customer = connection.execute(text("SELECT requester_id FROM ticket WHERE id = :t"), {"t": ticket_id}).scalar()
    desk.state.apply_as(SYSTEM, "customer.erase", {"customer_id": customer})
    assert desk.bot.consider(ticket_id) is None


def test_never_automated_mail(desk: Desk) -> None:
    ticket_id = desk.create(
        "Automatic reply: Refund question",
        REFUND_QUESTION,
        channel="email",
        meta={"email": {"automated": ["Auto-Submitted: auto-replied"], "from": "rita@example.com"}},
    )
    assert desk.bot.consider(ticket_id) is None
    assert desk.ticket(ticket_id)["fields"].get("answer_bot") is None


def test_channels_and_groups_are_configured(tmp_path: Path) -> None:
    desk = _desk(tmp_path, bot_channels=("email",), bot_groups=("Billing",))
    try:
        web = desk.create("Refund question", REFUND_QUESTION)
        assert desk.bot.consider(web) is None  # web is not a bot channel here
        tier1 = desk.create("Refund question", REFUND_QUESTION, channel="email", group_id=desk.group)
        assert desk.bot.consider(tier1) is None  # Tier 1 is not a bot group
        with desk.database.engine.connect() as connection:
            billing = connection.execute(text("SELECT id FROM groups WHERE name = 'Billing'")).scalar()
        ours = desk.create("Refund question", REFUND_QUESTION, channel="email", group_id=billing)
        assert desk.bot.consider(ours) is not None
    finally:
        desk.database.dispose()


def test_yes_solves_it_and_counts_once(desk: Desk) -> None:
    ticket_id = desk.create("Refund question", REFUND_QUESTION)
    assert desk.bot.consider(ticket_id) is not None
    desk.state.apply_as(SYSTEM, "ticket.bot_feedback", {"ticket_id": ticket_id, "solved": True})
    ticket = desk.ticket(ticket_id)
    assert ticket["status"] == "solved" and ticket["fields"]["answer_bot"] == "solved"
    for solved in (True, False):  # a replayed link, the other link afterwards
        with pytest.raises(Conflict):
            desk.state.apply_as(SYSTEM, "ticket.bot_feedback", {"ticket_id": ticket_id, "solved": solved})
    assert desk.ticket(ticket_id)["fields"]["answer_bot"] == "solved"


def test_no_hands_it_to_the_queue_with_a_note(desk: Desk) -> None:
    ticket_id = desk.create("Refund question", REFUND_QUESTION)
    assert desk.bot.consider(ticket_id) is not None
    desk.state.apply_as(SYSTEM, "ticket.bot_feedback", {"ticket_id": ticket_id, "solved": False})
    ticket = desk.ticket(ticket_id)
    assert ticket["status"] == "open" and ticket["fields"]["answer_bot"] == "declined"
    note = ticket["messages"][-1]
    assert not note["public"] and "Refunds and returns" in note["body"] and "did not solve" in note["body"]


def test_a_verdict_needs_an_offer(desk: Desk) -> None:
    ticket_id = desk.create("Partnership", "Do you have an office in Australia?")
    with pytest.raises(Conflict):
        desk.state.apply_as(SYSTEM, "ticket.bot_feedback", {"ticket_id": ticket_id, "solved": True})


def test_links_are_signed_for_one_ticket_and_one_verdict() -> None:
    secret = "k" * 32
    ticket = "0190a0a0-0000-7000-8000-000000000001"
    other = "0190a0a0-0000-7000-8000-000000000002"
    yes = link_token(secret, ticket, True)
    assert read_token(secret, yes) == (ticket, True)
    assert read_token(secret, link_token(secret, ticket, False)) == (ticket, False)
    assert read_token("another-secret" * 3, yes) is None
    assert read_token(secret, yes.replace(ticket, other)) is None  # another customer's ticket
    assert read_token(secret, yes.replace(".y.", ".n.")) is None  # the verdict flipped
    for hostile in ("", "x" * 500, yes + "\x00", "../../etc/passwd", yes.upper()):
        assert read_token(secret, hostile) is None


def test_the_bots_answer_is_not_the_first_response(desk: Desk, clock: Any) -> None:
    """The bot's article is an automatic answer, like a rule's auto-reply: it sets no
    ``first_response_at`` and stops no first-reply clock. When the customer says it did not
    help, the first response is the agent's reply, and the first reply time counts from the
    customer's request — the minutes the bot's offer waited included."""
    from datetime import timedelta

    clock.freeze()
    ticket_id = desk.create("Refund question", REFUND_QUESTION)
    asked = clock()
    clock.advance(timedelta(minutes=1))
    assert desk.bot.consider(ticket_id) is not None

    def timing() -> tuple[Any, Any]:
        with desk.database.engine.connect() as connection:
            first = connection.execute(
                text("SELECT first_response_at FROM ticket WHERE id = :t"), {"t": ticket_id}
            ).scalar()
            seconds = connection.execute(
                text("SELECT first_reply_s FROM ticket_timing WHERE ticket_id = :t"), {"t": ticket_id}
            ).scalar()
        return first, seconds

    assert timing() == (None, None)
    clock.advance(timedelta(minutes=10))
    desk.state.apply_as(SYSTEM, "ticket.bot_feedback", {"ticket_id": ticket_id, "solved": False})
    assert timing() == (None, None)
    clock.advance(timedelta(minutes=10))
    desk.state.apply_as(desk.agent, "ticket.reply", {"ticket_id": ticket_id, "body": "Refunds take 5 days."})
    first, seconds = timing()
    assert first is not None and seconds == 21 * 60
    assert str(first).startswith((asked + timedelta(minutes=21)).strftime("%Y-%m-%d %H:%M"))
