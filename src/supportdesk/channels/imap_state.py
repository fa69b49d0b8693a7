"""What the server remembers of each IMAP mailbox: ``channel_imap_mailbox`` (one row per folder).

Every change is one short transaction of its own, written after the step it records: a crash
between a mail's ingest and the move of ``last_uid`` fetches that mail again at the next start,
and the ingest's Message-ID claim answers ``duplicate`` — no second ticket, nothing skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from supportdesk.channels.imap_settings import ImapMailbox
from supportdesk.store.models_channels import ChannelImapMailbox
from supportdesk.store.times import iso, utcnow

ERROR_CHARS = 500

TABLE: Table = ChannelImapMailbox.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Position:
    """Where reading the folder stands: its UIDVALIDITY (None before first contact), the last UID
    handled, and the baseline: the mails below it were there at first contact and are taken only
    when unread (``first_fetch = "unseen"``), so years of old mail never become tickets."""

    uidvalidity: int | None
    last_uid: int
    baseline_uid: int = 0


def _ensure(engine: Engine, mailbox: ImapMailbox) -> None:
    with engine.begin() as connection:
        found = connection.execute(select(TABLE.c.mailbox).where(TABLE.c.mailbox == mailbox.key)).first()
        if found is not None:
            return
        try:
            with connection.begin_nested():
                connection.execute(
                    insert(TABLE).values(
                        mailbox=mailbox.key,
                        address=mailbox.address,
                        last_uid=0,
                        baseline_uid=0,
                        ingested=0,
                        kept_aside=0,
                    )
                )
        except IntegrityError:
            pass  # another process made it meanwhile


def position(engine: Engine, mailbox: ImapMailbox) -> Position:
    _ensure(engine, mailbox)
    with engine.connect() as connection:
        row = connection.execute(
            select(TABLE.c.uidvalidity, TABLE.c.last_uid, TABLE.c.baseline_uid).where(TABLE.c.mailbox == mailbox.key)
        ).one()
    return Position(row.uidvalidity, int(row.last_uid), int(row.baseline_uid))


def _update(engine: Engine, mailbox: ImapMailbox, **values: Any) -> None:
    _ensure(engine, mailbox)
    with engine.begin() as connection:
        connection.execute(update(TABLE).where(TABLE.c.mailbox == mailbox.key).values(**values))


def start_over(engine: Engine, mailbox: ImapMailbox, uidvalidity: int, baseline_uid: int) -> Position:
    """The folder is new to us, or its UIDVALIDITY changed: no remembered UID means anything."""
    _update(engine, mailbox, uidvalidity=uidvalidity, last_uid=0, baseline_uid=baseline_uid)
    return Position(uidvalidity, 0, baseline_uid)


def handled(engine: Engine, mailbox: ImapMailbox, uid: int, *, ingested: bool, kept_aside: str | None = None) -> None:
    """``uid`` is done with (never fetched again under this UIDVALIDITY)."""
    values: dict[str, Any] = {"last_uid": uid, "checked_at": utcnow()}
    if ingested:
        values["ingested"] = TABLE.c.ingested + 1
    if kept_aside is not None:
        values["kept_aside"] = TABLE.c.kept_aside + 1
        values["last_kept_aside"] = kept_aside[:ERROR_CHARS]
    _ensure(engine, mailbox)
    with engine.begin() as connection:
        connection.execute(update(TABLE).where(TABLE.c.mailbox == mailbox.key, TABLE.c.last_uid < uid).values(**values))


def connected(engine: Engine, mailbox: ImapMailbox) -> None:
    now = utcnow()
    _update(engine, mailbox, connected_at=now, checked_at=now, last_error=None, last_error_at=None)


def checked(engine: Engine, mailbox: ImapMailbox) -> None:
    _update(engine, mailbox, checked_at=utcnow())


def failed(engine: Engine, mailbox: ImapMailbox, error: str) -> None:
    _update(engine, mailbox, last_error=error[:ERROR_CHARS], last_error_at=utcnow())


def status(engine: Engine, mailboxes: tuple[ImapMailbox, ...]) -> list[dict[str, Any]]:
    """One line of facts per configured mailbox, for an admin (never the password)."""
    with engine.connect() as connection:
        rows = {
            row.mailbox: dict(row._mapping)
            for row in connection.execute(select(TABLE).where(TABLE.c.mailbox.in_([box.key for box in mailboxes])))
        }
    report: list[dict[str, Any]] = []
    for box in mailboxes:
        row: dict[str, Any] = rows.get(box.key, {})
        report.append(
            {
                "address": box.address,
                "mailbox": box.key,
                "after_fetch": box.after_fetch if box.after_fetch == "seen" else f"move to {box.move_to}",
                "uidvalidity": row.get("uidvalidity"),
                "last_uid": row.get("last_uid", 0),
                "ingested": row.get("ingested", 0),
                "kept_aside": row.get("kept_aside", 0),
                "last_kept_aside": row.get("last_kept_aside"),
                "last_error": row.get("last_error"),
                "last_error_at": iso(row.get("last_error_at")),
                "connected_at": iso(row.get("connected_at")),
                "checked_at": iso(row.get("checked_at")),
            }
        )
    return report
