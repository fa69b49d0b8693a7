"""``supportdesk export`` and ``supportdesk import``: whole tickets in and out, as JSONL or CSV,
and a Zendesk incremental export in.

The file formats are in :mod:`supportdesk.cli.ticket_files`. Exporting, importing into an empty
workspace and exporting again gives the same file.

Import is safe to re-run: tickets already in the workspace (same id) are skipped, agents and
groups are matched by id, then by address or name, and only created when missing.

Tickets go in by the chunk, one ``ticket.import_many`` mutation each
(:mod:`supportdesk.domain.mutations.import_chunks`). A workspace that follows a server imports
one ``ticket.import`` per ticket instead: its outbox is pushed, and the server gets each ticket
as its own mutation, as it always has.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from supportdesk.cli.options import CsvOpt, DryRunOpt
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

if TYPE_CHECKING:
    from supportdesk.domain.write import Outcome

#: Tickets per transaction (and per ``ticket.import_many``, which takes at most 500) when
#: importing: each chunk costs a commit and a pass of its hooks, and its paused triggers make every
#: other connection read the schema again — 200 a chunk cost ~10 % more cpu than 500 …
IMPORT_CHUNK = 500
#: … or fewer, so that a chunk holds at most this many messages and characters of their text …
CHUNK_MESSAGES = 5_000
CHUNK_TEXT = 16_000_000
#: … and its records took at most this many seconds to arrive: a slow source (Request Tracker,
#: a pipe) moves the progress bar at least that often.
CHUNK_SECONDS = 2.0


# --- export ---------------------------------------------------------------------------------


@command()
def export(
    session: Session,
    query: Annotated[
        str, typer.Option("--query", "-q", metavar="QUERY", help="Only the tickets matching this query.")
    ] = "",
    csv_: CsvOpt = False,
    output: Annotated[
        str,
        typer.Option(
            "--output", "-o", metavar="FILE", help="Write to this file instead of stdout.", show_default=False
        ),
    ] = "-",
) -> None:
    """Export tickets with their messages, oldest first, as JSONL (or CSV: one row per message).

    Example: supportdesk export -q 'created>2026-01-01' -o tickets.jsonl
    """
    from supportdesk.cli.progress import Progress
    from supportdesk.cli.ticket_files import csv_writer, jsonl_writer
    from supportdesk.store.exports import ticket_records
    from supportdesk.store.query import compile_query
    from supportdesk.store.reads import plan_queue, queue_count, seen_by
    from supportdesk.store.selection import id_pages

    # an agent exports only the tickets they may see (store.viewer)
    compiled = seen_by(compile_query(query, me=session.me()), session.viewer())
    stream, close = _open_output(output)
    count = 0
    try:
        with session.workspace().reading() as connection, Progress("exporting") as progress:
            total = queue_count(connection, plan_queue(compiled)) if sys.stderr.isatty() else 0
            write = csv_writer(stream) if csv_ else jsonl_writer(stream)
            for ids in id_pages(connection, compiled):
                for record in ticket_records(connection, ids):
                    write(record)
                count += len(ids)
                progress.update("tickets", count, total)
    finally:
        if close:
            stream.close()
    if output != "-":
        typer.echo(f"exported {count:,} tickets to {output}", err=True)


def _open_output(output: str) -> tuple[TextIO, bool]:
    from supportdesk.cli.errors import fail

    if output == "-":
        return sys.stdout, False
    try:
        return Path(output).expanduser().open("w", encoding="utf-8", newline=""), True
    except OSError as error:
        fail(f"cannot write {output}: {error.strerror}")


# --- import ---------------------------------------------------------------------------------


@dataclass
class ImportRun:
    """Agents and groups already matched, links to set at the end, and the tallies."""

    session: Session
    dry_run: bool
    #: One ``ticket.import`` per ticket (a workspace that follows a server) instead of chunks.
    one_at_a_time: bool = False
    agents: dict[str, str | None] = field(default_factory=dict)
    groups: dict[str, str | None] = field(default_factory=dict)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    imported: int = 0
    messages: int = 0
    present: int = 0
    refused: int = 0
    created_agents: int = 0
    created_groups: int = 0


@command()
def import_(
    session: Session,
    file: Annotated[
        str | None, typer.Argument(metavar="FILE", help="The file to read ('-' for stdin).", show_default=False)
    ] = None,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="FORMAT",
            help="supportdesk (our export: JSONL or CSV), zendesk (incremental export JSON) "
            "or rt (a Request Tracker 5 SQLite database, e.g. its rtdb file, or --url).",
        ),
    ] = "supportdesk",
    url: Annotated[
        str | None,
        typer.Option("--url", metavar="URL", help="With --from rt: read a running RT over its REST2 API."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            metavar="TOKEN",
            envvar="SUPPORTDESK_RT_TOKEN",
            help="RT auth token (with --url).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", metavar="NAME", help="RT user (with --url); the password is asked, or SUPPORTDESK_RT_PASSWORD."
        ),
    ] = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Import tickets with their messages; tickets already here are skipped, so a rerun is safe.

    A workspace that does not exist yet is created.

    Example: supportdesk import --from zendesk zendesk-export.json
    """
    import itertools

    from supportdesk.cli.errors import NOT_FOUND, PARTIAL, fail
    from supportdesk.cli.options import read_text
    from supportdesk.cli.ticket_files import read_csv, read_jsonl

    if source not in ("supportdesk", "zendesk", "rt"):
        fail(f"--from takes supportdesk, zendesk or rt, not {source!r}")
    if url is not None and (source != "rt" or file is not None):
        fail("--url reads Request Tracker over REST2: give --from rt and no FILE")
    if url is None and file is None:
        fail("give the FILE to import" + (" (or --url for a running RT)" if source == "rt" else ""))
    session.workspace(create=True)  # importing is how a new workspace gets its history
    if url is not None:
        from supportdesk.cli.import_rt import import_over_rest

        run = import_over_rest(session, url, token, user, dry_run=dry_run, into=_import_records)
        if run.refused:
            raise typer.Exit(PARTIAL)
        return
    assert file is not None
    if source == "rt":
        run = _import_request_tracker(session, file, dry_run=dry_run)
        if run.refused:
            raise typer.Exit(PARTIAL)
        return
    if source == "zendesk":
        from supportdesk.domain.zendesk import read_pages, records

        found = list(records(read_pages(read_text(file))))  # the pages are in memory already
        run = _import_records(session, found, dry_run=dry_run, total=len(found))
        if run.refused:
            raise typer.Exit(PARTIAL)
        return
    stream: TextIO
    if file == "-":
        stream = sys.stdin
    else:
        path = Path(file).expanduser()
        if not path.is_file():
            fail(f"no file {file}", NOT_FOUND)
        stream = path.open(encoding="utf-8", newline="")
    with stream:
        first = stream.readline()
        lines = itertools.chain([first], stream)
        is_csv = first.startswith("id,") or file.lower().endswith(".csv")
        total = None if file == "-" else count_tickets(Path(file).expanduser(), csv_rows=is_csv)
        tickets = read_csv(lines, file) if is_csv else read_jsonl(lines, file)
        run = _import_records(session, tickets, dry_run=dry_run, total=total)
    if run.refused:
        raise typer.Exit(PARTIAL)


