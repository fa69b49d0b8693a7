"""The assist engine from the command line: ``kb suggest``, ``macros suggest``, ``tickets
similar``, ``tickets triage``, ``tickets show --summary`` and ``report trends``.

The models load on the first command that needs them (never for ``--help``); similar tickets
and semantic search read the workspace's vector index, which the command brings up to date
first (incrementally, with a progress bar on a terminal). A ticket the agent may not see —
another group's — is "no ticket N" (exit 3), and so is a suggestion or similar ticket they may
not see: the local copy of an admin's workspace holds tickets an agent's does not.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supportdesk.cli.options import LISTING, Output, TicketArg
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

if TYPE_CHECKING:
    from supportdesk.domain.context import Actor

LimitOpt = Annotated[int, typer.Option("--limit", "-n", metavar="N", min=1, max=50, help="At most N (1–50).")]

SUGGEST_FIELDS = ("rank", "title", "score", "similarity", "id")
SIMILAR_FIELDS = ("number", "subject", "status", "score", "solution", "id")
TREND_FIELDS = ("headline", "label", "recent", "before", "ratio", "term", "numbers")
TRIAGE_FIELDS = ("ticket", "language", "sentiment", "intent", "intent_confidence", "id")


def _visible(actor: Actor, connection: sqlite3.Connection, ticket_ids: list[str]) -> set[str]:
    from supportdesk.domain.rules import can_access_ticket

    if not ticket_ids:
        return set()
    marks = ",".join("?" * len(ticket_ids))
    rows = connection.execute(f"SELECT id, group_id, assignee_id FROM ticket WHERE id IN ({marks})", ticket_ids)
    return {row[0] for row in rows if can_access_ticket(actor, dict(row))}


def visible_ticket(session: Session, ref: str) -> str:
    """The id of a ticket this agent may see, or exit 3 ("no ticket N") — the same answer for a
    ticket that does not exist and one of another group."""
    from supportdesk.cli.refs import visible_ticket_id

    return visible_ticket_id(session, ref)


def _update_index(session: Session) -> None:
    """Embed the tickets that have no vector yet (incremental; a bar on a terminal)."""
    from contextlib import closing

    from supportdesk import assist
    from supportdesk.cli.progress import Progress

    with closing(session.workspace().connect()) as connection, Progress("indexing tickets") as bar:
        try:
            assist.build_index(connection, progress=lambda done, total: bar.update("embedding", done, total))
        except assist.IndexUnavailable as error:
            from supportdesk.cli.errors import fail

            fail(f"no vector index in this workspace: {error}")


def _suggestions(session: Session, out: Output, ticket: str, limit: int, what: str) -> None:
    from supportdesk import assist

    found = visible_ticket(session, ticket)
    chosen = out.columns(SUGGEST_FIELDS, table=("rank", "title", "score"))
    with session.workspace().reading() as connection:
        pick = assist.articles_for if what == "articles" else assist.macros_for
        items = pick(connection, found, limit=limit)
    records = [
        {
            "rank": rank,
            "title": item.title,
            "score": round(item.score, 4),
            "similarity": round(item.similarity, 4),
            "id": item.id,
        }
        for rank, item in enumerate(items, start=1)
    ]
    if out.json and not out.fields:
        out.document({"ticket_id": found, what: records})
        return
    out.records(records, chosen)


@command(LISTING)
def kb_suggest(session: Session, out: Output, ticket: TicketArg, limit: LimitOpt = 5) -> None:
    """Knowledge-base articles for a ticket, best first (words and meaning together, offline).

    Example: supportdesk kb suggest 1042 --json
    """
    _suggestions(session, out, ticket, limit, "articles")


@command(LISTING)
def macros_suggest(session: Session, out: Output, ticket: TicketArg, limit: LimitOpt = 5) -> None:
    """Macros for a ticket, best first (words and meaning together, offline).

    Example: supportdesk macros suggest 1042
    """
    _suggestions(session, out, ticket, limit, "macros")


@command(LISTING)
def similar(session: Session, out: Output, ticket: TicketArg, limit: LimitOpt = 5) -> None:
    """Tickets like this one: solved ones first, each with how it was solved (its last public reply).

    Example: supportdesk tickets similar 1042 --fields number,subject,solution
    """
    from supportdesk import assist

    found = visible_ticket(session, ticket)
    _update_index(session)
    actor = session.actor()
    viewer = session.viewer()  # ranked among the agent's tickets: another group's never crowd them out
    with session.workspace().reading() as connection:
        candidates = assist.similar_tickets(connection, found, limit=limit * 3, viewer=viewer)
        allowed = _visible(actor, connection, [c.ticket_id for c in candidates])
    records = [
        {
            "number": c.number,
            "subject": c.subject,
            "status": c.status,
            "score": round(c.score, 4),
            "solution": c.solution,
            "id": c.ticket_id,
        }
        for c in candidates
        if c.ticket_id in allowed
    ][:limit]
    if out.json and not out.fields:
        out.document({"ticket_id": found, "similar": records})
        return
    out.records(records, out.columns(SIMILAR_FIELDS, table=("number", "subject", "status", "solution")))


@command(LISTING)
def triage(
    session: Session,
    out: Output,
    tickets: Annotated[list[str], typer.Argument(metavar="TICKET…", help="Ticket numbers or ids.")],
) -> None:
    """Triage tickets now: language, sentiment and intent, with confidences (values a person set stay).

    The server triages every new ticket by itself; this is for a workspace without one, or
    to see triage's answer at once. Example: supportdesk tickets triage 1042 1043
    """
    from supportdesk.assist.arrival import triage_new

    found = [visible_ticket(session, ref) for ref in tickets]
    written = {w["ticket_id"]: w for w in triage_new(session.workspace(), found, actor=session.actor())}
    with session.workspace().reading() as connection:
        marks = ",".join("?" * len(found))
        rows = {
            r["id"]: dict(r)
            for r in connection.execute(
                f"SELECT id, number, language, sentiment, intent, intent_confidence FROM ticket WHERE id IN ({marks})",
                found,
            )
        }
    records = [{**rows[t], "ticket": f"#{rows[t]['number']}" if rows[t]["number"] else t} for t in found if t in rows]
    out.records(records, out.columns(TRIAGE_FIELDS, table=("ticket", "language", "sentiment", "intent")))
    if len(written) < len(found):
        from supportdesk.cli.errors import PARTIAL, print_error

        print_error(f"{len(found) - len(written)} ticket(s) had nothing triage could read or were closed")
        raise typer.Exit(PARTIAL)


def summary_document(session: Session, ticket_id: str) -> dict[str, Any] | None:
    """The ticket's summary as a document (None under four messages)."""
    from supportdesk import assist

    with session.workspace().reading() as connection:
        found = assist.summarize(connection, ticket_id)
    if found is None:
        return None

    def lines(items: list[Any]) -> list[dict[str, str]]:
        return [{"text": line.text, "source": line.source} for line in items]

    return {
        "asks": lines(found.asks),
        "tried": lines(found.tried),
        "state": found.state.text,
        "next_step": found.next_step.text,
        "messages": found.messages,
        "text": found.text(),
    }


def trends(session: Session, out: Output, limit: int = 10) -> None:
    """``report trends``: clusters of the last 7 days' tickets against the 4 weeks before, each
    with the query term (~"…") that opens it as a view."""
    from supportdesk import assist
    from supportdesk.store.times import utcnow

    _update_index(session)
    viewer = session.viewer()  # a standalone workspace holds every group's tickets: only theirs count
    with session.workspace().reading() as connection:
        found = assist.trends(connection, limit=limit, viewer=viewer)
    records = [
        {
            "headline": t.headline(),
            "label": t.label,
            "recent": t.recent,
            "before": t.before,
            "ratio": round(t.ratio, 2),
            "term": t.term,
            "numbers": t.numbers,
        }
        for t in found
    ]
    if out.json and not out.fields:
        out.document({"until": utcnow().isoformat(), "trends": records})
        return
    out.records(records, out.columns(TREND_FIELDS, table=("headline", "term")))
