"""The outbox worker: deliver queued mail and webhook replies, retry with backoff, never twice.

A worker claims a row with a compare-and-set (``queued`` → ``sending`` with a lease), sends it,
and marks it ``sent``. Two workers — threads, or server processes sharing a database — cannot
both claim a row. A temporary failure (connection refused, a 4xx answer, a timeout) puts the row
back with the next attempt pushed out exponentially; a permanent one (a 5xx refusal) or too many
attempts marks it ``failed`` with the reason, for an admin to see.

The one window left is a process dying after the relay accepted a mail and before ``sent`` was
written: the lease then expires and the mail is sent again — with the same bytes and the same
Message-ID, which mail clients show once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Engine

from supportdesk.store.models_channels import ChannelOutbox
from supportdesk.store.times import utcnow

log = logging.getLogger(__name__)

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"


class TemporaryFailure(Exception):
    """Try again later."""


class PermanentFailure(Exception):
    """Trying again cannot help (the relay refused the recipient, the webhook refused the body)."""


@dataclass(frozen=True)
class OutboxEntry:
    key: str
    channel: str
    kind: str
    ticket_id: str | None
    message_id: str | None
    recipient: str
    header_id: str | None
    payload: str
    attempts: int


class Sender(Protocol):
    def send(self, entry: OutboxEntry) -> None:
        """Deliver one entry; raise :class:`TemporaryFailure` or :class:`PermanentFailure`."""


@dataclass(frozen=True)
class Delivery:
    key: str
    status: str
    attempts: int
    error: str | None = None


def _table() -> Any:
    return ChannelOutbox.__table__  # type: ignore[attr-defined]


class OutboxWorker:
    """Delivers due outbox rows through one :class:`Sender` per channel."""

    def __init__(
        self,
        engine: Engine,
        senders: Mapping[str, Sender],
        *,
        max_attempts: int = 8,
        first_delay: float = 30.0,
        max_delay: float = 3600.0,
        lease_seconds: float = 300.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.max_attempts = max_attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock

    def backoff(self, attempts: int) -> timedelta:
        """30 s, 1 min, 2 min, 4 min … capped at an hour."""
        return timedelta(seconds=min(self.first_delay * 2 ** max(attempts - 1, 0), self.max_delay))

    def due(self, limit: int = 50) -> list[str]:
        table = _table()
        now = self.clock()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(table.c.key)
                .where(
                    table.c.channel.in_(list(self.senders)),
                    or_(
                        and_(table.c.status == QUEUED, table.c.next_attempt_at <= now),
                        and_(table.c.status == SENDING, table.c.claimed_until < now),
                    ),
                )
                .order_by(table.c.next_attempt_at, table.c.key)
                .limit(limit)
            ).all()
        return [row[0] for row in rows]

    def claim(self, key: str) -> OutboxEntry | None:
        """Take ``key`` for delivery, or None when another worker has it or it is done."""
        table = _table()
        now = self.clock()
        with self.engine.begin() as connection:
            taken = connection.execute(
                update(table)
                .where(
                    table.c.key == key,
                    or_(table.c.status == QUEUED, and_(table.c.status == SENDING, table.c.claimed_until < now)),
                )
                .values(status=SENDING, claimed_until=now + self.lease, attempts=table.c.attempts + 1)
            )
            if taken.rowcount != 1:
                return None
            row = connection.execute(select(table).where(table.c.key == key)).mappings().one()
        return OutboxEntry(
            key=row["key"],
            channel=row["channel"],
            kind=row["kind"],
            ticket_id=row["ticket_id"],
            message_id=row["message_id"],
            recipient=row["recipient"],
            header_id=row["header_id"],
            payload=row["payload"],
            attempts=row["attempts"],
        )

    def deliver_due(self, limit: int = 50) -> list[Delivery]:
        """Deliver what is due now; returns what happened to each row it claimed."""
        return [done for key in self.due(limit) if (done := self.deliver(key)) is not None]

    def deliver(self, key: str) -> Delivery | None:
        entry = self.claim(key)
        if entry is None:
            return None
        try:
            self.senders[entry.channel].send(entry)
        except PermanentFailure as error:
            return self._finish(entry, FAILED, str(error))
        except TemporaryFailure as error:
            if entry.attempts >= self.max_attempts:
                return self._finish(entry, FAILED, f"gave up after {entry.attempts} attempts: {error}")
            return self._finish(entry, QUEUED, str(error))
        except Exception as error:
            log.exception("delivering %s failed unexpectedly", entry.key)
            status = FAILED if entry.attempts >= self.max_attempts else QUEUED
            return self._finish(entry, status, f"{type(error).__name__}: {error}")
        return self._finish(entry, SENT, None)

    def _finish(self, entry: OutboxEntry, status: str, error: str | None) -> Delivery:
        table = _table()
        now = self.clock()
        values: dict[str, Any] = {
            "status": status,
            "claimed_until": None,
            "last_error": error[:2000] if error else None,
        }
        if status == SENT:
            values["sent_at"] = now
        elif status == QUEUED:
            values["next_attempt_at"] = now + self.backoff(entry.attempts)
        with self.engine.begin() as connection:
            connection.execute(
                update(table).where(table.c.key == entry.key, table.c.status == SENDING).values(**values)
            )
        if error:
            log.warning("%s %s: %s", entry.key, status, error)
        else:
            log.info("outbox %s (%s %s) delivered, attempt %d", entry.key, entry.channel, entry.kind, entry.attempts)
        return Delivery(entry.key, status, entry.attempts, error)

    def run(self, stop: threading.Event, *, interval: float = 2.0) -> None:
        """Deliver until ``stop`` is set (run it in a thread, or ``asyncio.to_thread``)."""
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception:
                log.exception("the outbox worker hit an error; it keeps going")
            stop.wait(interval)
