"""The console's one door to the workspace: typed reads, local-only writes, nothing else.

Screens and widgets ask :class:`ConsoleDB` for what they show — a queue page, a ticket with its
customer, the macros — and get the store's typed objects back (``QueueRow``, ``TicketDetail``,
``ArticleHit`` …); they never see a connection or a row. Shared data is only ever written by
mutations (:mod:`supportdesk.tui.writes`); the local-only rows (drafts, "seen" marks) are written
here.

**The UI-thread rule.** A read the agent waits for on every key must never stall a frame, so
each method says where it may run:

- *on the UI thread*: bounded reads by key — one ticket, one article, a draft, the views, the
  macros, the rules, the sync summary (milliseconds at most, WAL readers never wait);
- *in a worker only* (``@worker_only``): everything whose cost grows with the store — queue
  pages, counts and anchors, view counts, searches, reports, macro previews — and the local
  writes, which may wait for another process's write lock.

A worker-only method called on the UI thread is a bug: with ``strict`` (the test suite) it
raises :class:`UIThreadRead`; otherwise it is logged and served.

Thread workers borrow a pooled read-only connection for one call and give it back, so pages,
counts and ticket loads run side by side without a connection per thread or a lock around one
shared connection. SQLite errors come out as :class:`ReadFailed`.

**Who sees what.** Every read that lists or opens tickets keeps to the workspace agent's view
(``store.viewer``, the write path's ``can_access_ticket`` as SQL): a standalone workspace holds
every group's tickets, and an agent of one group must see only theirs, the ungrouped ones and
their own. It is applied here, at the one door, rather than by each screen: queue pages, counts
and anchors, view counts, the ticket pane (and its customer's other tickets), tickets found by
number — so no screen can forget it. Another group's ticket reads exactly like one that does
not exist (None). The viewer is read with each call (three indexed rows), so a sync that
changes the agent's groups is taken up at the next read.
"""

from __future__ import annotations

import functools
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from supportdesk.store import history, local_state, reads, snoozes, time_entries
from supportdesk.store.viewer import ticket_visible, workspace_viewer
from supportdesk.store.workspace import read_setting

if TYPE_CHECKING:
    from supportdesk.assist.similar import SimilarTicket
    from supportdesk.assist.summary import Summary
    from supportdesk.assist.trending import Trend
    from supportdesk.domain.context import Actor
    from supportdesk.domain.macros import MacroPlan
    from supportdesk.domain.metrics import Report
    from supportdesk.domain.self_service import SelfService
    from supportdesk.store.sla import ClockView, RowSLA
    from supportdesk.store.workspace import Workspace

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")


class UIThreadRead(RuntimeError):
    """A read that grows with the store was asked for on the thread that draws the console."""


