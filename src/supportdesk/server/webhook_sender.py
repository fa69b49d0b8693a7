"""Delivering webhook events: signed, retried with backoff for 24 hours, in order per ticket.

Each server process runs one sender thread (a worker of the app). It claims due deliveries
(``claimed_until``, so several processes on one PostgreSQL database never send one delivery
twice at once), skips any whose ticket has an earlier delivery still pending to the same
endpoint (so a ticket's events arrive in order), and POSTs the event's JSON with:

- ``Supportdesk-Event-Id`` (the same on every retry and replay: receivers deduplicate on it),
  ``Supportdesk-Event`` (the type), ``Supportdesk-Delivery`` (this attempt's delivery);
- ``Supportdesk-Signature: t=<unix seconds>,v1=<hex>`` where ``v1`` is HMAC-SHA256 with the
  endpoint's secret over ``"<t>." + body`` (Stripe's scheme: the receiver recomputes it, compares
  in constant time, and refuses a ``t`` older than a few minutes, which stops replays).

A 2xx answer delivers; anything else (another status, a timeout, a refused connection) is retried
after 10 s, 20 s, 40 s … (at most an hour apart; ``ServerConfig.webhook_retry_base`` sets the first
wait) until 24 hours after the event, then the delivery is *failed*. An endpoint whose deliveries
have failed without a success for 24 hours is disabled, with the reason kept; the admins are told
— an error in the server log, and a notice in ``GET /v1/me`` for every admin's token — until
``server webhook enable`` turns it on again (``replay`` resends what it missed).
Redirects are not followed; answers are not read beyond their status.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import text

from supportdesk.server.reads import snapshot
from supportdesk.server.webhooks import RETRY_FOR, instant, timed
from supportdesk.store.times import to_db, utcnow

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.engine import Connection

    from supportdesk.server.apply import Applied
    from supportdesk.server.db import ServerDatabase
    from supportdesk.server.state import ServerState

log = logging.getLogger("supportdesk.server.webhooks")

#: How long one claimed delivery may take before another sender may try it.
CLAIM = timedelta(seconds=60)
#: Seconds an endpoint has to answer.
TIMEOUT = 10.0
#: The longest wait between two attempts.
MAX_BACKOFF = timedelta(hours=1)
#: Deliveries claimed per round.
BATCH = 50
#: Deliveries claimed in one write: their sends fit well inside the claim (6 × 10 s < 60 s).
CHUNK = max(1, int(CLAIM.total_seconds() // TIMEOUT) - 1)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Supportdesk-Signature`` header's value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def backoff(attempts: int, base: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base`` doubled each time, capped."""
    return min(timedelta(seconds=base * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def _due(connection: Any, now: datetime) -> list[str]:
    rows = connection.execute(
        timed(
            "SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id "
            "WHERE d.status = 'pending' AND w.active = :t AND d.next_attempt_at <= :now "
            "AND (d.claimed_until IS NULL OR d.claimed_until < :now) "
            "AND NOT EXISTS (SELECT 1 FROM webhook_delivery e WHERE e.endpoint_id = d.endpoint_id "
            "AND e.ticket_id = d.ticket_id AND e.status = 'pending' AND e.position < d.position) "
            f"ORDER BY d.position, d.created_at LIMIT {BATCH}",
            "now",
        ),
        {"t": True, "now": now},
    ).all()
    return [str(row[0]) for row in rows]


def _claim(connection: Any, delivery_id: str, now: datetime) -> tuple[Any, ...] | None:
    claimed = connection.execute(
        timed(
            "UPDATE webhook_delivery SET claimed_until = :until WHERE id = :d AND status = 'pending' "
            "AND (claimed_until IS NULL OR claimed_until < :now) RETURNING id",
            "until",
            "now",
        ),
        {"until": now + CLAIM, "d": delivery_id, "now": now},
    ).first()
    if claimed is None:
        return None
    row = connection.execute(
        text(
            "SELECT d.id, d.event_id, d.attempts, d.give_up_at, w.id, w.url, w.secret, e.type, e.payload "
            "FROM webhook_delivery d JOIN webhook_endpoint w ON w.id = d.endpoint_id "
            "JOIN webhook_event e ON e.id = d.event_id WHERE d.id = :d"
        ),
        {"d": delivery_id},
    ).first()
    return tuple(row) if row is not None else None


def _send(client: httpx.Client, row: tuple[Any, ...]) -> tuple[int | None, str | None]:
    """POST one delivery; ``(status, error)``."""
    import httpx

    delivery_id, event_id, _, _, _, url, secret, kind, payload = row
    body = payload.encode() if isinstance(payload, str) else orjson.dumps(payload)
    timestamp = int(utcnow().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "supportdesk-webhooks",
        "Supportdesk-Event": kind,
        "Supportdesk-Event-Id": event_id,
        "Supportdesk-Delivery": delivery_id,
        "Supportdesk-Signature": signature(secret, timestamp, body),
    }
    try:
        response = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as error:
        return None, f"{type(error).__name__}: {str(error)[:200]}"
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"answered {response.status_code}"


def _record(
    connection: Connection, row: tuple[Any, ...], status: int | None, error: str | None, base: float
) -> tuple[str, str] | None:
    """Keep one attempt's outcome; returns ``(endpoint id, url)`` when it disabled the endpoint."""
    delivery_id, _, attempts, give_up_at, endpoint_id, url = row[:6]
    now = utcnow()
    if error is None:
        connection.execute(
            timed(
                "UPDATE webhook_delivery SET status = 'delivered', attempts = :a, last_status = :s, "
                "last_error = NULL, delivered_at = :now, claimed_until = NULL WHERE id = :d",
                "now",
            ),
            {"a": attempts + 1, "s": status, "now": now, "d": delivery_id},
        )
        connection.execute(
            timed("UPDATE webhook_endpoint SET last_success_at = :now, failing_since = NULL WHERE id = :e", "now"),
            {"now": now, "e": endpoint_id},
        )
        return None
    give_up = instant(give_up_at)
    # the last attempt is at the 24-hour mark itself, so a day of failures is seen whole
    retry_at = min(now + backoff(attempts + 1, base), give_up)
    connection.execute(
        timed(
            "UPDATE webhook_delivery SET status = :state, attempts = :a, last_status = :s, last_error = :err, "
            "next_attempt_at = :next, claimed_until = NULL WHERE id = :d",
            "next",
        ),
        {
            "state": "failed" if now >= give_up else "pending",
            "a": attempts + 1,
            "s": status,
            "err": error,
            "next": retry_at,
            "d": delivery_id,
        },
    )
    connection.execute(
        timed("UPDATE webhook_endpoint SET failing_since = coalesce(failing_since, :now) WHERE id = :e", "now"),
        {"now": now, "e": endpoint_id},
    )
    disabled = connection.execute(
        timed(
            "UPDATE webhook_endpoint SET active = :f, disabled_at = :now, disabled_reason = :why, "
            "updated_at = :now WHERE id = :e AND active = :t AND failing_since <= :since RETURNING id",
            "now",
            "since",
        ),
        {
            "f": False,
            "t": True,
            "now": now,
            "why": f"every delivery failed for 24 hours (last: {error})"[:500],
            "e": endpoint_id,
            "since": now - RETRY_FOR,
        },
    ).first()
    return (str(endpoint_id), str(url)) if disabled is not None else None


def disabled_message(endpoint_id: str, url: str) -> str:
    """What the admins are told about an endpoint disabled after a day of failures."""
    return (
        f"webhook endpoint {endpoint_id} ({url}) was disabled: its deliveries failed for 24 hours. "
        f"Fix the receiver, then: supportdesk server webhook enable {endpoint_id} (and replay what it missed)"
    )


def admin_notices(connection: Connection) -> list[dict[str, Any]]:
    """What every admin should know until someone acts: the endpoints disabled after a day of
    failures (``GET /v1/me`` answers them to admins; enabling the endpoint ends the notice)."""
    found = connection.execute(
        text(
            "SELECT id, url, disabled_at, disabled_reason FROM webhook_endpoint "
            "WHERE active = :f AND disabled_at IS NOT NULL ORDER BY disabled_at, id"
        ),
        {"f": False},
    )
    return [
        {
            "kind": "webhook_disabled",
            "endpoint_id": str(row[0]),
            "url": str(row[1]),
            "since": to_db(instant(row[2])),
            "reason": row[3],
            "message": disabled_message(str(row[0]), str(row[1])),
        }
        for row in found
    ]


def deliver_due(database: ServerDatabase, client: httpx.Client, base: float) -> int:
    """One round: send every due delivery this process can claim; returns how many were tried."""
    tried = 0
    # A read: the snapshot engine, so the poll every second never takes SQLite's write lock
    # (the write engine begins IMMEDIATE); each claim below is its own short write.
    with snapshot(database) as connection:
        due = _due(connection, utcnow())
    for start in range(0, len(due), CHUNK):
        # a few claimed in one write and their outcomes kept in another: two short transactions
        # per chunk instead of two per delivery (a crash between them re-sends the chunk, which
        # at-least-once delivery allows; the event id lets the receiver tell)
        with database.engine.connect() as connection, connection.begin():
            now = utcnow()
            rows = [row for delivery_id in due[start : start + CHUNK] if (row := _claim(connection, delivery_id, now))]
        outcomes = [(row, *_send(client, row)) for row in rows]
        if outcomes:
            with database.engine.connect() as connection, connection.begin():
                disabled = [_record(connection, row, status, error, base) for row, status, error in outcomes]
            for endpoint in {item for item in disabled if item is not None}:
                log.error("%s", disabled_message(*endpoint))
        tried += len(outcomes)
    return tried


class Sender:
    """The sender thread of one server process; ``wake`` after a write recorded events."""

    def __init__(self, database: ServerDatabase, *, base: float, poll: float = 1.0) -> None:
        self.database = database
        self.base = base
        self.poll = poll
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._queued: set[int] = set()

    def wake(self) -> None:
        self._wake.set()

    def record(self, connection: Connection, applied: Applied) -> None:
        """The after-write hook: record the write's events (:func:`.webhooks.record_events`) and
        remember whether any delivery was queued."""
        from supportdesk.server.webhooks import record_events

        if record_events(connection, applied):
            with self._lock:
                if len(self._queued) > 10_000:  # writes that rolled back after queueing: forget them
                    self._queued.clear()
                self._queued.add(id(applied))

    def after_commit(self, _database: ServerDatabase, applied: Applied) -> None:
        """Wake the thread when the committed write queued a delivery — not after every write:
        a server without endpoints (or a write no endpoint wants) costs the sender nothing."""
        with self._lock:
            queued = id(applied) in self._queued
            self._queued.discard(id(applied))
        if queued:
            self._wake.set()

    def start(self, _state: ServerState) -> Callable[[], None]:
        self._thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        self._thread.start()
        return self.stop

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(TIMEOUT + 5)

    def _run(self) -> None:
        import httpx

        with httpx.Client(timeout=TIMEOUT, follow_redirects=False) as client:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    tried = deliver_due(self.database, client, self.base)
                except Exception as error:  # the sender must outlive a database hiccup
                    from supportdesk.server.handlers import safe_description

                    log.error("webhook round failed: %s", safe_description(error))
                    tried = 0
                if tried == 0:  # something sent may have let a ticket's next event go: look again at once
                    self._wake.wait(self.poll)