def _import_request_tracker(session: Session, file: str, *, dry_run: bool) -> ImportRun:
    """Tickets from a Request Tracker database (read-only), attachments into the blob store."""
    from supportdesk.domain import request_tracker
    from supportdesk.store.blobs import BlobStore

    path = Path(file).expanduser()
    total = request_tracker.count(path)  # also says, in one line, when the file is no RT database
    store = None if dry_run else BlobStore(session.workspace().attachments_dir)

    def put(data: bytes) -> str:
        assert store is not None
        return store.put_bytes(data).sha256

    found = request_tracker.records(path, put if store is not None else None)
    return _import_records(session, found, dry_run=dry_run, total=total)


def count_tickets(path: Path, *, csv_rows: bool) -> int | None:
    """How many tickets a file holds, read once before importing so the progress bar knows its
    total: a JSONL file's non-blank lines, a CSV file's distinct ids (one row per message).
    ``None`` when the file cannot be read that way (the import then says what is wrong)."""
    import csv

    from supportdesk.cli.ticket_files import CSV_FIELD_LIMIT

    try:
        if csv_rows:
            csv.field_size_limit(CSV_FIELD_LIMIT)
            with path.open(encoding="utf-8", newline="") as handle:
                rows = csv.reader(handle)
                next(rows, None)  # the header
                return len({row[0] for row in rows if row})
        count = 0
        with path.open("rb") as handle:
            for line in handle:
                if line.strip():
                    count += 1
        return count
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _import_records(
    session: Session, records_in: Iterable[dict[str, Any]], *, dry_run: bool, total: int | None = None
) -> ImportRun:
    from supportdesk.cli.progress import Progress

    run = ImportRun(session, dry_run=dry_run, one_at_a_time=_follows_server(session))
    chunk: list[dict[str, Any]] = []
    messages = text = 0
    # each chunk reads (tickets here, agents, the actor) and writes on connections of its own: a
    # new one parses the whole schema on its first statement, so they are kept for the next chunk
    with session.workspace().reusing_connections(), Progress("importing") as progress, _frozen_between_chunks():
        progress.update("tickets", 0, total)
        started = 0.0
        for record in records_in:
            bodies = [m.get("body") for m in record.get("messages") or [] if isinstance(m, dict)]
            size = sum(len(body) for body in bodies if isinstance(body, str))
            full = len(chunk) >= IMPORT_CHUNK or messages + len(bodies) > CHUNK_MESSAGES or text + size > CHUNK_TEXT
            if chunk and (full or _seconds() - started >= CHUNK_SECONDS):  # a ticket bigger than a chunk goes alone
                _import_chunk_paused(run, chunk)
                chunk, messages, text = [], 0, 0
                progress.update("tickets", run.imported + run.present + run.refused, total)
            if not chunk:
                started = _seconds()
            chunk.append(record)
            messages, text = messages + len(bodies), text + size
        if chunk:
            _import_chunk_paused(run, chunk)
            progress.update("tickets", run.imported + run.present + run.refused, total)
        _restore_links(run)
    verb = "would import" if dry_run else "imported"
    parts = [f"{verb} {run.imported:,} tickets ({run.messages:,} messages)"]
    if run.present:
        parts.append(f"{run.present:,} already here")
    if run.created_agents or run.created_groups:
        parts.append(f"{run.created_agents} agents and {run.created_groups} groups added")
    if run.refused:
        parts.append(f"{run.refused:,} refused")
    typer.echo(", ".join(parts))
    return run


