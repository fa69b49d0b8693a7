"""The answer bot: a new customer request that one public article answers gets that article.

After a ``ticket.create`` commits, the ids of the tickets it made go on a queue; one worker
thread (models loaded once, while the server starts, as triage's are) reads each request's
subject and first message, asks the help center's ranking for the one article that answers it
(:meth:`~supportdesk.server.help.search.HelpSearch.answer`: bm25 and meaning must agree, and the
cosine must reach ``[help] bot_threshold``) and writes ``ticket.bot_answer`` through
``ServerState.apply_as``: a public reply with the article, a short extract and "Did this solve
it?" with a signed *yes* and *no* link. The reply is the system's auto-reply, so the mail
channel sends it under the same loop guards as any auto-reply.

The bot leaves a request alone when an agent (or an API token) created it, when its first
message is not the customer's or was automated mail, when its customer is erased, when its
channel or group is not one configured (``bot_channels``, ``bot_groups``), and when the bot
answered it before: the state is on the ticket (``fields.answer_bot``), checked inside the
write, so a restart, a replayed queue or a second server process never answers twice.

The links are ``/help/answers/<ticket id>.<y|n>.<HMAC>``. Opening one shows a button and
spends nothing (mail scanners fetch links); pressing it (with the page's CSRF token) writes
``ticket.bot_feedback``, which accepts one verdict per offer — a replayed or second link is
refused with a clear page. A signed-in customer sees the same two buttons on the request in
the portal.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import hashlib
import hmac
import logging
import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.domain.mutations.answer_bot import ARTICLE, OFFERED, STATE
from supportdesk.server.help import activity, browser
from supportdesk.server.help.context import HelpCenter, help_center
from supportdesk.server.help.pages import ROOT, Visit, read_form

if TYPE_CHECKING:
    from supportdesk.server.apply import Applied
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.state import ServerState

log = logging.getLogger(__name__)

router = APIRouter(prefix=f"{ROOT}/answers", tags=["help center"], include_in_schema=False)

#: Characters of the article quoted in the reply.
EXTRACT = 600
_TOKEN = re.compile(r"([0-9a-f-]{36})\.([yn])\.([0-9a-f]{40})")


def _mac(secret: str, ticket_id: str, verdict: str) -> str:
    return hmac.new(secret.encode(), f"bot:{ticket_id}:{verdict}".encode(), hashlib.sha256).hexdigest()[:40]


def link_token(secret: str, ticket_id: str, solved: bool) -> str:
    verdict = "y" if solved else "n"
    return f"{ticket_id}.{verdict}.{_mac(secret, ticket_id, verdict)}"


def read_token(secret: str, token: str) -> tuple[str, bool] | None:
    """The ticket and verdict a link names, when its HMAC is ours."""
    found = _TOKEN.fullmatch(token) if len(token) < 100 else None
    if found is None:
        return None
    ticket_id, verdict, mac = found.groups()
    if not hmac.compare_digest(mac, _mac(secret, ticket_id, verdict)):
        return None
    return ticket_id, verdict == "y"


@dataclass(frozen=True)
class NewRequest:
    """What the bot reads of a new ticket."""

    ticket_id: str
    subject: str
    body: str
    channel: str
    group: str | None
    customer_name: str
    language: str


class AnswerBot:
    """The after-commit hook and the worker of one app (see the module docstring)."""

    def __init__(self, center: HelpCenter) -> None:
        self.center = center
        self.pending: queue.Queue[str | None] = queue.Queue()
        #: Tickets looked at since start, and those answered (tests wait on ``done``).
        self.count = 0
        self.answered = 0
        self.done = threading.Condition()

    @property
    def state(self) -> "ServerState":
        return self.center.state

    def after_commit(self, _database: "ServerDatabase", applied: "Applied") -> None:
        if applied.name != "ticket.create" or applied.error is not None:
            return
        if applied.actor is not None and applied.actor.id is not None:
            return  # an agent's or an API token's ticket: never the bot's to answer
        for ticket_id in applied.inserted_ids("ticket"):
            self.pending.put(ticket_id)

    def worker(self, _state: "ServerState") -> Callable[[], None]:
        """Load the meaning model and the public articles' index now (seconds of native code
        that must not hold a request), then start the thread."""
        try:
            self.center.search.answer("warm up the answer bot")
        except Exception:  # no articles yet, a database hiccup: the first request builds it
            log.exception("warming the answer bot failed; it loads on the first request")
        thread = threading.Thread(target=self._run, name="supportdesk-answer-bot", daemon=True)
        thread.start()

        def stop() -> None:
            self.pending.put(None)
            thread.join(10)

        return stop

    def _run(self) -> None:
        while True:
            ticket_id = self.pending.get()
            if ticket_id is None:
                return
            try:
                if self.consider(ticket_id) is not None:
                    self.answered += 1
            except Exception:  # one odd ticket never stops the bot
                log.exception("the answer bot failed on ticket %s; an agent answers it", ticket_id)
            with self.done:
                self.count += 1
                self.done.notify_all()

    def consider(self, ticket_id: str) -> dict[str, Any] | None:
        """Answer one new ticket when it qualifies and an article fits; what was written, or None."""
        found = self._read(ticket_id)
        if found is None:
            return None
        answer = self.center.search.answer(f"{found.subject}\n{found.body}")
        if answer is None or answer.confidence < self.center.settings.bot_threshold:
            return None
        body = self._reply(found, answer.hit.title, answer.hit.slug)
        try:
            result = self.state.apply_as(
                SYSTEM,
                "ticket.bot_answer",
                {
                    "ticket_id": ticket_id,
                    "article_id": answer.hit.id,
                    "body": body,
                    "confidence": answer.confidence,
                },
            )[0]
        except DomainError as error:  # erased, closed or unpublished meanwhile
            log.info("the answer bot did not answer ticket %s: %s", ticket_id, error)
            return None
        if not result.get("answered"):
            return None
        activity.count(self.center.database, "bot_answer")
        return result

    def _read(self, ticket_id: str) -> NewRequest | None:
        """The request, when the bot may answer it (see the module docstring)."""
        settings = self.center.settings
        try:
            with self.center.database.engine.connect() as connection:
                row = (
                    connection.execute(
                        text(
                            "SELECT t.subject, t.channel, t.status, t.fields, c.name AS customer, c.erased_at, "
                            "c.locale, g.name AS group_name FROM ticket t JOIN customer c ON c.id = t.requester_id "
                            "LEFT JOIN groups g ON g.id = t.group_id WHERE t.id = :t"
                        ),
                        {"t": ticket_id},
                    )
                    .mappings()
                    .first()
                )
                if row is None or row["erased_at"] is not None or row["status"] not in ("new", "open"):
                    return None
                first = (
                    connection.execute(
                        text(
                            "SELECT body, author_kind, meta FROM message WHERE ticket_id = :t "
                            "ORDER BY created_at, id LIMIT 1"
                        ),
                        {"t": ticket_id},
                    )
                    .mappings()
                    .first()
                )
        except SQLAlchemyError:
            log.exception("reading ticket %s for the answer bot failed", ticket_id)
            return None
        if first is None or first["author_kind"] != "customer":
            return None
        meta = json_object(first["meta"])
        mail = meta.get("email")
        if isinstance(mail, dict) and mail.get("automated"):
            return None  # never answer automated mail (loop guard, RFC 3834)
        fields = json_object(row["fields"])
        if fields.get(STATE):
            return None
        if row["channel"] not in settings.bot_channels:
            return None
        if settings.bot_groups and row["group_name"] not in settings.bot_groups:
            return None
        language = str(fields.get("language") or row["locale"] or "")[:2]
        if language not in settings.languages:
            language = settings.languages[0]
        return NewRequest(
            ticket_id,
            str(row["subject"] or ""),
            str(first["body"] or ""),
            str(row["channel"]),
            row["group_name"],
            str(row["customer"] or ""),
            language,
        )

    def _reply(self, found: NewRequest, title: str, slug: str) -> str:
        """The bot's reply in the customer's language: the article, an extract and the two links."""
        from supportdesk.server.help.search import plain_extract

        center = self.center

        def _(message: str) -> str:
            return center.gettext(found.language, message)

        base = _public_url(center)
        first_name = found.customer_name.split()[0] if found.customer_name.strip() else ""
        lines = [
            (_("Hello %(name)s,") % {"name": first_name}) if first_name else _("Hello,"),
            "",
            _("This article from our help center may answer your request:"),
            "",
            title,
        ]
        if base:
            lines.append(f"{base}{ROOT}/articles/{slug}")
        article_body = _article_body(center, slug)
        if article_body:
            lines += ["", plain_extract(article_body, EXTRACT)]
        lines += ["", _("Did this solve it?")]
        if base:
            secret = center.settings.secret
            lines += [
                _("Yes, it did: %(url)s")
                % {"url": f"{base}{ROOT}/answers/{link_token(secret, found.ticket_id, True)}"},
                _("No, I still need help: %(url)s")
                % {"url": f"{base}{ROOT}/answers/{link_token(secret, found.ticket_id, False)}"},
            ]
        else:
            lines.append(_("If you still need help, just answer this message."))
        lines += ["", _("(An automatic answer from %(brand)s.)") % {"brand": center.settings.brand}]
        return "\n".join(lines)


def json_object(value: Any) -> dict[str, Any]:
    """A JSON column as a dict, whatever the driver returned (text on SQLite, a dict on PostgreSQL)."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _public_url(center: HelpCenter) -> str:
    from supportdesk.server.channels import channel_service

    service = channel_service(center.state)
    url = str(service.settings.public_url or "") if service is not None else ""
    return url.rstrip("/")