class ReadFailed(Exception):
    """A read the store could not answer (a bad full-text term, a query interrupted by a newer one)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def interrupted(self) -> bool:
        return "interrupted" in self.message


@dataclass
class TicketData:
    """Everything the ticket pane shows, read in one go."""

    detail: reads.TicketDetail
    customer: reads.CustomerDetail | None
    drafts: list[str] = field(default_factory=list)
    clocks: list[ClockView] = field(default_factory=list)
    #: Seconds logged by hand (``W``, ``tickets time``) and measured as handle time.
    spent: tuple[int, int] = (0, 0)


class Interrupts:
    """The running queries of one widget, so a newer query can stop the stale ones at once
    (SQLite's ``interrupt``: the query raises, its worker ends, the connection is reusable)."""

    def __init__(self) -> None:
        self._running: dict[sqlite3.Connection, int] = {}
        self._lock = threading.Lock()

    @contextmanager
    def _running_as(self, connection: sqlite3.Connection, generation: int) -> Iterator[None]:
        with self._lock:
            self._running[connection] = generation
        try:
            yield
        finally:
            with self._lock:
                self._running.pop(connection, None)

    def stop_all_but(self, generation: int) -> None:
        with self._lock:
            for connection, running in self._running.items():
                if running != generation:
                    connection.interrupt()


def _visible(connection: sqlite3.Connection, actor: Actor, ticket_ids: list[str]) -> set[str]:
    """Which of these tickets the agent may see (their groups', ungrouped ones, their own)."""
    from supportdesk.domain.rules import can_access_ticket

    seen: set[str] = set()
    unique = list(dict.fromkeys(ticket_ids))
    for start in range(0, len(unique), 900):
        chunk = unique[start : start + 900]
        marks = ",".join("?" * len(chunk))
        rows = connection.execute(f"SELECT id, group_id, assignee_id FROM ticket WHERE id IN ({marks})", chunk)
        seen.update(row[0] for row in rows if can_access_ticket(actor, {"group_id": row[1], "assignee_id": row[2]}))
    return seen


def worker_only(method: Callable[P, R]) -> Callable[P, R]:
    """Mark a read whose cost grows with the store: it must run in a thread worker."""

    @functools.wraps(method)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        if threading.current_thread() is threading.main_thread():
            self = args[0]
            message = f"ConsoleDB.{method.__name__} reads on the UI thread: run it in a thread worker"
            if getattr(self, "strict", False):
                raise UIThreadRead(message)
            log.warning(message)
        return method(*args, **kwargs)

    checked.worker_only = True  # type: ignore[attr-defined]
    return checked


class ConsoleDB:
    def __init__(self, workspace: Workspace, *, size: int = 4, strict: bool = False) -> None:
        self.workspace = workspace
        self.strict = strict
        # writable: the local-only rows are written through it (see _local)
        self._watch = workspace.connect()
        self._watch_lock = threading.Lock()
        #: Drafts the console wrote as it closed: a save worker still running then holds older text.
        self._closing_drafts: set[tuple[str, str]] = set()
        #: The draft a save worker last wrote, per ticket and kind: the close leaves it alone (an
        #: erasure or a ticket leaving sight may have deleted that row since; writing it again
        #: brought back the erased customer's words).
        self._written_drafts: dict[tuple[str, str], local_state.Draft] = {}
        self._seen_version = self._version()
        self._idle: queue.LifoQueue[sqlite3.Connection] = queue.LifoQueue()
        self._size = size
        self._opened = 0
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # --- who reads: the workspace's agent (see the module's docstring) -------------------------

    @staticmethod
    def _seen(connection: sqlite3.Connection, plan: reads.QueuePlan) -> reads.QueuePlan:
        """``plan`` kept to the tickets the workspace's agent may see (the same plan for an admin)."""
        viewer = workspace_viewer(connection)
        if viewer.sees_all:
            return plan
        return replace(plan, compiled=reads.seen_by(plan.compiled, viewer))

    # --- connections (private: nobody outside this class sees one) --------------------------

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A pooled read-only connection for the duration of the block."""
        connection = self._borrow()
        try:
            yield connection
        except sqlite3.Error as error:
            raise ReadFailed(str(error)) from error
        finally:
            if connection.in_transaction:
                connection.rollback()
            self._idle.put(connection)

    def _borrow(self) -> sqlite3.Connection:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            can_open = self._opened < self._size
            self._opened += can_open
        if can_open:
            connection = self.workspace.connect(readonly=True)
            connection.execute("PRAGMA cache_size=-16384")
            self._all.append(connection)
            return connection
        return self._idle.get()

    @contextmanager
    def _local(self) -> Iterator[sqlite3.Connection]:
        """The connection for local-only rows (drafts, seen marks): the watching one itself.

        SQLite's ``data_version`` never counts a connection's own commits, so these writes are
        not news (saving a draft while typing does not make every screen re-read the store),
        while every other connection's commit still is. The counter moves once however many
        commits happened since it was last read, so telling ours apart by arithmetic ("after ==
        before + 1") took a commit that landed meanwhile — the solve the agent had just made
        from the queue, a sync — for the seen mark, and no screen re-read it.
        """
        with self._watch_lock:
            yield self._watch

    # --- noticing other writers (UI thread: microseconds) ------------------------------------

    def _version(self) -> int:
        return reads.data_version(self._watch)

    def changed_elsewhere(self) -> bool:
        """Whether anyone committed since the last call (SQLite's ``data_version``: microseconds).

        Our own draft and "seen" writes are not news (see :meth:`_local`); our mutations are, so
        the screens re-read after them like after anyone else's.
        """
        if not self._watch_lock.acquire(blocking=False):
            return False  # a local write is committing: look again at the next poll
        try:
            version = self._version()
            changed, self._seen_version = version != self._seen_version, version
        except sqlite3.Error:
            return False
        finally:
            self._watch_lock.release()
        return changed

    # --- on the UI thread: bounded reads by key ----------------------------------------------

    def setting(self, key: str) -> Any:
        with self._read() as connection:
            return read_setting(connection, key)

    def who(self, agent_id: str) -> tuple[str, str] | None:
        """An agent's name and role (active or not): who this workspace acts as."""
        with self._read() as connection:
            row = connection.execute("SELECT name, role FROM agent WHERE id = ?", (agent_id,)).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def agents(self) -> list[reads.AgentRow]:
        with self._read() as connection:
            return reads.list_agents(connection)

    def groups(self) -> list[tuple[str, str]]:
        with self._read() as connection:
            return reads.list_groups(connection)

    def sync_summary(self) -> reads.SyncSummary | None:
        try:
            with self._read() as connection:
                return reads.sync_summary(connection)
        except ReadFailed:
            return None

    def views(self, me: str | None) -> list[reads.ViewRow]:
        with self._read() as connection:
            return reads.list_views(connection, me)

    def reply_anchor(self, ticket_id: str, me: str | None, shown: list[str]) -> str | None:
        """The message a reply is written after, among those the pane ``shown``
        (``store.reads.reply_anchor``; one indexed row)."""
        with self._read() as connection:
            return reads.reply_anchor(connection, ticket_id, me, shown)

    def ticket(self, ticket_id: str, now: datetime) -> TicketData | None:
        """One ticket with its timeline, its customer (their latest 100 tickets), which drafts it
        has and its SLA clocks (4 ms for 201 messages: read on the spot when the pane opens)."""
        from supportdesk.domain.timing import clock_views

        with self._read() as connection:
            viewer = workspace_viewer(connection)
            if not ticket_visible(connection, viewer, ticket_id):
                return None  # another group's ticket reads as one that does not exist
            detail = reads.ticket_detail(connection, ticket_id)
            if detail is None:
                return None
            customer = reads.customer_detail(connection, detail.ticket["requester_id"], limit=100, viewer=viewer)
            drafts = local_state.draft_kinds(connection, ticket_id)
            clocks = clock_views(connection, ticket_id, now)
            spent = time_entries.totals(connection, ticket_id)
        return TicketData(detail, customer, drafts, clocks, spent)

    def ticket_number(self, ticket_id: str) -> int | None:
        with self._read() as connection:
            row = connection.execute("SELECT number FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def find_ticket(self, ref: str) -> tuple[str, int | None, str, str] | None:
        """A ticket by number or id as an agent types it: (id, number, requester id, requester name);
        None for another group's ticket too, so a merge or link prompt answers "no ticket N" alike."""
        with self._read() as connection:
            ticket_id = reads.resolve_ticket(connection, ref)
            if ticket_id is None or not ticket_visible(connection, workspace_viewer(connection), ticket_id):
                return None
            row = connection.execute(
                "SELECT t.number, t.requester_id, coalesce(c.name, '') FROM ticket t "
                "LEFT JOIN customer c ON c.id = t.requester_id WHERE t.id = ?",
                (ticket_id,),
            ).fetchone()
        return (ticket_id, row[0], str(row[1]), str(row[2])) if row else None

    def clocks(self, ticket_id: str, now: datetime) -> list[ClockView]:
        from supportdesk.domain.timing import clock_views

        with self._read() as connection:
            return clock_views(connection, ticket_id, now)

    def history(self, ticket_id: str) -> list[history.Change]:
        """The ticket's change history (its latest 1,000 changes, by the audit's index); none for
        a ticket the agent may not see."""
        with self._read() as connection:
            if not ticket_visible(connection, workspace_viewer(connection), ticket_id):
                return []
            return history.ticket_history(connection, ticket_id)

    def draft(self, ticket_id: str, kind: str) -> local_state.Draft | None:
        with self._read() as connection:
            return local_state.load_draft(connection, ticket_id, kind)

    def macros(self) -> list[dict[str, Any]]:
        """The active macros by name (a few hundred at most)."""
        with self._read() as connection:
            return reads.list_macros(connection)

    def article(self, article_id: str) -> reads.Article | None:
        with self._read() as connection:
            return reads.article(connection, article_id)

    def rules(self) -> list[dict[str, Any]]:
        """The routing rules in the order they run (a handful)."""
        from supportdesk.store.routing import routing_rules

        with self._read() as connection:
            return routing_rules(connection)

    # --- in a worker only: reads that grow with the store -------------------------------------

    @worker_only
    def queue_page(
        self,
        plan: reads.QueuePlan,
        *,
        after: tuple[Any, ...] | None,
        limit: int,
        reverse: bool,
        interrupts: Interrupts,
        generation: int,
    ) -> tuple[reads.Page, dict[str, RowSLA]]:
        """A page of the queue by keyset, and the SLA of its rows (one query)."""
        from supportdesk.store.sla import page_sla

        with self._read() as connection, interrupts._running_as(connection, generation):
            page = reads.queue_page(connection, self._seen(connection, plan), after=after, limit=limit, reverse=reverse)
            return page, page_sla(connection, [row.id for row in page.rows])

    @worker_only
    def queue_count(self, plan: reads.QueuePlan, *, interrupts: Interrupts, generation: int) -> int:
        with self._read() as connection, interrupts._running_as(connection, generation):
            return reads.queue_count(connection, self._seen(connection, plan))

    @worker_only
    def queue_anchors(
        self, plan: reads.QueuePlan, every: int, *, interrupts: Interrupts, generation: int
    ) -> list[tuple[Any, ...]]:
        with self._read() as connection, interrupts._running_as(connection, generation):
            return reads.queue_anchors(connection, self._seen(connection, plan), every=every)

    @worker_only
    def view_count(self, view: reads.ViewRow, me: str | None) -> int:
        """How many tickets a saved view holds (-1 when its query cannot be counted)."""
        with self._read() as connection:
            viewer = workspace_viewer(connection)
            return reads.view_counts(connection, [view], me=me, viewer=viewer).get(view.id, -1)

    @worker_only
    def search_articles(self, text: str, *, limit: int) -> list[reads.ArticleHit]:
        with self._read() as connection:
            return reads.search_articles(connection, text, limit=limit)

    @worker_only
    def suggest_articles(self, ticket_id: str, *, limit: int) -> list[reads.ArticleHit]:
        """Articles for the ticket ranked by the offline assist engine (bm25 and meaning
        together; its embeddings load on the first call, here in the worker), or by bm25 alone
        when its models cannot load."""
        from supportdesk import assist

        with self._read() as connection:
            try:
                ranked = assist.articles_for(connection, ticket_id, limit=limit)
            except assist.ModelUnavailable as error:
                log.warning("suggestions by meaning are not available: %s", error)
                return reads.suggest_articles(connection, ticket_id, limit=limit)
            return reads.articles_by_id(connection, [item.id for item in ranked])

    @worker_only
    def suggest_macros(self, ticket_id: str, *, limit: int) -> list[str]:
        """The ids of the macros that fit the ticket best, best first (bm25 and meaning
        together); empty when the models cannot load (the panel then lists by name only)."""
        from supportdesk import assist

        with self._read() as connection:
            try:
                return [item.id for item in assist.macros_for(connection, ticket_id, limit=limit)]
            except assist.ModelUnavailable as error:
                log.warning("macro suggestions are not available: %s", error)
                return []

    @worker_only
    def summary(self, ticket_id: str) -> Summary | None:
        """The ticket's extractive summary (``assist.summarize``: four or more messages, else None)."""
        from supportdesk import assist

        with self._read() as connection:
            found: Summary | None = assist.summarize(connection, ticket_id)
            return found

    @worker_only
    def update_vectors(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Embed the tickets that have no vector yet (incremental; the first run on a big
        workspace takes minutes, so it reports ``progress(done, total)``). A connection of its
        own: it commits in batches and must not hold the lock the local-only rows use."""
        from contextlib import closing

        from supportdesk import assist

        with closing(self.workspace.connect()) as connection:
            try:
                assist.build_index(connection, progress=progress)
            except sqlite3.Error as error:
                raise ReadFailed(str(error)) from error

    @worker_only
    def similar_tickets(self, ticket_id: str, actor: Actor, *, limit: int) -> list[SimilarTicket]:
        """Tickets like this one that the agent may see (solved first, each with its last public
        reply): a ticket of another group in the local copy is never shown."""
        from supportdesk import assist

        with self._read() as connection:
            viewer = workspace_viewer(connection)  # ranked among the agent's: never crowded out
            candidates: list[SimilarTicket] = assist.similar_tickets(
                connection, ticket_id, limit=limit * 3, viewer=viewer
            )
            allowed = _visible(connection, actor, [c.ticket_id for c in candidates])
        return [c for c in candidates if c.ticket_id in allowed][:limit]

    @worker_only
    def trends(self, actor: Actor, *, limit: int) -> list[Trend]:
        """This week's clusters against the four weeks before (``assist.trends``), as the agent
        may see them: clustered and counted from the workspace agent's tickets alone (both
        periods: the counts and ratios too), and, should the actor differ, each cluster keeps
        only the actor's tickets, is named after their subjects, and one of none is left out."""
        from collections import Counter
        from dataclasses import replace

        from supportdesk import assist
        from supportdesk.assist.text import clean

        with self._read() as connection:
            found: list[Trend] = assist.trends(connection, limit=limit, viewer=workspace_viewer(connection))
            if actor.is_admin or actor.is_system:
                return found
            shown: list[Trend] = []
            for trend in found:
                allowed = _visible(connection, actor, trend.ticket_ids)
                if not allowed:
                    continue
                if len(allowed) == len(set(trend.ticket_ids)):
                    shown.append(trend)
                    continue
                ids = [t for t in trend.ticket_ids if t in allowed]
                marks = ",".join("?" * len(ids))
                rows = {
                    row[0]: (row[1], row[2])
                    for row in connection.execute(f"SELECT id, number, subject FROM ticket WHERE id IN ({marks})", ids)
                }
                values = [rows[t] for t in ids if t in rows]
                subjects = Counter(clean(subject, limit=120) for _, subject in values if subject)
                label = min(subjects.items(), key=lambda item: (-item[1], item[0]))[0] if subjects else "(no subject)"
                numbers = [number for number, _ in values if number is not None]
                term = '~"' + label.replace('"', "'") + '"'
                shown.append(replace(trend, label=label, recent=len(ids), ticket_ids=ids, numbers=numbers, term=term))
            return shown

    @worker_only
    def search_customers(self, text: str, *, limit: int, exclude: str | None) -> list[reads.CustomerHit]:
        with self._read() as connection:
            viewer = workspace_viewer(connection)  # each customer's count: of the agent's tickets
            return reads.search_customers(connection, text, limit=limit, exclude=exclude, viewer=viewer)

    @worker_only
    def report(self, *, since: datetime, until: datetime, by: str | None) -> Report:
        from supportdesk.domain.metrics import build_report

        with self._read() as connection:
            return build_report(connection, since=since, until=until, by=by)

    @worker_only
    def self_service(self, *, since: datetime, until: datetime) -> SelfService:
        """The help center's and the answer bot's figures (``domain.self_service``)."""
        from supportdesk.domain.self_service import self_service

        with self._read() as connection:
            return self_service(connection, since=since, until=until)

    @worker_only
    def macro_preview(self, actor: Actor, macro_id: str, ticket_id: str) -> MacroPlan:
        """What a macro would do to a ticket, by the code that applies it (rolled back; raises a
        DomainError). Loads the write path on first use."""
        from supportdesk.domain.preview import preview_macro

        return preview_macro(self.workspace, actor, macro_id, ticket_id)

    # --- in a worker only: local-only writes ---------------------------------------------------

    @worker_only
    def save_draft(self, draft: local_state.Draft) -> bool:
        """Write the draft; False when it was not kept because its customer was erased."""
        with self._local() as connection:
            if (draft.ticket_id, draft.kind) in self._closing_drafts:
                return True  # written as the console closed, with the newer text
            kept = local_state.save_draft(connection, draft)
            self._written_drafts[(draft.ticket_id, draft.kind)] = draft
            return kept

    def save_drafts_on_close(self, drafts: Iterable[local_state.Draft]) -> None:
        """The same writes on the UI thread, for the console's last moment only: once it is
        closing a save worker may never start, or finish after this with older text (it then
        leaves these drafts alone); a few draft rows cost well under a frame. A draft a save
        worker already wrote is not written again: its row may have been deleted since."""
        with self._local() as connection:
            for draft in drafts:
                if self._written_drafts.get((draft.ticket_id, draft.kind)) is draft:
                    continue
                local_state.save_draft(connection, draft)
                self._closing_drafts.add((draft.ticket_id, draft.kind))

    @worker_only
    def delete_draft(self, ticket_id: str, kind: str) -> None:
        with self._local() as connection:
            local_state.delete_draft(connection, ticket_id, kind)
            self._written_drafts.pop((ticket_id, kind), None)

    @worker_only
    def ended_snoozes(self, *, since: datetime | None, now: datetime, me: str | None) -> list[snoozes.EndedSnooze]:
        """Snoozes that ended since the last look (and this agent's, not woken yet)."""
        with self._read() as connection:
            return snoozes.ended(connection, since=since, now=now, me=me)

    @worker_only
    def mark_seen(self, ticket_id: str) -> None:
        with self._local() as connection:
            local_state.mark_seen(connection, ticket_id)

    def close(self) -> None:
        self._watch.close()
        for connection in self._all:
            connection.close()
        self._all.clear()