def _seconds() -> float:
    """The clock a chunk's reading time is measured on (a test makes a source slow on it)."""
    return time.monotonic()


def _import_chunk_paused(run: ImportRun, chunk: list[dict[str, Any]]) -> None:
    """A chunk with the cycle collector paused; then its garbage cycles are collected and what is
    alive (modules, caches, the session) is frozen out of the collections that run while the
    next chunk is read."""
    with _collector_paused():
        _import_chunk(run, chunk)
    # the cycles the chunk left are collected first: frozen, they would stay until the import
    # ends (only what is not frozen yet is walked — what the chunk left alive)
    gc.collect()
    gc.freeze()


@contextmanager
def _frozen_between_chunks() -> Iterator[None]:
    """Objects frozen after each chunk (:func:`gc.freeze`) back in the collector's care when the
    import ends, whatever happened. Reading a chunk's records with the collector on started ~440
    collections over a 10k import, each full one walking every object alive — the modules
    loaded, the workspace's caches — for ~0.25 s of cpu; frozen, they are skipped. The cycles a
    chunk leaves are collected before the freeze (frozen garbage would live to the import's end)."""
    frozen_before = gc.get_freeze_count()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a chunk is read, planned and written.

    A chunk makes some hundred thousand short-lived dicts and lists (its records, arguments,
    planned rows and parameters); each 700 of them started a collection that walked everything
    alive — the whole import's ~2,400 collections cost ~10 % of its cpu. Reference counting still
    frees all of them as they go; the few cycles a chunk leaves are collected after it (the
    collector runs at the next allocation once it is back on).
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _present(session: Session, ids: list[str]) -> set[str]:
    """Which of ``ids`` are tickets of this workspace already."""
    found: set[str] = set()
    with session.workspace().reading() as connection:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(row[0] for row in connection.execute(f"SELECT id FROM ticket WHERE id IN ({marks})", chunk))
    return found


