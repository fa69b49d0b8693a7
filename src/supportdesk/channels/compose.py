"""Outgoing mail: a reply or an auto-reply, with the headers that make threading work.

Every value that came from a customer or an agent and ends up in a header (subject, names,
references) has CR and LF removed first: a subject such as ``x\\r\\nBcc: evil`` stays one
header. Our Message-ID is signed (see :mod:`supportdesk.channels.signing`) so the customer's
answer finds its ticket again; In-Reply-To and References continue the customer's own thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from supportdesk.channels.signing import make_message_id

MAX_REFERENCES = 20
_PREFIX = re.compile(r"^\s*((re|aw|sv|fw|fwd|wg|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_TAG = re.compile(r"\s*\[#\d{1,12}\]")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def header_safe(value: str, *, cap: int = 900) -> str:
    """One header value: CR, LF and every other control character removed, length capped."""
    return _UNSAFE.sub(" ", value).strip()[:cap]


def reply_subject(subject: str, number: int | None) -> str:
    """``Re: <subject> [#1042]`` without piling up prefixes or tags."""
    base = _TAG.sub("", _PREFIX.sub("", header_safe(subject))).strip() or "Your request"
    tag = f" [#{number}]" if number is not None else ""
    return f"Re: {base}{tag}"


@dataclass
class OutgoingMail:
    """What a mail says; :func:`render` turns it into bytes that never change afterwards."""

    ticket_id: str
    token: str
    from_address: str
    from_name: str
    to_address: str
    to_name: str
    subject: str
    body: str
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    auto_reply: bool = False


def render(mail: OutgoingMail, *, secret: bytes, domain: str, now: datetime) -> tuple[str, bytes]:
    """The signed Message-ID and the mail as 7-bit RFC 5322 bytes (CRLF line ends)."""
    message = EmailMessage(policy=policy.SMTP)
    message_id = make_message_id(secret, domain, mail.ticket_id, mail.token)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(now)
    message["From"] = Address(display_name=header_safe(mail.from_name, cap=200), addr_spec=mail.from_address)
    message["To"] = Address(display_name=header_safe(mail.to_name, cap=200), addr_spec=mail.to_address)
    message["Subject"] = header_safe(mail.subject)
    references = [header_safe(ref, cap=400) for ref in mail.references if ref][-MAX_REFERENCES:]
    if mail.in_reply_to:
        message["In-Reply-To"] = header_safe(mail.in_reply_to, cap=400)
    if references:
        message["References"] = " ".join(references)
    if mail.auto_reply:
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    body = mail.body.replace("\r\n", "\n").replace("\r", "\n")
    message.set_content(body, cte=None if body.isascii() else "quoted-printable")
    return message_id, message.as_bytes()
