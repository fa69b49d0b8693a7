"""The customer's side of satisfaction surveys: ``/v1/feedback/{token}``, with no API token.

The survey link is the credential: its token is the survey id signed by this server
(:mod:`supportdesk.domain.feedback`), so nobody logs in. ``GET`` shows the questions (a small
HTML form for a browser, JSON otherwise); ``POST`` records the answer by running
``survey.answer`` as the system through the server's write path (:func:`apply_as`), so it lands
in the change log and reaches every replica that sees the ticket.

Refusals are 4xx JSON errors naming the field (an HTML page when a browser posted the form):
a forged or altered token 403, a genuine one whose survey is gone 404, an answered survey 409,
a bad rating 422, a body over 64 KiB 413 (every answer the schema allows fits). As nobody logs
in, requests are limited per client address (``serve --feedback-limit`` a minute; 429 with
Retry-After).
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import html
import json
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from supportdesk.domain import feedback
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import DomainError
from supportdesk.server.auth import client_address
from supportdesk.server.errors import ApiError
from supportdesk.server.handlers import ORJSONResponse, error_response
from supportdesk.server.limits import retry_after
from supportdesk.server.reads import snapshot
from supportdesk.server.state import ServerState, State

#: The largest answer body read. Every answer the schema allows must fit, in any encoding a
#: client may use: a 5,000-character comment of emoji is 60,000 bytes as JSON with ASCII escapes
#: (``\\ud83d\\ude00``, 12 bytes a character) and as a form (``%F0%9F%98%80``, 12 as well). At
#: 16 KiB a customer's 2,000-character comment in Chinese sent by the form was refused with a
#: 413 the schema does not explain — and a too-long comment was sometimes a 413 instead of the
#: 422 naming ``comment``, depending on its characters (what random Schemathesis samples found).
MAX_ANSWER_BYTES = 64 * 1024
#: Error codes of the write path and the status each is answered with here (the rest: 422).
STATUS = {"forbidden": 403, "not_found": 404, "conflict": 409}
#: Headers of every HTML page: the token is in the URL, so no referrer leaves it, and nothing
#: but the form itself runs or loads.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

Token = Annotated[str, Path(max_length=100, description="The token of the survey link.")]


class SurveyAnswer(BaseModel):
    """A customer's answer: any of the three ratings (at least one), and a comment."""

    model_config = ConfigDict(extra="forbid")

    csat: Literal["good", "bad"] | None = Field(default=None, description="Was the support good or bad?")
    ces: int | None = Field(default=None, ge=1, le=7, description="Effort: 1 very hard … 7 very easy.")
    nps: int | None = Field(default=None, ge=0, le=10, description="How likely to recommend us: 0 … 10.")
    comment: str = Field(default="", max_length=5000)


QUESTIONS = {
    "csat": "Was our support good or bad? (good, bad)",
    "ces": "How easy was it to get the help you needed? (1 very hard … 7 very easy)",
    "nps": "How likely are you to recommend us to a friend or colleague? (0 … 10)",
    "comment": "Anything else you would like to tell us? (optional)",
}


router = APIRouter(prefix="/v1/feedback", tags=["feedback"])

ANSWER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": SurveyAnswer.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": SurveyAnswer.model_json_schema()},
        },
    }
}


def _admit(state: ServerState, request: Request) -> None:
    wait = state.feedback_limiter.take(client_address(request))
    if wait > 0:
        message = "too many survey requests from this address: try again later"
        raise ApiError(429, "rate_limited", message, retry_after=wait)


#: A browser (a form post, or ``Accept: text/html``) gets pages, anything else JSON.
PAGES: dict[int | str, dict[str, Any]] = {
    code: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}, "text/html": {}},
    }
    for code, description in (("4XX", "Refused: JSON, or an HTML page for a browser."),)
}


@router.get(
    "/{token}",
    summary="The questions of a survey",
    responses={200: {"content": {"application/json": {}, "text/html": {}}}, **PAGES},
)
def show(token: Token, request: Request, state: State) -> Response:
    """The survey's questions: an HTML form for a browser, JSON for anything else."""
    browser = "text/html" in request.headers.get("accept", "")
    try:
        _admit(state, request)
        number = _waiting_survey(state, token)
    except ApiError as error:
        return _refusal(error, browser)
    if browser:
        return HTMLResponse(_form_page(number), headers=PAGE_HEADERS)
    return ORJSONResponse({"ticket": number, "questions": QUESTIONS})


