"""Files through mail on a real server: a customer's attachment lands in the one blob store (and
the group may download it, no one else), an agent's file leaves as a MIME part of the reply."""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from supportdesk.store.blobs import AttachmentLimits
from supportdesk.store.times import utcnow
from supportdesk.sync.blob_cache import stage
from tests.channels.server_helpers import channel_server, wait_for

pytestmark = pytest.mark.integration

SCREENSHOT = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64 + b"error 0x80070005"


def mail_with_file() -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Example <alice@example.com>"
    message["To"] = "support@acme.test"
    message["Subject"] = "Export fails"
    message["Message-ID"] = "<files-1@example.com>"
    message["Date"] = format_datetime(utcnow())
    message.set_content("Screenshot attached.")
    # declared as a PDF, named with a path: the bytes are a PNG
    message.add_attachment(SCREENSHOT, maintype="application", subtype="pdf", filename="../../tmp/shot.pdf")
    return message.as_bytes()


def test_files_arrive_by_mail_and_leave_as_mime_parts(tmp_path: Path) -> None:
    with channel_server("sqlite", tmp_path) as running:
        deployment = running.deployment
        code, _ = running.smtp(mail_with_file(), "alice@example.com", ["support@acme.test"])
        assert code == 250
        sha = hashlib.sha256(SCREENSHOT).hexdigest()
        [row] = running.server_rows(
            "SELECT filename, content_type, sniffed_type FROM attachment WHERE sha256 = :s", s=sha
        )
        assert row == ("shot.pdf", "application/pdf", "image/png")
        with deployment.api("sam") as api:
            assert api.get(f"/v1/blobs/{sha}").content == SCREENSHOT
        with deployment.api("bea") as api:
            assert api.get(f"/v1/blobs/{sha}").status_code == 404
        wait_for(lambda: list(running.relay.received), "the auto-reply")
        sam = deployment.replica("sam")
        try:
            [(ticket_id,)] = sam.rows("SELECT id FROM ticket")
            source = tmp_path / "steps.txt"
            source.write_text("1. Open settings\n2. Turn it off and on\n")
            files = stage(sam.workspace, [source], AttachmentLimits())
            sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Try these steps.", "attachments": files})
            assert not sam.sync().refused
        finally:
            sam.close()
        replies = wait_for(
            lambda: [m for m in running.relay.received if m.message["Auto-Submitted"] is None], "the agent's reply"
        )
        message = replies[0].message
        parts = list(message.iter_attachments())
        assert [(p.get_filename(), p.get_content_type()) for p in parts] == [("steps.txt", "text/plain")]
        assert parts[0].get_content() == "1. Open settings\n2. Turn it off and on\n"
        assert message.get_body(("plain",)).get_content().startswith("Try these steps.")
