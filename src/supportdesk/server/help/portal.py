"""The customer portal at ``/help/requests``: sign in by a mailed link, follow and answer requests.

- **Sign-in.** The customer types an address; when a customer owns it (and is not erased) a
  single-use link valid for :data:`LINK_MINUTES` is mailed through the channels' outbox, built on
  ``[channels] public_url`` (never on the request's Host header, which a caller chooses). Known and
  unknown addresses get the same page, so addresses cannot be probed; both are limited per
  client address and per address typed.
- **The link** is ``<id>.<HMAC of id>``. Opening it shows one button and spends nothing (mail
  scanners fetch links); pressing it marks the link used in the same statement that checks it (a
  replay, a second tab, an expired link: all refused alike) and opens a session whose cookie is
  random and stored only as its SHA-256.
- **What is shown** is the signed-in customer's own tickets and their public messages — never
  internal notes. Another customer's ticket number answers exactly like a missing one. Every
  request re-reads the customer: an erased customer's session and links stop working.
- **A reply** is ``ticket.receive`` from the customer, as an email would be (it reopens a solved
  ticket and follows up a closed one).
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import hashlib
import hmac
import secrets
from datetime import timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.server.auth import client_address
from supportdesk.server.help import browser
from supportdesk.server.help.context import HelpCenter, help_center
from supportdesk.server.help.pages import ROOT, Visit, read_form
from supportdesk.server.reads import snapshot
from supportdesk.store.ids import uuid7
from supportdesk.store.times import utcnow

router = APIRouter(prefix=f"{ROOT}/requests", tags=["help center"], include_in_schema=False)

LINK_MINUTES = 30
SESSION_COOKIE = "help_session"
MAX_REPLY = 20_000
MAX_TICKETS = 100
MAX_MESSAGES = 500


def _mac(secret: str, login_id: str) -> str:
    return hmac.new(secret.encode(), f"login:{login_id}".encode(), hashlib.sha256).hexdigest()[:40]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _channels(center: HelpCenter) -> Any:
    from supportdesk.server.channels import channel_service

    service = channel_service(center.state)
    if service is None or not service.settings.public_url:
        return None
    return service


def signed_in(center: HelpCenter, request: Request) -> str | None:
    """The customer of this request's session, or None (expired, erased, signed out)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
        return None
    with center.database.read_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT s.customer_id FROM help_session s JOIN customer c ON c.id = s.customer_id "
                "WHERE s.token_hash = :h AND s.expires_at > :now AND c.erased_at IS NULL"
            ),
            {"h": _hash(token), "now": utcnow()},
        ).first()
    return str(row[0]) if row else None


@router.get("")
def requests_page(request: Request) -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    customer = signed_in(center, request)
    if customer is None:
        return _sign_in_page(visit)
    with snapshot(center.database) as connection:
        tickets = connection.execute(
            text(
                "SELECT number, subject, status, updated_at FROM ticket WHERE requester_id = :c "
                "ORDER BY updated_at DESC, number DESC LIMIT :limit"
            ),
            {"c": customer, "limit": MAX_TICKETS},
        ).all()
    _ = visit.gettext
    statuses = {
        "new": _("Open"),
        "open": _("Open"),
        "on_hold": _("Open"),
        "pending": _("Waiting for your answer"),
        "solved": _("Solved"),
        "closed": _("Closed"),
    }
    return visit.page("requests.html", tickets=tickets, csrf=_csrf(visit), statuses=statuses)


def _csrf(visit: Visit) -> str:
    return browser.csrf_token(visit.center.settings.secret, visit.browser or "")


