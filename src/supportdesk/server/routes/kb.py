"""REST for the knowledge base and macros: list, read, create, change; apply a macro to a ticket.

Articles and macros are shared by the whole team (:mod:`..visibility`), read with ``kb:read`` and
written with ``kb:write`` — by the same mutations as the console (``article.create``,
``macro.update`` …), so a light agent's token may read them but not write them, as in the console.

Applying a macro is a change to a ticket (``tickets:write``): ``POST
/v1/tickets/{number}/macros/{macro_id}`` runs ``macro.apply`` as the console does — its comment
rendered first on a read snapshot (the template never runs inside the write transaction), then
every action and the comment as one change.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Connection

from supportdesk.domain.catalog import get
from supportdesk.domain.context import Actor, MutationContext
from supportdesk.domain.errors import DomainError
from supportdesk.domain.tx import Tx
from supportdesk.domain.write import validate_args
from supportdesk.server import idempotency
from supportdesk.server.apply import Applied
from supportdesk.server.auth import scoped
from supportdesk.server.errors import ApiError
from supportdesk.server.handlers import ORJSONResponse
from supportdesk.server.reads import snapshot
from supportdesk.server.representations import article_view, macro_view, message_view
from supportdesk.server.rest import Answer, Step, refusal, replayed, run_write
from supportdesk.server.routes import links
from supportdesk.server.routes.links import with_links
from supportdesk.server.routes.ticket_writes import (
    _NO_NUL,
    ERRORS,
    IdempotencyKey,
    Strict,
    TagList,
    _print,
    _respond,
    _ticket_answer,
    _visible_ticket,
    _write,
    _writer,
)
from supportdesk.server.routes.tickets import TicketNumber
from supportdesk.server.state import State
from supportdesk.server.visibility import sees_ticket

router = APIRouter(prefix="/v1", tags=["knowledge base"])

KbReader = Annotated[Actor, Depends(scoped("kb:read"))]
KbWriter = Annotated[Actor, Depends(scoped("kb:write"))]
TicketWriter = Annotated[Actor, Depends(scoped("tickets:write"))]
ArticleId = Annotated[
    str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="The article's id.")
]
MacroId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="The macro's id.")]
After = Annotated[
    str | None, Query(max_length=36, pattern=r"^[A-Za-z0-9-]+$", description="`next` of the previous page.")
]
Limit = Annotated[int, Query(ge=1, le=200)]

MAX_ARTICLE_CHARS = 200_000
MAX_MACRO_CHARS = 50_000
_Line = Annotated[str, Field(min_length=1, max_length=300, pattern=_NO_NUL)]


class ArticleIn(Strict):
    """A new article; ``public`` shows it in the help center at once."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"title": "Resetting your password", "body": "Open Settings, then Security …", "tags": ["account"]}
            ]
        },
    )

    title: _Line
    body: str = Field(min_length=1, max_length=MAX_ARTICLE_CHARS, pattern=_NO_NUL)
    tags: TagList = Field(default_factory=list)
    locale: str = Field(default="en", min_length=1, max_length=20, pattern=_NO_NUL)
    slug: str | None = Field(default=None, min_length=1, max_length=120, pattern=r"^[a-z0-9-]+$")
    public: bool = False
    section: str = Field(default="", max_length=120, pattern=_NO_NUL)


class ArticlePatch(Strict):
    """What to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"public": True, "tags": ["account"]}]})

    title: _Line | None = None
    body: str | None = Field(default=None, min_length=1, max_length=MAX_ARTICLE_CHARS, pattern=_NO_NUL)
    tags: TagList | None = None
    locale: str | None = Field(default=None, min_length=1, max_length=20, pattern=_NO_NUL)
    public: bool | None = None
    section: str | None = Field(default=None, max_length=120, pattern=_NO_NUL)


class MacroActionIn(Strict):
    """One field change: ``group`` takes a group name or id; ``assignee`` ``me``, ``none``, an
    agent's email or id; the tag actions a list of tags."""

    field: Literal["status", "priority", "type", "group", "assignee", "add_tags", "remove_tags"]
    value: Annotated[str, Field(max_length=320, pattern=_NO_NUL)] | TagList | None = None


