"""The web form at ``/help/new``: suggests articles while the subject is typed, then files.

A request is filed by the web-form channel (:mod:`supportdesk.channels.webhooks.webform`), the
same code and the same ``ticket.create`` mutation as a signed webhook from an outside form, so
it is threaded, routed and answered like every web-form ticket. Our own page needs no
signature; it is protected instead by

- a CSRF token bound to the browser's cookie (:mod:`.browser`);
- a honeypot field people never see (``website``): a filled one is refused;
- limits per client address and per email address an hour (``[help] form_per_ip`` and
  ``form_per_address``), and sizes (``max_subject``, ``max_description``, 64 KiB of text a post);
- files (when the server keeps attachments): at most ``form_max_files``, within the blob
  store's limits, names cleaned, bytes that match their names (:mod:`.uploads`);
- one ticket per rendered form: the page's ``form_id`` is the channel's submission id, so a
  double click or a reload files once and shows the same reference.

Every refusal re-renders the form with the customer's text kept and one clear sentence per
problem; nothing is filed until every check has passed.

Opening a suggested article records it against the form (``help_deflection``); sending the form
removes the record, so what is left after the deflection window is a request the help center
answered.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from supportdesk.channels.errors import ChannelError
from supportdesk.server.auth import client_address
from supportdesk.server.help import activity, browser, pages
from supportdesk.server.help.context import help_center
from supportdesk.server.help.pages import ROOT, Visit, read_form

router = APIRouter(prefix=ROOT, tags=["help center"], include_in_schema=False)

NEW_PATH = f"{ROOT}/new"
MAX_NAME = 200
MAX_EMAIL = 254
_EMAIL = re.compile(r"[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;.]+")


def _blobs(visit: Visit) -> Any:
    """The server's blob store when it keeps files (the form then offers attachments), or None."""
    blobs = visit.center.state.extensions.get("blobs")
    return blobs if blobs is not None and getattr(blobs, "store", None) is not None else None


def _form(visit: Visit, status: int = 200, **extra: Any) -> Response:
    from supportdesk.server.channels import channel_service

    center = visit.center
    values = extra.pop("values", {})
    blobs = _blobs(visit)
    return visit.page(
        "new.html",
        status,
        available=channel_service(center.state) is not None,
        files=center.settings.form_max_files if blobs is not None else 0,
        max_file_mb=blobs.limits.max_file_bytes // (1024 * 1024) if blobs is not None else 0,
        csrf=browser.csrf_token(center.settings.secret, visit.browser or ""),
        form_id=extra.pop("form_id", None) or browser.new_form_id(),
        values={"name": "", "email": "", "subject": "", "description": "", **values},
        errors=extra.pop("errors", {}),
        suggestions=extra.pop("suggestions", []),
        max_subject=center.settings.max_subject,
        max_description=center.settings.max_description,
        **extra,
    )


@router.get("/new")
def new(request: Request) -> Response:
    return _form(Visit(help_center(request), request))


def check(visit: Visit, fields: dict[str, str]) -> dict[str, str]:
    """One message per field that cannot be sent as it is."""
    settings = visit.center.settings

    _ = visit.gettext

    errors: dict[str, str] = {}
    email = fields["email"]
    if not email:
        errors["email"] = _("Enter your email address, so we can answer you.")
    elif len(email) > MAX_EMAIL or not _EMAIL.fullmatch(email):
        errors["email"] = _("Enter an email address like name@example.com.")
    if len(fields["name"]) > MAX_NAME:
        errors["name"] = _("The name is too long (at most %(max)d characters).") % {"max": MAX_NAME}
    if not fields["subject"]:
        errors["subject"] = _("Enter a subject.")
    elif len(fields["subject"]) > settings.max_subject:
        errors["subject"] = _("The subject is too long (at most %(max)d characters).") % {"max": settings.max_subject}
    if not fields["description"]:
        errors["description"] = _("Describe what you need.")
    elif len(fields["description"]) > settings.max_description:
        errors["description"] = _("The description is too long (at most %(max)d characters).") % {
            "max": settings.max_description
        }
    return errors