def _sign_in_page(visit: Visit, status: int = 200, **extra: Any) -> Response:
    return visit.page(
        "sign-in.html",
        status,
        available=_channels(visit.center) is not None,
        csrf=_csrf(visit),
        email=extra.pop("email", ""),
        errors=extra.pop("errors", {}),
        **extra,
    )


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    _ = visit.gettext
    fields = await read_form(request, 4096)
    email = (fields or {}).get("email", "").strip()
    if fields is None or not browser.csrf_ok(center.settings.secret, visit.browser, fields.get("csrf")):
        message = _("This form has expired or your browser refused our cookie. Check your text and send it again.")
        return _sign_in_page(visit, 403, email=email, errors={"form": message})
    if not email or len(email) > 254 or "@" not in email:
        return _sign_in_page(
            visit, 422, email=email, errors={"email": _("Enter an email address like name@example.com.")}
        )
    service = _channels(center)
    if service is None:
        return _sign_in_page(visit, 503, email=email)
    if center.limiter("login_ip").take(client_address(request)) or center.limiter("login_address").take(email.lower()):
        message = _("Too many sign-in links were asked for. Please wait a while and try again.")
        return _sign_in_page(visit, 429, email=email, errors={"form": message})
    await run_in_threadpool(_mail_link, center, service, email, visit)
    return visit.page("link-sent.html", email=email, minutes=LINK_MINUTES)


def _mail_link(center: HelpCenter, service: Any, email: str, visit: Visit) -> None:
    """Mail a sign-in link when a customer owns ``email``; nothing (and no sign of it) otherwise."""
    from supportdesk.channels.identities import find_customer
    from supportdesk.store.enums import IdentityKind
    from supportdesk.store.models_channels import ChannelOutbox

    try:
        customer = find_customer(center.database.engine, IdentityKind.EMAIL, email)
    except (DomainError, ValueError):
        return
    if customer is None:
        return
    now = utcnow()
    login_id = uuid7()
    settings = service.settings
    url = (
        f"{settings.public_url.rstrip('/')}{ROOT}/requests/sign-in/{login_id}.{_mac(center.settings.secret, login_id)}"
    )
    mail = EmailMessage()
    header_id = make_msgid(domain=settings.mail_domain)
    mail["Message-ID"] = header_id
    mail["Date"] = format_datetime(now)
    mail["From"] = Address(center.settings.brand, addr_spec=settings.default_from or f"support@{settings.mail_domain}")
    mail["To"] = email
    mail["Subject"] = visit.gettext("Your sign-in link for %(brand)s") % {"brand": center.settings.brand}
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(
        visit.gettext(
            "Open this link within %(minutes)d minutes to see your requests:\n\n%(url)s\n\n"
            "The link works once. If you did not ask for it, you can ignore this mail."
        )
        % {"minutes": LINK_MINUTES, "url": url}
    )
    outbox = ChannelOutbox.__table__  # type: ignore[attr-defined]
    with center.database.engine.begin() as connection:
        row = connection.execute(text("SELECT erased_at FROM customer WHERE id = :c"), {"c": customer}).first()
        if row is None or row[0] is not None:
            return
        connection.execute(
            text("INSERT INTO help_login (id, customer_id, created_at, expires_at) VALUES (:id, :c, :now, :expires)"),
            {"id": login_id, "c": customer, "now": now, "expires": now + timedelta(minutes=LINK_MINUTES)},
        )
        connection.execute(
            outbox.insert().values(
                key=f"email:login:{login_id}",
                channel="email",
                kind="login",
                ticket_id=None,
                message_id=None,
                recipient=email,
                header_id=header_id,
                payload=mail.as_bytes().decode("ascii", "replace"),
                status="queued",
                next_attempt_at=now,
                created_at=now,
            )
        )


def _link_refused(visit: Visit) -> Response:
    _ = visit.gettext
    return visit.message(
        403,
        _("This link does not work"),
        _("Sign-in links work once and for %(minutes)d minutes. Ask for a new one.") % {"minutes": LINK_MINUTES},
        back=f"{ROOT}/requests",
    )


def _link_id(center: HelpCenter, token: str) -> str | None:
    """The login a link names, when its HMAC is ours (whether it may still be used is not checked)."""
    login_id, _dot, mac = token.partition(".")
    if len(token) > 100 or not mac or not hmac.compare_digest(mac, _mac(center.settings.secret, login_id)):
        return None
    return login_id