@router.post(
    "/{token}",
    summary="Answer a survey",
    openapi_extra=ANSWER_BODY,
    responses={200: {"content": {"application/json": {}, "text/html": {}}}, **PAGES},
)
async def answer(token: Token, request: Request, state: State) -> Response:
    """Record the customer's ratings (CSAT, CES, NPS) and comment; a link answers once."""
    form = request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")
    try:
        _admit(state, request)
        rating = _parse_answer(await _read_body(request), form)
        await run_in_threadpool(_record, state, token, rating)
    except ApiError as error:
        return _refusal(error, form)
    if form:
        return HTMLResponse(_page("Thank you", "<p>Your answer was recorded.</p>"), headers=PAGE_HEADERS)
    return ORJSONResponse({"recorded": True})


def _waiting_survey(state: ServerState, token: str) -> int | None:
    """The number of the ticket a genuine, unanswered survey token is for."""
    with snapshot(state.database) as connection:
        secret = feedback.stored_secret(connection)
        try:
            if secret is None:
                raise feedback.InvalidToken("this survey link is not valid", field="token")
            survey_id = feedback.verify_token(secret, token)
        except DomainError as error:
            raise _api_error(error) from None
        found = connection.execute(
            text("SELECT s.answered_at, t.number FROM survey s JOIN ticket t ON t.id = s.ticket_id WHERE s.id = :id"),
            {"id": survey_id},
        ).first()
    if found is None:
        raise ApiError(404, "not_found", "this survey no longer exists", field="token")
    if found[0] is not None:
        raise ApiError(409, "conflict", "this survey was already answered", field="token")
    return int(found[1]) if found[1] is not None else None


def _record(state: ServerState, token: str, rating: SurveyAnswer) -> None:
    args = {"token": token, **rating.model_dump()}
    try:
        state.apply_as(SYSTEM, "survey.answer", args)
    except DomainError as error:
        raise _api_error(error) from None


def _api_error(error: DomainError) -> ApiError:
    return ApiError(STATUS.get(error.code, 422), error.code, error.message, field=error.field)


async def _read_body(request: Request) -> bytes:
    length = request.headers.get("content-length", "")
    too_large = ApiError(413, "too_large", f"the answer is larger than {MAX_ANSWER_BYTES} bytes", field="body")
    if length.isdigit() and int(length) > MAX_ANSWER_BYTES:
        raise too_large
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise too_large
    return body


def _parse_answer(body: bytes, form: bool) -> SurveyAnswer:
    data: Any
    if form:
        # A browser sends every field; an unticked question arrives empty or not at all.
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=False)
        data = {name: values[-1] for name, values in fields.items()}
    else:
        try:
            data = json.loads(body or b"{}")
        except (ValueError, RecursionError):  # RecursionError: arrays nested a thousand deep
            raise ApiError(400, "malformed_json", "the body is not valid JSON", field="body") from None
        if not isinstance(data, dict):
            raise ApiError(422, "invalid", "send a JSON object with csat, ces, nps and comment", field="body")
    try:
        return SurveyAnswer.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "extra_forbidden":
            message = f"{where} is not a question of the survey (csat, ces, nps, comment)"
        else:
            message = f"{where}: {first['msg']}"
        raise ApiError(422, "invalid", message, field=where) from None


def _refusal(error: ApiError, html_page: bool) -> Response:
    if not html_page:
        return error_response(error)
    headers = dict(PAGE_HEADERS)
    if "retry_after" in error.extra:
        headers["Retry-After"] = retry_after(float(error.extra["retry_after"]))
    body = f"<p>{html.escape(error.message)}</p>"
    return HTMLResponse(_page("Sorry", body), status_code=error.status, headers=headers)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;max-width:36em;margin:2em auto;padding:0 1em}"
        "fieldset{margin:1em 0}textarea{width:100%;min-height:6em}</style>"
        f"</head><body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    )


def _choices(name: str, values: list[tuple[str, str]]) -> str:
    return " ".join(
        f'<label><input type="radio" name="{name}" value="{value}"> {html.escape(label)}</label>'
        for value, label in values
    )


def _form_page(number: int | None) -> str:
    about = f" with request #{number}" if number is not None else ""
    scale = [(str(n), str(n)) for n in range(0, 11)]
    body = (
        '<form method="post">'
        f"<fieldset><legend>{html.escape(QUESTIONS['csat'])}</legend>"
        f"{_choices('csat', [('good', 'Good'), ('bad', 'Bad')])}</fieldset>"
        f"<fieldset><legend>{html.escape(QUESTIONS['ces'])}</legend>{_choices('ces', scale[1:8])}</fieldset>"
        f"<fieldset><legend>{html.escape(QUESTIONS['nps'])}</legend>{_choices('nps', scale)}</fieldset>"
        f"<label>{html.escape(QUESTIONS['comment'])}"
        '<textarea name="comment" maxlength="5000"></textarea></label>'
        '<p><button type="submit">Send</button></p></form>'
    )
    return _page(f"How did we do{about}?", body)