def _article_body(center: HelpCenter, slug: str) -> str:
    with center.database.read_engine.connect() as connection:
        body = connection.execute(
            text("SELECT body FROM kb_article WHERE slug = :s AND public = :yes"), {"s": slug, "yes": True}
        ).scalar()
    return str(body or "")


def install(center: HelpCenter) -> AnswerBot:
    """Answer the new tickets of this app's server (its hook, its worker and its links)."""
    bot = AnswerBot(center)
    state = center.state
    state.extensions["answer_bot"] = bot
    state.after_commit.append(bot.after_commit)
    state.workers.append(bot.worker)
    return bot


# --- the customer's verdict ----------------------------------------------------------------------


def offer(center: HelpCenter, ticket_id: str) -> dict[str, Any] | None:
    """The bot's offer on a ticket still waiting for a verdict (number, subject, article), or None
    (answered already, never offered, or the customer is erased)."""
    with center.database.read_engine.connect() as connection:
        row = (
            connection.execute(
                text(
                    "SELECT t.id, t.number, t.subject, t.fields, t.status, t.requester_id FROM ticket t "
                    "JOIN customer c ON c.id = t.requester_id WHERE t.id = :t AND c.erased_at IS NULL"
                ),
                {"t": ticket_id},
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        fields = json_object(row["fields"])
        if fields.get(STATE) != OFFERED or row["status"] == "closed":
            return None
        article = (
            connection.execute(
                text("SELECT slug, title FROM kb_article WHERE slug = :s"), {"s": str(fields.get(ARTICLE) or "")}
            )
            .mappings()
            .first()
        )
    return {**row, "article": dict(article) if article else None}


def _refused(visit: Visit, status: int = 403) -> Response:
    _ = visit.gettext
    return visit.message(
        status,
        _("This link does not work"),
        _("Your answer to this suggestion was recorded already, or the link is not valid."),
        back=f"{ROOT}/requests",
    )


@router.get("/{token}")
def confirm(request: Request, token: str) -> Response:
    """The link's page: one button. Opening it records nothing, so a mail scanner that fetches
    every link cannot answer for the customer."""
    center = help_center(request)
    visit = Visit(center, request)
    named = read_token(center.settings.secret, token)
    found = offer(center, named[0]) if named else None
    if named is None or found is None:
        return _refused(visit)
    csrf = browser.csrf_token(center.settings.secret, visit.browser or "")
    return visit.page("bot-answer.html", offer=found, solved=named[1], token=token, csrf=csrf)


@router.post("/{token}")
async def record(request: Request, token: str) -> Response:
    """Record the customer's verdict once: yes solves the request, no hands it to an agent."""
    center = help_center(request)
    visit = Visit(center, request)
    _ = visit.gettext
    fields = await read_form(request, 4096)
    named = read_token(center.settings.secret, token)
    if named is None:
        return _refused(visit)
    ticket_id, solved = named
    found = offer(center, ticket_id)
    if found is None:
        return _refused(visit, 409)
    if fields is None or not browser.csrf_ok(center.settings.secret, visit.browser, fields.get("csrf")):
        csrf = browser.csrf_token(center.settings.secret, visit.browser or "")
        return visit.page("bot-answer.html", 403, offer=found, solved=solved, token=token, csrf=csrf, expired=True)

    def write() -> None:
        center.state.apply_as(SYSTEM, "ticket.bot_feedback", {"ticket_id": ticket_id, "solved": solved})

    try:
        await run_in_threadpool(write)
    except DomainError:  # the other link (or a second tab) won meanwhile
        return _refused(visit, 409)
    await run_in_threadpool(activity.count, center.database, "bot_solved" if solved else "bot_declined")
    if solved:
        return visit.message(
            200,
            _("Glad we could help"),
            _("Your request #%(number)s is solved. If anything comes up again, just answer our message.")
            % {"number": found["number"]},
        )
    return visit.message(
        200,
        _("Thank you — a person will answer"),
        _("Your request #%(number)s is now with our team; we will answer you as soon as we can.")
        % {"number": found["number"]},
    )