@router.get("/sign-in/{token}")
def confirm_link(request: Request, token: str) -> Response:
    """The link's page: one button that signs in. Opening the link uses nothing, so a mail
    scanner that fetches every link cannot spend it before the customer clicks."""
    center = help_center(request)
    visit = Visit(center, request)
    login_id = _link_id(center, token)
    if login_id is None:
        return _link_refused(visit)
    with center.database.read_engine.connect() as connection:
        usable = connection.execute(
            text(
                "SELECT 1 FROM help_login l JOIN customer c ON c.id = l.customer_id "
                "WHERE l.id = :id AND l.used_at IS NULL AND l.expires_at > :now AND c.erased_at IS NULL"
            ),
            {"id": login_id, "now": utcnow()},
        ).first()
    if usable is None:
        return _link_refused(visit)
    return visit.page("sign-in-confirm.html", csrf=_csrf(visit), token=token)


@router.post("/sign-in/{token}")
async def follow_link(request: Request, token: str) -> Response:
    """Spend the link (once, before it expires) and open a session."""
    center = help_center(request)
    visit = Visit(center, request)
    fields = await read_form(request, 4096)
    login_id = _link_id(center, token)
    if login_id is None:
        return _link_refused(visit)
    if fields is None or not browser.csrf_ok(center.settings.secret, visit.browser, fields.get("csrf")):
        return visit.page("sign-in-confirm.html", 403, csrf=_csrf(visit), token=token, expired=True)
    refused = _link_refused(visit)
    now = utcnow()
    session = secrets.token_urlsafe(32)
    with center.database.engine.begin() as connection:
        used = connection.execute(
            text(
                "UPDATE help_login SET used_at = :now WHERE id = :id AND used_at IS NULL AND expires_at > :now "
                "AND customer_id IN (SELECT id FROM customer WHERE erased_at IS NULL)"
            ),
            {"now": now, "id": login_id},
        )
        if used.rowcount != 1:
            return refused
        customer = connection.execute(
            text("SELECT customer_id FROM help_login WHERE id = :id"), {"id": login_id}
        ).scalar()
        connection.execute(
            text(
                "INSERT INTO help_session (token_hash, customer_id, created_at, expires_at) VALUES (:h, :c, :now, :exp)"
            ),
            {
                "h": _hash(session),
                "c": customer,
                "now": now,
                "exp": now + timedelta(hours=center.settings.session_hours),
            },
        )
    response = Response(status_code=303, headers={"Location": f"{ROOT}/requests"})
    service = _channels(center)
    secure = bool(service and str(service.settings.public_url).startswith("https://"))
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=center.settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        path=ROOT,
        secure=secure,
    )
    return visit.finish(response)


