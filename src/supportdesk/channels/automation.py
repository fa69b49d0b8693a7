"""Mail no person wrote: recognise it, never answer it automatically, cap what we send.

Two help desks answering each other's auto-replies can exchange thousands of mails an hour. So
a mail is *automated* when any of the usual markers says so (RFC 3834 ``Auto-Submitted`` other
than ``no``, ``Precedence: bulk|junk|list``, ``X-Autoreply``/``X-Autorespond``, an empty
Return-Path as bounces carry, a mailer-daemon or postmaster sender); automated mail never gets an
auto-reply, and no address gets more than a few auto-replies per window whatever it sends.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from supportdesk.store.models_channels import ChannelAutoReply

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


def take_auto_reply_slot(
    connection: Connection,
    address: str,
    *,
    now: datetime,
    limit: int,
    window_seconds: int,
) -> bool:
    """Count one auto-reply to ``address``; False when it already had ``limit`` in this window."""
    table = ChannelAutoReply.__table__  # type: ignore[attr-defined]
    row = connection.execute(select(table).where(table.c.address == address)).mappings().first()
    if row is None:
        if limit < 1:
            return False
        connection.execute(insert(table).values(address=address, window_start=now, count=1))
        return True
    if now - row["window_start"] >= timedelta(seconds=window_seconds):
        connection.execute(update(table).where(table.c.address == address).values(window_start=now, count=1))
        return limit >= 1
    if row["count"] >= limit:
        return False
    counted = connection.execute(
        update(table).where(table.c.address == address, table.c.count == row["count"]).values(count=table.c.count + 1)
    )
    return counted.rowcount == 1
