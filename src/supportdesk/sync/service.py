"""The background sync of a running console, and the status it shows.

Usage from the console (issue #3)::

    service = SyncService(workspace, on_change=lambda status: app.call_from_thread(bar.show, status))
    service.start()              # no-op status "not connected" when the workspace follows no server
    service.sync_now()           # after a local mutation: push it soon
    service.set_presence(ticket_id, "viewing")   # or "typing", "left"
    service.viewers(ticket_id)   # who else views or types in it
    service.stop()

``on_change`` is called from the service's threads with an immutable :class:`SyncStatus`;
a Textual app hands it to the UI thread with ``call_from_thread`` (never touch widgets here).
The service asks for pokes that carry the new records and applies those when its copy is
within a poke's range (:func:`~supportdesk.sync.engine.apply_poke`: no pull); a poke that comes
during its own round is held and applied after the round when it still fits. It pulls on
every other poke from the server's event stream, on reconnect and on a timer,
and retries with exponential backoff while the server cannot be reached. Its rounds take the
workspace's sync lock like every other (:mod:`supportdesk.sync.round_lock`): while
``supportdesk sync`` runs on the same workspace, the console's round waits for it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from supportdesk.store.times import utcnow
from supportdesk.sync.client import AuthFailed, Offline, ServerClient, SyncError
from supportdesk.sync.round_lock import SyncCancelled

if TYPE_CHECKING:
    from supportdesk.store.workspace import Workspace
    from supportdesk.sync.engine import Refusal

Connection = Literal["local", "connecting", "online", "offline", "error"]
PRESENCE_TTL = 45.0
#: The longest wait between two attempts to reopen the event stream. Pokes arrive only through
#: it, and nothing else tells a console that its server is back: with the sync loop's backoff
#: (up to a minute) a console reconnected up to a minute after a restart, and meanwhile saw no
#: one's changes. A reconnect costs one request, so it is tried every few seconds.
RECONNECT_MAX = 5.0
#: Pokes held during one round at most (a few KB each); past it the round is followed by a pull.
HELD_MAX = 500


@dataclass(frozen=True)
class Viewer:
    """Somebody else in a ticket: ``state`` is ``viewing`` or ``typing``."""

    agent_id: str
    agent_name: str
    ticket_id: str
    state: str
    at: float


@dataclass(frozen=True)
class SyncStatus:
    """What the status bar shows: online / offline / N pending / last error."""

    connection: Connection = "local"
    server: str | None = None
    pending: int = 0
    syncing: bool = False
    cursor: int = 0
    last_sync_at: datetime | None = None
    last_error: str | None = None
    refusals: tuple[Refusal, ...] = ()
    warnings: tuple[str, ...] = ()
    presence: tuple[Viewer, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        """A short plain-text line, e.g. ``online · 3 pending`` or ``offline · 12 pending``."""
        if self.connection == "local":
            return "local workspace"
        parts: list[str] = ["syncing" if self.syncing else self.connection]
        if self.pending:
            parts.append(f"{self.pending} pending")
        if self.last_error and self.connection != "online":
            parts.append(self.last_error)
        return " · ".join(parts)

    def viewers(self, ticket_id: str, *, exclude: str | None = None) -> list[Viewer]:
        now = utcnow().timestamp()
        return [
            v for v in self.presence if v.ticket_id == ticket_id and v.agent_id != exclude and now - v.at < PRESENCE_TTL
        ]


class SyncService:
    """Keeps one workspace in sync with its server while the console runs."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        on_change: Callable[[SyncStatus], None] | None = None,
        interval: float = 30.0,
        max_backoff: float = 60.0,
        reconnect_max: float = RECONNECT_MAX,
        profile: str | None = None,
        client_factory: Callable[[], ServerClient] | None = None,
    ) -> None:
        self.workspace = workspace
        self.on_change = on_change
        self.interval = interval
        self.max_backoff = max_backoff
        self.reconnect_max = min(reconnect_max, max_backoff)
        self.profile = profile
        self._client_factory = client_factory
        self._status = SyncStatus()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._reconnect = threading.Event()  # a round succeeded while the event stream was down
        self._events_up = False
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._presence: dict[tuple[str, str], Viewer] = {}
        self._my_presence: dict[str, str] = {}
        self._presence_queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._presence_thread: threading.Thread | None = None
        self._events_client: ServerClient | None = None
        # pokes that came during this console's own round wait for its end (_round_ended)
        self._poke_lock = threading.Lock()
        self._in_round = False
        self._held: list[dict[str, Any]] = []
        self._pull_after_round = False

    # --- public ---------------------------------------------------------------------------

    @property
    def status(self) -> SyncStatus:
        return self._status

    def start(self) -> None:
        from supportdesk.sync.local import pending_count, state

        current = state(self.workspace)
        if current.server_url is None:
            self._update(connection="local", pending=0)
            return
        self._update(connection="connecting", server=current.server_url, pending=pending_count(self.workspace))
        for target, name in ((self._sync_loop, "sync"), (self._events_loop, "sync-events")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the threads; presence changes already asked for are sent first (within ``timeout``)."""
        self._stop.set()
        self._wake.set()
        self._reconnect.set()
        self._presence_queue.put(None)
        if self._presence_thread is not None:
            self._presence_thread.join(timeout)
        if self._events_client is not None:
            with contextlib.suppress(Exception):
                self._events_client.close()
        for thread in self._threads:
            thread.join(timeout)

    def sync_now(self) -> None:
        """Ask for a sync round as soon as possible (after a local change)."""
        from supportdesk.sync.local import pending_count

        with contextlib.suppress(Exception):
            self._update(pending=pending_count(self.workspace))
        self._wake.set()

    def set_presence(self, ticket_id: str, state: str) -> None:
        """Tell the others this agent views / types in / left a ticket (sent in the background,
        in the order asked)."""
        if state == "left":
            self._my_presence.pop(ticket_id, None)
        else:
            self._my_presence[ticket_id] = state
        self._presence_queue.put((ticket_id, state))
        with self._lock:
            if self._presence_thread is None:
                self._presence_thread = threading.Thread(target=self._presence_loop, name="sync-presence", daemon=True)
                self._presence_thread.start()

    def viewers(self, ticket_id: str) -> list[Viewer]:
        from supportdesk.domain.write import workspace_actor

        me = None
        with contextlib.suppress(Exception):
            me = workspace_actor(self.workspace).id
        return self._status.viewers(ticket_id, exclude=me)

    # --- threads ----------------------------------------------------------------------------

    def _client(self, timeout: float = 30.0) -> ServerClient:
        if self._client_factory is not None:
            return self._client_factory()
        from supportdesk.sync.attach import open_client

        return open_client(self.workspace, self.profile, timeout=timeout)

    def _sync_loop(self) -> None:
        from supportdesk.sync.engine import SyncEngine

        backoff = 1.0
        client: ServerClient | None = None
        while not self._stop.is_set():
            self._update(syncing=True)
            try:
                client = client or self._client()
                engine = SyncEngine(self.workspace, client, what="console", wait=None, cancelled=self._stop.is_set)
                self._round_started()
                try:
                    summary = engine.sync_once()
                finally:
                    self._round_ended()
                self._update(
                    connection="online",
                    syncing=False,
                    pending=summary.pending,
                    cursor=max(summary.cursor, self._cursor()),  # held pokes may have moved it since
                    last_sync_at=utcnow(),
                    last_error=None,
                    refusals=self._status.refusals + tuple(summary.refused),
                    warnings=tuple(summary.warnings),
                )
                backoff = 1.0
                wait = self.interval
                self._resend_presence()
                if not self._events_up:
                    self._reconnect.set()  # the server answers: reopen the event stream now
            except SyncCancelled:
                break
            except AuthFailed as error:
                client = _closed(client)
                self._update(connection="error", syncing=False, last_error=str(error))
                wait = self.max_backoff
            except (Offline, OSError) as error:
                client = _closed(client)
                self._update(connection="offline", syncing=False, last_error=str(error))
                wait, backoff = jittered(backoff), min(backoff * 2, self.max_backoff)
            except (SyncError, Exception) as error:
                client = _closed(client)
                self._update(connection="error", syncing=False, last_error=str(error) or type(error).__name__)
                wait, backoff = jittered(backoff), min(backoff * 2, self.max_backoff)
            self._wake.wait(wait)
            self._wake.clear()
        _closed(client)

    def _events_loop(self) -> None:
        backoff = 1.0
        while not self._stop.is_set():
            try:
                client = self._client(timeout=30.0)
                self._events_client = client
                with client:
                    for event, data in client.events(read_timeout=max(60.0, self.interval * 2), records=True):
                        if self._stop.is_set():
                            return
                        backoff = 1.0
                        self._events_up = True
                        if event == "hello":
                            self._wake.set()  # (re)connected: catch up
                            self._resend_presence()
                        elif event == "poke":
                            self._on_poke(data)
                        elif event == "presence":
                            self._on_presence(data)
            except Exception as error:
                if self._stop.is_set():
                    return
                if self._status.connection == "online":
                    self._update(connection="offline", last_error=str(error) or type(error).__name__)
            self._events_up = False
            self._reconnect.clear()
            self._reconnect.wait(jittered(backoff))
            backoff = min(backoff * 2, self.reconnect_max)

    def _on_poke(self, data: dict[str, Any]) -> None:
        """Apply a poke's records when the copy's cursor is within their range; pull when it is
        behind. A poke that comes during this console's own round is held and taken after it
        (:meth:`_round_ended`): the round's pull may well reach where the poke starts."""
        with self._poke_lock:
            if self._in_round:
                if len(self._held) < HELD_MAX:
                    self._held.append(data)
                else:  # a round that runs long under a flood of pokes: one pull after it instead
                    self._held.clear()
                    self._pull_after_round = True
                return
            self._take_poke(data)

    def _take_poke(self, data: dict[str, Any]) -> None:
        """Apply one poke now (the caller holds ``_poke_lock``): it applies, is old, or the
        console pulls."""
        from supportdesk.sync.engine import PokeResult, apply_poke

        try:
            result = apply_poke(self.workspace, data)
        except Exception:  # a round will pull the same records
            result = PokeResult.NOT_NOW
        if result is PokeResult.APPLIED:
            self._update(cursor=max(self._status.cursor, int(data["seq"])))
        elif result is PokeResult.OLD:
            if self._behind_unconfirmed(data.get("seq")):
                self._wake.set()
        elif result is PokeResult.PLAIN:
            seq = data.get("seq")
            if not isinstance(seq, int) or seq > self._cursor() or self._behind_unconfirmed(seq):
                self._wake.set()
        else:  # a gap, not now, malformed, or another process's round: pull
            self._wake.set()

    def _behind_unconfirmed(self, seq: Any) -> bool:
        """Whether ``seq`` lies below a cursor that only pokes moved and no pull has confirmed:
        the server's own poke behind it says its log may end before the cursor (one forged poke
        far ahead made every later poke "old" until the timer pulled). A pull checks, and
        rewinds when the log does end there."""
        from supportdesk.sync.local import poked_from, state

        if not isinstance(seq, int) or isinstance(seq, bool):
            return False
        try:
            with self.workspace.reading() as connection:
                if poked_from(connection) is None:
                    return False
            return seq < state(self.workspace).cursor
        except Exception:
            return False

    def _round_started(self) -> None:
        with self._poke_lock:
            self._in_round = True

    def _round_ended(self) -> None:
        """Take the pokes held during the round, in the order they came: each applies when it
        still fits (from <= cursor < seq), is dropped when the round's pull already passed it, or
        makes the console pull; the records' own check keeps each applied exactly once."""
        with self._poke_lock:
            self._in_round = False
            held, self._held = self._held, []
            if self._pull_after_round:
                self._pull_after_round = False
                self._wake.set()
            for data in held:
                self._take_poke(data)

    def _cursor(self) -> int:
        from supportdesk.sync.local import state

        try:
            return state(self.workspace).cursor
        except Exception:
            return self._status.cursor

    def _on_presence(self, data: dict[str, Any]) -> None:
        key = (str(data["agent_id"]), str(data["ticket_id"]))
        with self._lock:
            if data.get("state") == "left":
                self._presence.pop(key, None)
            else:
                self._presence[key] = Viewer(
                    key[0], str(data.get("agent_name", "")), key[1], str(data["state"]), float(data.get("at", 0))
                )
            viewers = tuple(self._presence.values())
        self._update(presence=viewers)

    def _presence_loop(self) -> None:
        """Send presence changes one after another over one connection (a stale "typing" must
        never overtake the "viewing" that followed it)."""
        client: ServerClient | None = None
        while True:
            item = self._presence_queue.get()
            if item is None:
                break
            try:
                client = client or self._client(timeout=5.0)
                client.presence(*item)
            except Exception:
                client = _closed(client)
        _closed(client)

    def _resend_presence(self) -> None:
        for ticket_id, state in list(self._my_presence.items()):
            self._presence_queue.put((ticket_id, state))

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
            status = self._status
        if self.on_change is not None:
            with contextlib.suppress(Exception):
                self.on_change(status)


def jittered(seconds: float) -> float:
    """A wait between half and all of ``seconds``: a server that comes back after a restart is
    not met by every console at the same instant."""
    import random

    return seconds * random.uniform(0.5, 1.0)


def _closed(client: ServerClient | None) -> ServerClient | None:
    """Close a client after a failure; returns None (the next round opens a fresh connection)."""
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()
    return None