@router.post("/new")
async def send(request: Request) -> Response:
    center = help_center(request)
    visit = Visit(center, request)

    _ = visit.gettext

    blobs = _blobs(visit)
    uploads: list[Any] = []
    if blobs is not None and request.headers.get("content-type", "").startswith("multipart/form-data"):
        from supportdesk.server.help import uploads as upload_checks

        posted = await upload_checks.read_multipart(request, max_post_bytes(blobs.limits))
        raw, uploads = posted if posted is not None else (None, [])
    else:
        raw = await read_form(request)
    if raw is None:
        return visit.message(
            413,
            _("Request not sent"),
            _("The form was too large or not understood. Shorten the description and try again."),
            back=NEW_PATH,
        )
    fields = {key: raw.get(key, "").strip() for key in ("name", "email", "subject", "description")}
    fields["description"] = raw.get("description", "").strip("\r\n")
    form_id = browser.valid_form_id(raw.get("form_id")) or browser.new_form_id()
    again: dict[str, Any] = {"values": fields, "form_id": form_id}
    if visit.new_browser or not browser.csrf_ok(center.settings.secret, visit.browser, raw.get("csrf")):
        message = _("This form has expired or your browser refused our cookie. Check your text and send it again.")
        return _form(visit, 403, errors={"form": message}, **again)
    if raw.get("website"):
        message = _("Your request looks automated and was not sent. If you are a person, write to us by email.")
        return _form(visit, 422, errors={"form": message}, **again)
    if raw.get("action") == "suggest":
        hits = await run_in_threadpool(center.search.search, fields["subject"], limit=5) if fields["subject"] else []
        return _form(visit, suggestions=hits, **again)
    wait = center.limiter("form_ip").wait(client_address(request))
    if wait > 0:
        message = _("Too many requests were sent from your network. Please try again in %(minutes)d minutes.") % {
            "minutes": max(1, round(wait / 60))
        }
        return _form(visit, 429, errors={"form": message}, **again)
    errors = check(visit, fields)
    if uploads and blobs is not None:
        from supportdesk.server.help.uploads import check as check_files

        refused = check_files(uploads, blobs.limits, center.settings.form_max_files, _)
        if refused:
            errors["attachments"] = refused + " " + _("Choose the files again.")
    if errors:
        status = 413 if "attachments" in errors and len(errors) == 1 else 422
        return _form(visit, status, errors=errors, **again)
    from supportdesk.server.channels import channel_service

    service = channel_service(center.state)
    if service is None:
        return _form(visit, 503, **again)
    address_wait = center.limiter("form_address").wait(fields["email"].lower())
    if address_wait > 0:
        message = _("Too many requests were sent from this email address. Please try again in %(minutes)d minutes.") % {
            "minutes": max(1, round(address_wait / 60))
        }
        return _form(visit, 429, errors={"form": message}, **again)
    try:
        reference = await run_in_threadpool(_file, center, service, form_id, fields, visit.lang, blobs, uploads)
    except ChannelError as error:
        return _form(
            visit,
            422,
            errors={"form": _("Your request could not be sent: %(reason)s") % {"reason": str(error)}},
            **again,
        )
    center.limiter("form_ip").take(client_address(request))
    center.limiter("form_address").take(fields["email"].lower())
    return visit.page("sent.html", reference=reference)


def max_post_bytes(limits: Any) -> int:
    """The largest form post read with files: the text's limit, the files' (and one file more, so
    that a post just over it hears which limit it passed), and their framing."""
    return int(pages.MAX_FORM_BYTES + limits.max_message_bytes + limits.max_file_bytes + 64 * 1024)


def _file(
    center: Any,
    service: Any,
    form_id: str,
    fields: dict[str, str],
    lang: str,
    blobs: Any = None,
    uploads: list[Any] | None = None,
) -> str:
    """File the request through the web-form channel; its reference (``#1042``)."""
    from supportdesk.channels.webhooks.webform import CHANNEL, WebformPayload
    from supportdesk.server.help.uploads import store

    payload = WebformPayload(
        submission_id=f"{center.settings.form_name}-{form_id}",
        form=center.settings.form_name,
        email=fields["email"],
        name=fields["name"] or None,
        subject=fields["subject"],
        message=fields["description"],
        # "help_center": how reports tell the help center's own form from outside web forms
        fields={"language": lang, "help_center": "form"},
    )
    attachments = store(blobs, uploads) if blobs is not None and uploads else []
    outcome = CHANNEL.ingest(service.webhooks, payload, attachments=attachments)
    with center.database.engine.begin() as connection:
        activity.form_submitted(connection, form_id)
        number = outcome.number
        if number is None and outcome.ticket_id:
            number = connection.execute(
                text("SELECT number FROM ticket WHERE id = :id"), {"id": outcome.ticket_id}
            ).scalar()
    if outcome.created:
        activity.count(center.database, "form_ticket")
    return f"#{number}" if number is not None else (outcome.ticket_id or "")


def too_large_page(center: Any, limits: Any | None) -> Any:
    """The page a customer's browser gets when a form post is over the server's body limit for
    ``/help/new`` (refused before it is read, so before the form could say which file): the
    form's own error page, in the visitor's language, never the API's JSON 413."""
    from starlette.requests import Request as StarletteRequest

    def page(scope: Any) -> Response:
        visit = Visit(center, StarletteRequest(scope))
        _ = visit.gettext
        if limits is not None:
            message = _("The files are larger than %(mb)d MB together.") % {
                "mb": limits.max_message_bytes // (1024 * 1024)
            }
        else:
            message = _("The form was too large or not understood. Shorten the description and try again.")
        return visit.message(413, _("Request not sent"), message, back=NEW_PATH)

    return page
