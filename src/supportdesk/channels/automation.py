"""Mail no person wrote: recognise it, never answer it automatically, cap what we send.

Two help desks answering each other's auto-replies can exchange thousands of mails an hour. So
a mail is *automated* when any of the usual markers says so (RFC 3834 ``Auto-Submitted`` other
than ``no``, ``Precedence: bulk|junk|list``, ``X-Autoreply``/``X-Autorespond``, an empty
Return-Path as bounces carry, a mailer-daemon or postmaster sender); automated mail never gets an
auto-reply, no address gets more than a few auto-replies per window whatever it sends, and all
addresses together get no more than a global cap per window.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from supportdesk.channels.settings import ChannelSettings
from supportdesk.store.models_channels import ChannelAutoReply

log = logging.getLogger(__name__)

#: The row counting every auto-reply of the window (``*`` is no address).
GLOBAL = "*"
_DAEMONS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})


def automation_markers(headers: Mapping[str, str], sender: str | None) -> list[str]:
    """Why a mail looks automated (empty when a person seems to have written it)."""
    reasons: list[str] = []
    submitted = headers.get("auto-submitted")
    if submitted is not None and submitted.split(";")[0].strip().lower() not in ("no", ""):
        reasons.append(f"Auto-Submitted: {submitted}")
    precedence = (headers.get("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        reasons.append(f"Precedence: {precedence}")
    for name in ("x-autoreply", "x-autorespond"):
        if name in headers:
            reasons.append(f"{'X-Autoreply' if name == 'x-autoreply' else 'X-Autorespond'} present")
    return_path = headers.get("return-path")
    if return_path is not None and re.fullmatch(r"\s*<?\s*>?\s*", return_path):
        reasons.append("empty Return-Path (a bounce)")
    if sender:
        local = sender.split("@", 1)[0].lower()
        if local in _DAEMONS:
            reasons.append(f"sent by {local}")
    return reasons


def take_auto_reply_slot(connection: Connection, address: str, settings: ChannelSettings, *, now: datetime) -> bool:
    """Count one auto-reply to ``address``; False when it would pass either cap of this window.

    Two caps: ``auto_reply_limit`` per address, and ``auto_reply_global_limit`` for all
    addresses together — forged senders by the thousand must not turn us into a backscatter
    source, whatever each one gets. Both are counted or neither (a savepoint), each with an
    atomic conditional update, so concurrent ingests on several processes never pass a cap.
    """
    window = timedelta(seconds=settings.auto_reply_window_seconds)
    savepoint = connection.begin_nested()
    if not _take(connection, GLOBAL, now=now, limit=settings.auto_reply_global_limit, window=window):
        savepoint.rollback()
        log.warning("auto-reply to %s not sent: the global cap of %d per window is reached", address,
                    settings.auto_reply_global_limit)  # fmt: skip
        return False
    if not _take(connection, address, now=now, limit=settings.auto_reply_limit, window=window):
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def _take(connection: Connection, key: str, *, now: datetime, limit: int, window: timedelta) -> bool:
    table = ChannelAutoReply.__table__  # type: ignore[attr-defined]
    if limit < 1:
        return False
    for _ in range(3):
        row = connection.execute(select(table).where(table.c.address == key)).mappings().first()
        if row is None:
            try:
                with connection.begin_nested():
                    connection.execute(insert(table).values(address=key, window_start=now, count=1))
                return True
            except IntegrityError:
                continue  # counted meanwhile by another process: read again
        if now - row["window_start"] >= window:
            restarted = connection.execute(
                update(table)
                .where(table.c.address == key, table.c.window_start == row["window_start"])
                .values(window_start=now, count=1)
            )
            if restarted.rowcount == 1:
                return True
            continue
        counted = connection.execute(
            update(table).where(table.c.address == key, table.c.count < limit).values(count=table.c.count + 1)
        )
        return counted.rowcount == 1
    return False
