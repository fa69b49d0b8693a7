"""One sync round: push the outbox, pull what changed, rebase — used by ``supportdesk sync``,
``login`` and the console's background :class:`~supportdesk.sync.service.SyncService`.

A round holds the workspace's sync lock (:mod:`supportdesk.sync.round_lock`) from start to end,
checks that the token is the agent the workspace was filled for, and writes a rebase only if
nothing moved the cursor or the last acknowledged mutation since its pull began.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from supportdesk.protocol import MAX_BATCH, Change
from supportdesk.sync import local
from supportdesk.sync.client import ServerClient, ServerRefused, SyncError
from supportdesk.sync.rebase import StaleRebase, change_keys, keys_json, outbox_max, rebase
from supportdesk.sync.round_lock import DEFAULT_WAIT, sync_round
from supportdesk.sync.rows import TABLE_ORDER

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace

Progress = Callable[[str, int, int], None]

log = logging.getLogger(__name__)

#: Changes gathered before one rebase; a longer catch-up rebases in several steps.
MAX_CHANGES_PER_REBASE = 50_000


@dataclass(frozen=True)
class Refusal:
    """A mutation the server refused: the console shows ``message`` and keeps the text as a draft."""

    mutation_id: int
    name: str
    args: dict[str, Any]
    code: str
    message: str
    field: str | None


@dataclass
class SyncSummary:
    pushed: int = 0
    refused: list[Refusal] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    pulled: int = 0
    cursor: int = 0
    pending: int = 0
    replay_errors: list[tuple[int, str]] = field(default_factory=list)
    downloaded: int = 0  # rows a bootstrap (first fill, or its resumption) brought
    rescoped: bool = False  # the agent's groups or role changed: the copy was filled again
    dropped: int = 0  # tickets removed because the agent may no longer see them


class _ScopeMoved(Exception):
    """A pull reported another scope than the one the copy was filled under."""


class _Unheard(Exception):
    """The server acknowledged mutations whose answers this workspace never recorded (a round
    that pushed them died before it could): push again to hear them before dropping them."""


class SyncEngine:
    def __init__(
        self,
        workspace: Workspace,
        client: ServerClient,
        *,
        what: str = "sync",
        wait: float | None = DEFAULT_WAIT,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        """``what`` names the round in the lock file (``sync``, ``console``, ``login``); ``wait``
        and ``cancelled`` say how long to wait for another round of this workspace (see
        :func:`~supportdesk.sync.round_lock.sync_round`)."""
        self.workspace = workspace
        self.client = client
        self.what = what
        self.wait = wait
        self.cancelled = cancelled

    def sync_once(self, progress: Progress | None = None) -> SyncSummary:
        """Push everything pending, then pull until up to date, holding the workspace's sync lock.

        Raises :class:`SyncError` (:class:`~supportdesk.sync.round_lock.SyncBusy` when another
        round kept the workspace longer than ``wait``).
        """

        def waiting(_who: str) -> None:
            if progress:
                progress("waiting for another sync", 0, 0)

        with sync_round(self.workspace, self.what, wait=self.wait, on_wait=waiting, cancelled=self.cancelled):
            return self._round(progress)

    def _round(self, progress: Progress | None) -> SyncSummary:
        from supportdesk.sync.attach import check_agent
        from supportdesk.sync.notices import remember

        summary = SyncSummary()
        try:
            # asked every round (not once per client): an admin's notices change while the console runs
            me = self.client.me()
            check_agent(self.workspace, me)
            remember(self.workspace, me)
            state = local.state(self.workspace)
            if not state.bootstrapped:
                from supportdesk.sync.bootstrap import bootstrap

                if state.bootstrap.get("rescope"):
                    self.rescope(summary, progress, resuming=True)
                else:
                    summary.downloaded = bootstrap(self.workspace, self.client, progress=progress).rows
            self.push(summary, progress)
            self.pull(summary, progress)
        except SyncError as error:
            local.set_error(self.workspace, str(error))
            raise
        summary.pending = local.pending_count(self.workspace)
        return summary

    # --- push -----------------------------------------------------------------------------------

    def push(self, summary: SyncSummary, progress: Progress | None = None) -> None:
        state = local.state(self.workspace)
        with self.workspace.reading() as connection:
            total = int(
                connection.execute("SELECT count(*) FROM outbox WHERE id > ?", (state.last_acked,)).fetchone()[0]
            )
        last = state.last_acked
        uploaded: set[str] = set()
        while True:
            with self.workspace.reading() as connection:
                batch = local.pending(connection, last, MAX_BATCH)
            if not batch:
                return
            # a change's files go up before the change: the server refuses a hash it lacks
            unsent = self._upload_files(batch, uploaded)
            try:
                response = self.client.push(
                    state.client_id, [{"id": e.id, "name": e.name, "args": e.args} for e in batch]
                )
            except ServerRefused as error:
                if error.code == "gap":
                    raise SyncError(
                        f"the server expected mutation {error.error.get('expected')} next but this workspace "
                        f"has {batch[0].id}: its history differs from the server's (restored from a backup?)"
                    ) from None
                raise
            by_id = {e.id: e for e in batch}
            for outcome in response.results:
                entry = by_id.get(outcome.id)
                summary.warnings.extend(outcome.warnings)
                if not outcome.ok and entry is not None and outcome.error:
                    summary.refused.append(
                        Refusal(
                            outcome.id,
                            entry.name,
                            entry.args,
                            str(outcome.error.get("code", "invalid")),
                            unsent.get(outcome.id) or str(outcome.error.get("message", "refused")),
                            outcome.error.get("field"),
                        )
                    )
                    keep_as_draft(self.workspace, entry.name, entry.args, str(outcome.error.get("message", "")))
            last = response.last_mutation_id
            local.set_acked(self.workspace, last)
            summary.pushed += len(response.results)
            if progress:
                progress("pushing", summary.pushed, max(total, summary.pushed))

    def _upload_files(self, batch: list[local.Pending], uploaded: set[str]) -> dict[int, str]:
        if not any(entry.args.get("attachments") for entry in batch):
            return {}
        from supportdesk.sync.blob_cache import store_of
        from supportdesk.sync.blob_transfer import upload_pending

        return upload_pending(self.client, store_of(self.workspace), batch, uploaded)

    # --- pull -----------------------------------------------------------------------------------

    def pull(self, summary: SyncSummary, progress: Progress | None = None) -> None:
        for _attempt in range(5):
            try:
                self._pull(summary, progress)
                return
            except StaleRebase:
                continue
            except _Unheard:
                self.push(summary, progress)
            except _ScopeMoved:
                self.rescope(summary, progress)
        raise SyncError("the workspace kept changing during sync; try again")

    def rescope(self, summary: SyncSummary, progress: Progress | None = None, *, resuming: bool = False) -> None:
        """Fill the copy again under the agent's new groups or role: the change log never re-sends
        a newly visible group's unchanged tickets, nor takes back a group the agent left.

        Pending mutations go first (they were written under the old scope); the bootstrap then
        upserts what is visible and removes the tickets that no longer are; pulling goes on from
        the old cursor, so deletes logged since (never in a snapshot) still arrive.
        """
        from supportdesk.sync.bootstrap import bootstrap

        self.push(summary, progress)
        if not resuming:
            local.start_rescope(self.workspace)
        result = bootstrap(self.workspace, self.client, progress=progress)
        summary.rescoped = True
        summary.dropped += result.dropped

    def _pull(self, summary: SyncSummary, progress: Progress | None) -> None:
        while True:
            state = local.state(self.workspace)
            with self.workspace.reading() as connection:
                poked_from = local.poked_from(connection)
            known_scope = state.scope
            changes: list[Change] = []
            cursor, last_acked, more = state.cursor, state.last_acked, True
            # pokes moved the cursor since the last pull: ask from one seq before it, so the page's
            # cursor says whether the server's log reaches it (a pull answers max(asked, log end))
            checking = poked_from is not None and state.cursor > 0
            if checking:
                cursor -= 1
            rewound = False
            while more and len(changes) < MAX_CHANGES_PER_REBASE:
                page = self.client.pull(cursor, state.client_id)
                if checking:
                    checking = False
                    if page.cursor < state.cursor:
                        self._rewind(state.cursor, page.cursor, poked_from or 0)
                        rewound = True
                        break
                    page = page.model_copy(update={"changes": [c for c in page.changes if c.seq > state.cursor]})
                if page.scope is not None and page.scope != known_scope:
                    if known_scope is not None:
                        raise _ScopeMoved
                    local.adopt_scope(self.workspace, page.scope)
                    known_scope = page.scope
                changes.extend(page.changes)
                cursor, more = page.cursor, page.more
                last_acked = max(last_acked, page.last_mutation_id)
                if progress:
                    progress("pulling", len(changes), len(changes) + (1 if more else 0))
            if rewound:
                continue  # pull again from where the last pull left the copy
            with self.workspace.reading() as connection:
                if last_acked > state.last_acked and local.pending(connection, state.last_acked, 1):
                    raise _Unheard
                top = outbox_max(connection)
                touched = {k for k in local.touched_keys(connection) if k[0] in TABLE_ORDER}
            refresh = touched - change_keys(changes)
            idle = not (changes or refresh or more or top or cursor != state.cursor or last_acked != state.last_acked)
            if idle and _pulled_lately(state.last_pull_at):
                if poked_from is not None:
                    local.confirm_cursor(self.workspace)
                summary.cursor = cursor
                return  # nothing to apply and nothing pending: leave the store (and its readers) alone
            refreshed = self.client.rows(keys_json(refresh)) if refresh else []
            result = rebase(
                self.workspace,
                changes,
                cursor=cursor,
                last_acked=last_acked,
                refreshed=refreshed,
                outbox_top=top,
                since=(state.cursor, state.last_acked),
                confirmed=poked_from is not None,
            )
            summary.pulled += len(changes)
            summary.cursor = result.cursor
            summary.replay_errors.extend(result.replay_errors)
            if not more:
                return

    def _rewind(self, cursor: int, log_end: int, poked_from: int) -> None:
        """The server's log ends before the cursor pokes moved this copy to: those pokes named seqs
        the log does not hold (a broken or hostile server), and the records in between may never
        have come. Go back to where the last pull left the copy; the pull that follows brings
        everything after it again (whatever the log holds past ``log_end`` is never skipped)."""
        to = min(poked_from, log_end)
        log.warning(
            "the server's change log ends at %d but pokes moved this copy's cursor to %d: pulling again from %d",
            log_end,
            cursor,
            to,
        )
        local.rewind_cursor(self.workspace, to, cursor)


def _pulled_lately(last_pull_at: str | None) -> bool:
    """Whether the recorded pull time is under a minute old (``supportdesk status`` shows it)."""
    from datetime import timedelta

    from supportdesk.store.times import from_db, utcnow

    pulled = from_db(last_pull_at) if last_pull_at else None
    return pulled is not None and utcnow() - pulled < timedelta(seconds=60)


def keep_as_draft(workspace: Workspace, name: str, args: dict[str, Any], reason: str = "") -> None:
    """A refused reply or note goes back to the composer's draft; a draft written since keeps
    its text, and the refused one follows it (unless it is already there). The draft's state
    says why the server refused it (``{"refused": true, "reason": …}``)."""
    kind = {"ticket.reply": "reply", "ticket.note": "note"}.get(name)
    body = args.get("body")
    if kind is None or not args.get("ticket_id") or not isinstance(body, str) or not body.strip():
        return
    import json

    from supportdesk.store.local_state import Draft, erased_requester
    from supportdesk.store.times import to_db, utcnow
    from supportdesk.sync.rows import left_requester

    with workspace.writing() as connection:
        # stamped with the requester, found even when the ticket already left this store, so a
        # later erasure of that customer finds the draft (privacy.forget_locally)
        requester = left_requester(connection, args["ticket_id"])
        stamp = {"requester_id": requester} if requester else {}
        if erased_requester(connection, Draft(args["ticket_id"], kind, state=stamp)):
            return  # its customer was erased meanwhile: no copy of the words is kept (local_state.save_draft)
        refused = json.dumps({"refused": True, "reason": reason})  # stamped below, whichever way it is kept
        row = connection.execute(
            "SELECT body FROM draft WHERE ticket_id = ? AND kind = ?", (args["ticket_id"], kind)
        ).fetchone()
        if row is None or not row[0].strip():
            connection.execute(
                "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(ticket_id, kind) DO UPDATE SET body = excluded.body, state = excluded.state, "
                "updated_at = excluded.updated_at",
                (args["ticket_id"], kind, body, refused, to_db(utcnow())),
            )
        elif body.strip() not in row[0]:
            connection.execute(
                "UPDATE draft SET body = ?, updated_at = ?, "
                "state = json_set(coalesce(state, '{}'), '$.refused', json('true'), '$.reason', ?) "
                "WHERE ticket_id = ? AND kind = ?",
                (f"{row[0].rstrip()}\n\n{body}", to_db(utcnow()), reason, args["ticket_id"], kind),
            )
        if requester:
            connection.execute(
                "UPDATE draft SET state = json_set(coalesce(state, '{}'), '$.requester_id', ?) "
                "WHERE ticket_id = ? AND kind = ?",
                (requester, args["ticket_id"], kind),
            )
        _keep_files(connection, args, kind)


def _keep_files(connection: Any, args: dict[str, Any], kind: str) -> None:
    """The refused change's files go back into the draft with its text (after the draft's own,
    each once): a refused reply lost its attachments, the agent's file named by nothing (review14)."""
    import json

    from supportdesk.store.blobs import is_sha256

    carried = [
        item for item in args.get("attachments") or [] if isinstance(item, dict) and is_sha256(item.get("sha256"))
    ]
    if not carried:
        return
    row = connection.execute(
        "SELECT CAST(state AS BLOB) FROM draft WHERE ticket_id = ? AND kind = ?", (args["ticket_id"], kind)
    ).fetchone()
    try:
        state = json.loads(row[0].decode("utf-8", "replace")) if row is not None and row[0] else {}
    except ValueError:
        state = {}
    held = state.get("attachments") if isinstance(state, dict) else None
    files = [item for item in held if isinstance(item, dict)] if isinstance(held, list) else []
    seen = {item.get("sha256") for item in files}
    for item in carried:
        if item["sha256"] not in seen:
            seen.add(item["sha256"])
            files.append(item)
    connection.execute(
        "UPDATE draft SET state = json_set(CASE WHEN json_valid(state) THEN state ELSE '{}' END, "
        "'$.attachments', json(?)) WHERE ticket_id = ? AND kind = ?",
        (json.dumps(files), args["ticket_id"], kind),
    )