class MacroIn(Strict):
    """A new macro: its actions and its comment (a template, checked when saved)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Refund issued",
                    "body": "Hi {{ ticket.requester.name }}, we refunded your order.",
                    "actions": [{"field": "status", "value": "solved"}, {"field": "add_tags", "value": ["refund"]}],
                }
            ]
        },
    )

    name: _Line
    description: str = Field(default="", max_length=2000, pattern=_NO_NUL)
    actions: list[MacroActionIn] = Field(default_factory=list, max_length=20)
    body: str = Field(default="", max_length=MAX_MACRO_CHARS, pattern=_NO_NUL)
    public: bool = True
    active: bool = True


class MacroPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}]})

    name: _Line | None = None
    description: str | None = Field(default=None, max_length=2000, pattern=_NO_NUL)
    actions: list[MacroActionIn] | None = Field(default=None, max_length=20)
    body: str | None = Field(default=None, max_length=MAX_MACRO_CHARS, pattern=_NO_NUL)
    public: bool | None = None
    active: bool | None = None


def _page(state: State, table: str, columns: str, after: str | None, limit: int) -> tuple[list[Any], str | None]:
    with snapshot(state.database) as connection:
        ids = list(
            connection.execute(
                text(f"SELECT id FROM {table} WHERE id > :after ORDER BY id LIMIT :n"),
                {"after": after or "", "n": limit + 1},
            ).scalars()
        )
        more = len(ids) > limit
        ids = ids[:limit]
        view = article_view if table == "kb_article" else macro_view
        rows = [row for row in (view(connection, str(i)) for i in ids) if row is not None]
    return rows, (ids[-1] if more else None)


def _exists(connection: Connection, table: str, row_id: str) -> str:
    found = connection.execute(text(f"SELECT id FROM {table} WHERE id = :i"), {"i": row_id}).first()
    if found is None:
        what = "article" if table == "kb_article" else "macro"
        raise ApiError(404, "not_found", f"no {what} {row_id}", field="id")
    return str(found[0])


def _row_answer(connection: Connection, table: str, row_id: str, status: int) -> Answer:
    view = (article_view if table == "kb_article" else macro_view)(connection, row_id)
    path = "articles" if table == "kb_article" else "macros"
    return Answer(status, view, {"Location": f"/v1/{path}/{row_id}"})


def _write_row(
    request: Request, actor: Actor, state: State, body: Strict, key: str | None, step: Step, table: str, status: int
) -> ORJSONResponse:
    id_arg = "article_id" if table == "kb_article" else "macro_id"

    def plan(connection: Connection) -> list[Step]:
        if status == 200:
            _exists(connection, table, str(step.args[id_arg]))
        return [step]

    def respond(connection: Connection, done: list[Applied], _last_seq: int) -> Answer:
        return _row_answer(connection, table, str(done[0].result[id_arg]), status)

    return _write(state, request, actor, plan, respond, key=key, fingerprint=_print(request, body))


# --- articles ----------------------------------------------------------------------------------


@router.get("/articles", responses=ERRORS)
def list_articles(actor: KbReader, state: State, limit: Limit = 50, after: After = None) -> dict[str, Any]:
    """Knowledge-base articles, published or not, a page at a time (by id)."""
    rows, more = _page(state, "kb_article", "", after, limit)
    return {"articles": rows, "next": more}


@router.get("/articles/{article_id}", responses=ERRORS)
def show_article(article_id: ArticleId, actor: KbReader, state: State) -> dict[str, Any]:
    """One article."""
    with snapshot(state.database) as connection:
        article = article_view(connection, article_id)
    if article is None:
        raise ApiError(404, "not_found", f"no article {article_id}", field="article_id")
    return article


@router.post("/articles", status_code=201, responses=with_links(ERRORS, 201, links.ARTICLE_CREATED, "The article."))
def create_article(
    article: ArticleIn, request: Request, actor: KbWriter, state: State, key: IdempotencyKey = None
) -> ORJSONResponse:
    """Write an article (``article.create``); answers it with its ``Location``."""
    step = Step("article.create", article.model_dump(exclude_none=True))
    return _write_row(request, actor, state, article, key, step, "kb_article", 201)


@router.patch("/articles/{article_id}", responses=ERRORS)
def change_article(
    article_id: ArticleId,
    patch: ArticlePatch,
    request: Request,
    actor: KbWriter,
    state: State,
    key: IdempotencyKey = None,
) -> ORJSONResponse:
    """Change an article (``article.update``)."""
    step = Step("article.update", {"article_id": article_id, **patch.model_dump(exclude_unset=True, exclude_none=True)})
    return _write_row(request, actor, state, patch, key, step, "kb_article", 200)


# --- macros ------------------------------------------------------------------------------------


@router.get("/macros", responses=ERRORS)
def list_macros(actor: KbReader, state: State, limit: Limit = 50, after: After = None) -> dict[str, Any]:
    """Macros, active or not, a page at a time (by id)."""
    rows, more = _page(state, "macro", "", after, limit)
    return {"macros": rows, "next": more}


@router.get("/macros/{macro_id}", responses=ERRORS)
def show_macro(macro_id: MacroId, actor: KbReader, state: State) -> dict[str, Any]:
    """One macro: its actions and its comment's template."""
    with snapshot(state.database) as connection:
        macro = macro_view(connection, macro_id)
    if macro is None:
        raise ApiError(404, "not_found", f"no macro {macro_id}", field="macro_id")
    return macro


