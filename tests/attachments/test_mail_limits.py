"""Inbound mail obeys ``[attachments] max_per_ticket``: the files past it are listed, not stored."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import text

from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings, MailLimits
from supportdesk.store.blobs import AttachmentLimits
from tests.channels.conftest import FIXTURES, applier, settings
from tests.conftest import Team

__all__ = ["applier", "settings"]


def test_files_past_the_per_ticket_limit_are_listed_not_stored(
    team: Team, settings: ChannelSettings, applier: Any
) -> None:
    limits = MailLimits.for_attachments(AttachmentLimits(max_per_ticket=2))
    outcome = MailIngest(team.workspace.engine, applier, replace(settings, limits=limits)).ingest(
        (FIXTURES / "attachment_names.eml").read_bytes()
    )
    with team.workspace.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT count(*) FROM attachment x JOIN message m ON m.id = x.message_id WHERE m.ticket_id = :t"),
            {"t": outcome.ticket_id},
        ).scalar()
        meta = connection.execute(
            text("SELECT meta FROM message WHERE ticket_id = :t"), {"t": outcome.ticket_id}
        ).scalar()
    assert stored == 2
    assert "the ticket holds 2 files already" in str(meta)