class PokeResult(enum.Enum):
    """What :func:`apply_poke` did with a poke; true only when it applied the records."""

    APPLIED = "applied"  # the records are in and the cursor is at the poke's seq
    PLAIN = "plain"  # no records (an older server, a large write): pull when it is ahead
    OLD = "old"  # the cursor is at or past the poke's seq: an old or repeated poke, nothing to do
    GAP = "gap"  # the cursor is behind the poke's start: pull
    NOT_NOW = "not now"  # not filled, another scope, own writes waiting, or raced: pull
    BUSY = "busy"  # another round holds the workspace: it, or a pull after it, brings them
    MALFORMED = "malformed"  # refused whole (logged at WARNING): pull

    def __bool__(self) -> bool:
        return self is PokeResult.APPLIED


def apply_poke(workspace: Workspace, data: Any, *, wait: float | None = 0.0) -> PokeResult:
    """Apply the records a poke carries, as a pulled page, when this copy's cursor is within the
    poke's range (:attr:`PokeResult.APPLIED`: the cursor moved to the poke's seq).

    The whole poke is checked first (:func:`supportdesk.sync.poke_check.check_poke`): a malformed
    one (a range that is not one, a seq past what the store holds, records outside the range or
    out of order, a row SQLite could not take) is refused whole — nothing applied, a WARNING
    logged, :attr:`PokeResult.MALFORMED` — so no server, broken or hostile, leaves half a poke.

    The records are all those of seqs (from, seq] that a pull from ``from`` would hand out, so a
    copy whose cursor is in [from, seq) — filled under the same scope, bootstrapped, with no
    mutation of its own pending or awaiting its refresh — takes the ones after its cursor
    through the same :func:`~supportdesk.sync.rebase.rebase` as a pulled page, in one
    transaction. Anything else changes nothing and says why: the caller pulls (``GAP``,
    ``NOT_NOW``), does nothing (``OLD``) or, when its own round holds the workspace, holds the
    poke until that round ends (``BUSY``).

    The cursor a poke moved is the server's word, not yet checked against its log: the rebase
    records where the copy stood before (:data:`~supportdesk.sync.local.POKED_FROM`), and the next
    pull confirms the log reaches the cursor or rewinds to there (:meth:`SyncEngine._pull`).
    """
    import sqlite3

    from supportdesk.sync.poke_check import BadPoke, check_poke
    from supportdesk.sync.round_lock import SyncBusy

    try:
        poke = check_poke(data)
    except BadPoke as error:
        log.warning("refused a malformed poke (nothing applied; a pull follows): %s", error)
        return PokeResult.MALFORMED
    if poke is None:
        return PokeResult.PLAIN
    try:
        with sync_round(workspace, "poke", wait=wait):
            state = local.state(workspace)
            if state.cursor >= poke.last:
                return PokeResult.OLD
            if state.cursor < poke.first:
                return PokeResult.GAP
            if not state.bootstrapped or state.scope != poke.scope:
                return PokeResult.NOT_NOW
            changes = [change for change in poke.changes if change.seq > state.cursor]
            with workspace.reading() as connection:
                if local.pending(connection, state.last_acked, 1) or local.touched_keys(connection):
                    return PokeResult.NOT_NOW  # its own writes wait for a round: their rows need the server's refresh
                top = outbox_max(connection)
            try:
                rebase(
                    workspace,
                    changes,
                    cursor=poke.last,
                    last_acked=state.last_acked,
                    refreshed=[],
                    outbox_top=top,
                    since=(state.cursor, state.last_acked),
                    poked_from=state.cursor,
                )
            except StaleRebase:
                return PokeResult.NOT_NOW
            except sqlite3.IntegrityError as error:  # rolled back whole: a pull brings the rows
                log.warning("a poke's records could not be written (nothing applied; a pull follows): %s", error)
                return PokeResult.NOT_NOW
    except SyncBusy:
        return PokeResult.BUSY
    return PokeResult.APPLIED
