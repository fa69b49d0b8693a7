"""``ticket.bot_answer`` and ``ticket.bot_feedback``: the answer bot's reply and the customer's verdict.

The help center's answer bot (``server/help/bot.py``) offers one public article to a new
ticket and asks "Did this solve it?". What it did lives on the ticket itself, in two fields
every replica pulls and every report can count:

- ``fields.answer_bot``: ``offered`` (waiting for the customer), ``solved`` (the customer said
  yes: resolved by self-service) or ``declined`` (no: handed to the queue);
- ``fields.answer_bot_article``: the slug of the article offered.

Because the state is on the ticket and checked inside the write transaction, the bot answers a
ticket at most once — after a restart, a replayed queue or two server processes racing — and a
verdict counts once: a second "yes", a "no" after a "yes", a replayed link all find the state
moved on and are refused. Both mutations are the system's (admins only): an agent's client
cannot push a bot answer or a customer's verdict.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain.errors import Conflict, InvalidTransition, NotFound
from supportdesk.domain.mutations.common import label, load_ticket, set_status, system_message, touch
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.text_safety import sanitize_text
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import Status
from supportdesk.store.ids import uuid7

#: The ticket fields the bot writes (see the module docstring).
STATE = "answer_bot"
ARTICLE = "answer_bot_article"
OFFERED, SOLVED, DECLINED = "offered", "solved", "declined"
MAX_BODY = 20_000


class BotAnswer(Args):
    ticket_id: str
    article_id: str
    body: str = Field(max_length=MAX_BODY)
    confidence: float = Field(ge=0, le=1)
    message_id: str = Field(default_factory=uuid7)


@mutation("ticket.bot_answer", BotAnswer, roles=ADMINS)
def bot_answer(tx: Tx, args: BotAnswer) -> dict[str, Any]:
    """The answer bot's public reply offering a help-center article; the ticket waits for the
    customer's verdict (pending). Answers a ticket once: a second call changes nothing."""
    ticket = load_ticket(tx, args.ticket_id)
    fields = dict(ticket.get("fields") or {})
    if fields.get(STATE):
        return {"ticket_id": ticket["id"], "answered": False, "reason": "the bot has answered this ticket already"}
    if ticket["status"] not in (Status.NEW, Status.OPEN):
        return {"ticket_id": ticket["id"], "answered": False, "reason": f"{label(ticket)} is {ticket['status']}"}
    article = tx.row("kb_article", args.article_id)
    if article is None or not article.get("public"):
        raise NotFound(f"no public article with id {args.article_id}", field="article_id")
    system_message(
        tx,
        ticket,
        args.message_id,
        sanitize_text(args.body),
        public=True,
        # an auto-reply to the mail channel: the same loop guards as a rule's (RFC 3834)
        meta={"auto_reply": True, "answer_bot": {"article_id": article["id"], "confidence": round(args.confidence, 3)}},
    )
    fields.update({STATE: OFFERED, ARTICLE: article["slug"]})
    tx.update("ticket", ticket["id"], {"fields": fields}, current=ticket)
    set_status(tx, ticket, Status.PENDING)
    touch(tx, ticket)
    return {"ticket_id": ticket["id"], "answered": True, "message_id": args.message_id, "article": article["slug"]}


class BotFeedback(Args):
    ticket_id: str
    solved: bool
    note_id: str = Field(default_factory=uuid7)


@mutation("ticket.bot_feedback", BotFeedback, roles=ADMINS)
def bot_feedback(tx: Tx, args: BotFeedback) -> dict[str, Any]:
    """The customer's answer to "Did this solve it?": yes solves the ticket (resolved by
    self-service); no opens it for the agents with an internal note of what was offered."""
    ticket = load_ticket(tx, args.ticket_id)
    fields = dict(ticket.get("fields") or {})
    if fields.get(STATE) != OFFERED:
        raise Conflict(f"{label(ticket)} has no answer of the bot waiting for a verdict", field="ticket_id")
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="ticket_id")
    slug = str(fields.get(ARTICLE) or "")
    fields[STATE] = SOLVED if args.solved else DECLINED
    tx.update("ticket", ticket["id"], {"fields": fields}, current=ticket)
    if args.solved:
        if ticket["status"] != Status.SOLVED:
            set_status(tx, ticket, Status.SOLVED)
    else:
        article = tx.find("kb_article", slug=slug) if slug else None
        title = article["title"] if article else slug
        system_message(
            tx,
            ticket,
            args.note_id,
            f'The answer bot offered the article "{title}" (/help/articles/{slug}); '
            "the customer said it did not solve the request.",
            public=False,
            meta={"answer_bot": {"verdict": "declined", "article": slug}},
        )
        if ticket["status"] in (Status.PENDING, Status.NEW):
            set_status(tx, ticket, Status.OPEN)
    touch(tx, ticket)
    return {"ticket_id": ticket["id"], "verdict": fields[STATE]}