def _match_people(run: ImportRun, records: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Map the records' agents and groups onto this workspace; the mutations creating the missing."""
    from supportdesk.store.lookups import find_agent, find_group

    creations: list[tuple[str, dict[str, Any]]] = []
    with run.session.workspace().reading() as connection:
        for record in records:
            for group in record.get("groups") or []:
                if group["id"] in run.groups:
                    continue
                found = find_group(connection, group["id"]) or find_group(connection, group.get("name") or "")
                if found is None and group.get("email"):
                    found = find_group(connection, group["email"])
                if found is None and group.get("name"):
                    args = {"group_id": group["id"], "name": group["name"], "email": group.get("email")}
                    creations.append(("group.create", args))
                    run.created_groups += 1
                    run.groups[group["id"]] = group["id"]
                else:
                    run.groups[group["id"]] = found["id"] if found else None
            for agent in record.get("agents") or []:
                if agent["id"] in run.agents:
                    continue
                found = find_agent(connection, agent["id"]) or find_agent(connection, agent.get("email") or "")
                if found is None and agent.get("email"):
                    args = {
                        "agent_id": agent["id"],
                        "name": agent.get("name") or agent["email"],
                        "email": agent["email"],
                    }
                    args["role"] = agent.get("role") or "agent"
                    creations.append(("agent.create", args))
                    run.created_agents += 1
                    run.agents[agent["id"]] = agent["id"]
                else:
                    run.agents[agent["id"]] = found["id"] if found else None
    return creations


def _import_args(run: ImportRun, record: dict[str, Any]) -> dict[str, Any]:
    """``ticket.import`` arguments from a record, its agents and group mapped to this workspace."""
    args = {k: v for k, v in record.items() if k not in ("agents", "groups")}
    if args.get("group_id"):
        args["group_id"] = run.groups.get(args["group_id"], args["group_id"])
    if args.get("assignee_id"):
        args["assignee_id"] = run.agents.get(args["assignee_id"], args["assignee_id"])
    args["messages"] = [
        {**m, "author_agent_id": run.agents.get(m["author_agent_id"], m["author_agent_id"])}
        if m.get("author_agent_id")
        else m
        for m in record.get("messages") or []
    ]
    return args


def _follows_server(session: Session) -> bool:
    """Whether the workspace follows a server (its outbox is pushed there)."""
    with session.workspace().reading() as connection:
        row = connection.execute("SELECT server_url FROM sync_state WHERE id = 1").fetchone()
    return row is not None and row[0] is not None


def _import_chunk(run: ImportRun, records: list[dict[str, Any]]) -> None:
    """The records' tickets that are not here yet, with the agents and groups they name.

    One transaction: the agents and groups to create, then the tickets as one
    ``ticket.import_many`` (each checked against ``ticket.import``'s arguments first, so a bad
    record is refused alone). When the chunk as a whole cannot be written, or the workspace
    follows a server, its tickets go in one ``ticket.import`` each.
    """
    from supportdesk.cli.errors import print_error, print_warning
    from supportdesk.domain.catalog import get
    from supportdesk.domain.errors import DomainError, PermissionDenied
    from supportdesk.domain.write import apply_many, validate_args

    present = _present(run.session, [str(r.get("id")) for r in records])
    fresh = [r for r in records if r.get("id") not in present]
    run.present += len(records) - len(fresh)
    if not fresh:
        return
    mutations: list[tuple[str, Any]] = list(_match_people(run, fresh))
    people = len(mutations)
    # each record's arguments, or why ticket.import would refuse them
    spec = get("ticket.import")
    checked: list[Any] = []
    for record in fresh:
        try:
            checked.append(validate_args(spec, _import_args(run, record)))
        except DomainError as error:
            checked.append(error)
    tickets = [args for args in checked if not isinstance(args, DomainError)]
    chunked = bool(tickets) and not run.one_at_a_time
    if chunked:
        from supportdesk.domain.mutations.import_chunks import ImportTickets

        mutations.append(("ticket.import_many", ImportTickets(tickets=tickets)))
    else:
        mutations += [("ticket.import", args) for args in tickets]
    outcomes = apply_many(run.session.workspace(), mutations, actor=run.session.actor(), dry_run=run.dry_run)
    forbidden = next((o.error for o in outcomes if isinstance(o.error, PermissionDenied)), None)
    if forbidden is not None:
        raise forbidden  # importing is for admins: say so once (exit 4), not once per ticket
    for outcome in outcomes[:people]:
        if outcome.error is not None:
            print_error(f"{outcome.args.get('email') or outcome.args.get('name')}: {outcome.error.message}")
    done = _chunk_results(run, outcomes[people], tickets) if chunked else _one_by_one(outcomes[people:])
    results = iter(done)
    for record, args in zip(fresh, checked, strict=True):
        label = f"#{record['number']}" if record.get("number") else str(record.get("id"))
        result = {"error": args.as_dict()} if isinstance(args, DomainError) else next(results)
        for warning in result.get("warnings") or []:
            print_warning(f"{label}: {warning}")
        if result.get("error") is not None:
            print_error(f"{label}: {result['error']['message']}")
            run.refused += 1
            continue
        run.imported += 1
        run.messages += len(record.get("messages") or [])
        if result.get("deferred"):
            run.deferred.append({"ticket_id": result["ticket_id"], **result["deferred"]})


def _chunk_results(run: ImportRun, outcome: Outcome, tickets: list[Any]) -> list[dict[str, Any]]:
    """What ``ticket.import_many`` did for each ticket; when it could not write the chunk as a
    whole, the tickets go in one ``ticket.import`` each, so only a bad one is refused."""
    from supportdesk.cli.errors import print_warning

    if outcome.error is None:
        for warning in outcome.warnings:  # the chunk's own (an erased customer's tickets)
            print_warning(warning)
        results: list[dict[str, Any]] = outcome.result["tickets"]
        return results
    from supportdesk.domain.write import apply_many

    mutations: list[tuple[str, Any]] = [("ticket.import", args) for args in tickets]
    return _one_by_one(apply_many(run.session.workspace(), mutations, actor=run.session.actor(), dry_run=run.dry_run))


def _one_by_one(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    """The results of one ``ticket.import`` per ticket, shaped as ``ticket.import_many``'s."""
    return [
        {"error": o.error.as_dict()} if o.error is not None else {**o.result, "warnings": o.warnings} for o in outcomes
    ]


def _restore_links(run: ImportRun) -> None:
    """Set the links that pointed at tickets imported later; warn about targets never seen."""
    from supportdesk.cli.errors import print_warning
    from supportdesk.domain.write import apply_many

    if not run.deferred or run.dry_run:
        return
    targets = {v for links in run.deferred for k, v in links.items() if k != "ticket_id"}
    here = _present(run.session, sorted(targets))
    mutations = []
    for links in run.deferred:
        known = {k: v for k, v in links.items() if k == "ticket_id" or v in here}
        for name, target in links.items():
            if name != "ticket_id" and target not in here:
                print_warning(f"{links['ticket_id']}: {name} points at {target}, which is not here")
        if len(known) > 1:
            mutations.append(("ticket.import_links", known))
    for start in range(0, len(mutations), 500):
        apply_many(run.session.workspace(), mutations[start : start + 500], actor=run.session.actor())