@router.post("/macros", status_code=201, responses=with_links(ERRORS, 201, links.MACRO_CREATED, "The macro."))
def create_macro(
    macro: MacroIn, request: Request, actor: KbWriter, state: State, key: IdempotencyKey = None
) -> ORJSONResponse:
    """Add a macro (``macro.create``); its template is checked now (a 422 naming ``body``)."""
    step = Step("macro.create", macro.model_dump())
    return _write_row(request, actor, state, macro, key, step, "macro", 201)


@router.patch("/macros/{macro_id}", responses=ERRORS)
def change_macro(
    macro_id: MacroId, patch: MacroPatch, request: Request, actor: KbWriter, state: State, key: IdempotencyKey = None
) -> ORJSONResponse:
    """Change a macro (``macro.update``)."""
    step = Step("macro.update", {"macro_id": macro_id, **patch.model_dump(exclude_unset=True, exclude_none=True)})
    return _write_row(request, actor, state, patch, key, step, "macro", 200)


@router.post("/tickets/{number}/macros/{macro_id}", responses=ERRORS, tags=["tickets"])
def apply_macro(
    number: TicketNumber,
    macro_id: MacroId,
    request: Request,
    actor: TicketWriter,
    state: State,
    key: IdempotencyKey = None,
) -> ORJSONResponse:
    """Apply a macro to a ticket (``macro.apply``): its actions and its comment as one change,
    with the rules of the token's agent (a light agent's only macros that add an internal note).
    Answers the ticket, the comment posted (``null`` when the macro has none) and the fields
    changed."""
    writer = _writer(request, actor)
    fingerprint = idempotency.fingerprint(request.method, request.url.path, None)
    key = idempotency.checked_key(key)
    stored = replayed(state, writer, key, fingerprint)
    if stored is not None:  # before rendering: the macro may be gone or the ticket out of sight now
        return _respond(stored)
    rendered = _render(state, actor, number, macro_id)
    if isinstance(rendered, Answer):
        return _respond(rendered)
    found: list[str] = []

    def plan(connection: Connection) -> list[Step]:
        ticket_id = _visible_ticket(connection, actor, number)
        _exists(connection, "macro", macro_id)
        found[:] = [ticket_id]  # run again after a deadlock: this run's ticket
        return [Step("macro.apply", {"ticket_id": ticket_id, "macro_id": macro_id, "body": rendered})]

    def respond(connection: Connection, done: list[Applied], _last_seq: int) -> Answer:
        result = done[0].result
        answer = _ticket_answer(connection, actor, found[0], 200)
        message_id = result.get("message_id")
        message = message_view(connection, str(message_id)) if message_id else None
        answer.body = {"ticket": answer.body, "message": message, "changed": result.get("changed", [])}
        return answer

    # the stored answer was read above: the write goes straight to its claim
    answer = run_write(state, writer, plan, respond, key=key, fingerprint=fingerprint, not_answered=key is not None)
    return _respond(answer)


def _render(state: State, actor: Actor, number: int, macro_id: str) -> str | Answer:
    """The macro's comment for the ticket as it is now, rendered on a read snapshot (as the
    console's write path does before its transaction); a refusal as an answer."""
    spec = get("macro.apply")
    with snapshot(state.database) as connection:
        found = connection.execute(
            text("SELECT id, group_id, assignee_id FROM ticket WHERE number = :n"), {"n": number}
        ).first()
        if found is None or not sees_ticket(actor, found[1], found[2]):
            return refusal(ApiError(404, "not_found", f"no ticket #{number}", field="number"))
        try:
            parsed = validate_args(spec, {"ticket_id": str(found[0]), "macro_id": macro_id})
            assert spec.prepare is not None
            spec.prepare(
                Tx(connection, MutationContext(actor=actor, mode="server", mutation_ref="prepare"), spec.name), parsed
            )
        except DomainError as error:
            return refusal(error)
    body: str = getattr(parsed, "body", None) or ""
    return body