def _own_ticket(center: HelpCenter, customer: str, number: int) -> dict[str, Any] | None:
    with snapshot(center.database) as connection:
        row = (
            connection.execute(
                text("SELECT id, number, subject, status, fields FROM ticket WHERE number = :n AND requester_id = :c"),
                {"n": number, "c": customer},
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        messages = (
            connection.execute(
                text(
                    "SELECT m.body, m.author_kind, m.created_at, a.name AS agent FROM message m "
                    "LEFT JOIN agent a ON a.id = m.author_agent_id "
                    "WHERE m.ticket_id = :t AND m.public ORDER BY m.created_at, m.id LIMIT :limit"
                ),
                {"t": row["id"], "limit": MAX_MESSAGES},
            )
            .mappings()
            .all()
        )
        survey = connection.execute(
            text("SELECT id FROM survey WHERE ticket_id = :t AND answered_at IS NULL ORDER BY issued_at DESC LIMIT 1"),
            {"t": row["id"]},
        ).scalar()
    rate = None
    if survey is not None and row["status"] == "solved":
        from supportdesk.domain.feedback import survey_token

        # the signing secret is made on its first use: a write, so not in the read snapshot
        with center.database.engine.begin() as connection:
            rate = f"/v1/feedback/{survey_token(connection, survey)}"
    return {**row, "messages": [dict(m) for m in messages], "rate": rate, "bot": _bot_links(center, dict(row))}


def _bot_links(center: HelpCenter, ticket: dict[str, Any]) -> dict[str, str] | None:
    """The answer bot's yes / no links of a ticket whose offer waits for the customer's verdict."""
    from supportdesk.domain.mutations.answer_bot import OFFERED, STATE
    from supportdesk.server.help.bot import json_object, link_token

    if json_object(ticket.get("fields")).get(STATE) != OFFERED or ticket["status"] == "closed":
        return None
    secret = center.settings.secret
    return {"yes": link_token(secret, ticket["id"], True), "no": link_token(secret, ticket["id"], False)}


@router.get("/{number}")
def request_page(request: Request, number: str) -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    customer = signed_in(center, request)
    if customer is None:
        return _sign_in_page(visit, 401)
    ticket = _own_ticket(center, customer, int(number)) if number.isdigit() and len(number) < 12 else None
    if ticket is None:
        _ = visit.gettext
        return visit.message(404, _("Page not found"), _("There is no such page in the help center."))
    return visit.page("request.html", ticket=ticket, csrf=_csrf(visit), errors={})


@router.post("/{number}/reply")
async def reply(request: Request, number: str) -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    _ = visit.gettext
    customer = signed_in(center, request)
    if customer is None:
        return _sign_in_page(visit, 401)
    ticket = _own_ticket(center, customer, int(number)) if number.isdigit() and len(number) < 12 else None
    if ticket is None:
        return visit.message(404, _("Page not found"), _("There is no such page in the help center."))
    fields = await read_form(request, 4 * MAX_REPLY + 4096)
    body = (fields or {}).get("body", "").strip()
    errors: dict[str, str] = {}
    if fields is None or not browser.csrf_ok(center.settings.secret, visit.browser, fields.get("csrf")):
        errors["form"] = _(
            "This form has expired or your browser refused our cookie. Check your text and send it again."
        )
    elif not body:
        errors["body"] = _("Write your answer first.")
    elif len(body) > MAX_REPLY:
        errors["body"] = _("The description is too long (at most %(max)d characters).") % {"max": MAX_REPLY}
    if errors:
        return visit.page("request.html", 422, ticket=ticket, csrf=_csrf(visit), errors=errors, draft=body)

    def receive() -> None:
        center.state.apply_as(
            SYSTEM,
            "ticket.receive",
            {
                "ticket_id": ticket["id"],
                "body": body,
                "channel": "web",
                "customer_id": customer,
                "meta": {"help": {"via": "portal"}},
            },
        )

    await run_in_threadpool(receive)
    return visit.finish(Response(status_code=303, headers={"Location": f"{ROOT}/requests/{ticket['number']}"}))


@router.post("/{number}/solve")
async def solve(request: Request, number: str) -> Response:
    """ "My problem is solved": the customer solves their own ticket (it may issue a survey)."""
    center = help_center(request)
    visit = Visit(center, request)
    _ = visit.gettext
    customer = signed_in(center, request)
    if customer is None:
        return _sign_in_page(visit, 401)
    ticket = _own_ticket(center, customer, int(number)) if number.isdigit() and len(number) < 12 else None
    if ticket is None:
        return visit.message(404, _("Page not found"), _("There is no such page in the help center."))
    fields = await read_form(request, 4096)
    if fields is None or not browser.csrf_ok(center.settings.secret, visit.browser, fields.get("csrf")):
        message = _("This form has expired or your browser refused our cookie. Check your text and send it again.")
        return visit.page("request.html", 403, ticket=ticket, csrf=_csrf(visit), errors={"form": message})
    if ticket["status"] not in ("solved", "closed"):

        def mark() -> None:
            center.state.apply_as(SYSTEM, "ticket.set_status", {"ticket_id": ticket["id"], "status": "solved"})

        await run_in_threadpool(mark)
    return visit.finish(Response(status_code=303, headers={"Location": f"{ROOT}/requests/{ticket['number']}"}))


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    center = help_center(request)
    visit = Visit(center, request)
    token = request.cookies.get(SESSION_COOKIE)
    if token and len(token) <= 100:
        with center.database.engine.begin() as connection:
            connection.execute(text("DELETE FROM help_session WHERE token_hash = :h"), {"h": _hash(token)})
    response = Response(status_code=303, headers={"Location": ROOT})
    response.delete_cookie(SESSION_COOKIE, path=ROOT)
    return visit.finish(response)
