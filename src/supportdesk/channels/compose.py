"""Outgoing mail: a reply or an auto-reply, with the headers that make threading work.

Every value that came from a customer or an agent and ends up in a header (subject, names,
references) has CR and LF removed first: a subject such as ``x\\r\\nBcc: evil`` stays one
header. Our Message-ID is signed (see :mod:`supportdesk.channels.signing`) so the customer's
answer finds its ticket again; In-Reply-To and References continue the customer's own thread.

In-Reply-To and References are lists of message ids, which mail clients match byte for byte. The
standard library treats them as free text and, once a chain gets long, RFC 2047-encodes it
(``=?utf-8?q?=3C…?=``), which no client decodes there: threading breaks. So we fold them ourselves,
between ids, never inside one, and hand them over raw; an id that is not plain printable ASCII
cannot be written there at all and is left out.
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
_PLAIN_ID = re.compile(r"^<[\x21-\x3b\x3d\x3f-\x7e]{1,400}>$")
#: Headers we fold ourselves stay as written (every other header is an object and folds itself).
_POLICY = policy.SMTP.clone(refold_source="none")
FOLD_AT = 78


def header_safe(value: str, *, cap: int = 900) -> str:
    """One header value: CR, LF and every other control character removed, length capped."""
    return _UNSAFE.sub(" ", value).strip()[:cap]


def fold_ids(name: str, ids: list[str]) -> str:
    """A message-id list header's value, folded between ids at 78 columns (CRLF + space)."""
    lines: list[str] = []
    current = ""
    width = len(name) + 2
    for message_id in ids:
        if current and width + len(current) + 1 + len(message_id) > FOLD_AT:
            lines.append(current)
            current, width = message_id, 1
        else:
            current = f"{current} {message_id}" if current else message_id
    lines.append(current)
    return "\r\n ".join(lines)


def plain_ids(values: list[str]) -> list[str]:
    """The ids among ``values`` that can stand in a header as they are (``<…>``, printable ASCII)."""
    return [value for value in (header_safe(v, cap=402) for v in values) if _PLAIN_ID.match(value)]


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
    #: The reply's files, sent as MIME parts after the text.
    files: list[MailFile] = field(default_factory=list)


@dataclass(frozen=True)
class MailFile:
    """One file of a reply: its cleaned name, the type it is sent as, and its bytes."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


def render(mail: OutgoingMail, *, secret: bytes, domain: str, now: datetime) -> tuple[str, bytes]:
    """The signed Message-ID and the mail as 7-bit RFC 5322 bytes (CRLF line ends)."""
    message = EmailMessage(policy=_POLICY)
    message_id = make_message_id(secret, domain, mail.ticket_id, mail.token)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(now)
    message["From"] = Address(display_name=header_safe(mail.from_name, cap=200), addr_spec=mail.from_address)
    message["To"] = Address(display_name=header_safe(mail.to_name, cap=200), addr_spec=mail.to_address)
    message["Subject"] = header_safe(mail.subject)
    references = list(dict.fromkeys(plain_ids([ref for ref in mail.references if ref])))
    if len(references) > MAX_REFERENCES:  # the thread's first id and the latest ones (RFC 5322 3.6.4)
        references = [references[0], *references[-(MAX_REFERENCES - 1) :]]
    in_reply_to = plain_ids([mail.in_reply_to] if mail.in_reply_to else [])
    if in_reply_to:
        message.set_raw("In-Reply-To", fold_ids("In-Reply-To", in_reply_to))
    if references:
        message.set_raw("References", fold_ids("References", references))
    if mail.auto_reply:
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
    body = mail.body.replace("\r\n", "\n").replace("\r", "\n")
    message.set_content(body, cte=None if body.isascii() else "quoted-printable")
    for file in mail.files:
        maintype, _, subtype = file.content_type.partition("/")
        if not maintype or not subtype or maintype in ("multipart", "message"):
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            file.data, maintype=maintype, subtype=subtype, filename=header_safe(file.filename, cap=200)
        )
    return message_id, message.as_bytes()
