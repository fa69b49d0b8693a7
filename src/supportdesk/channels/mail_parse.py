"""Read one raw RFC 822 mail into what the ingest needs, within limits, never trusting it.

The standard library's ``email`` package (``policy.default``) does the parsing. Around it: a
size limit before anything is parsed; a walk over the MIME tree that stops at a number of parts
and a nesting depth; text decoded by hand so an unknown or lying charset falls back to UTF-8 with
replacement characters and a recorded defect instead of an exception; every header read on its
own so one malformed header costs only itself. Nothing here raises for bad content except
:class:`MailTooLarge`: whatever could not be read is listed in :attr:`ParsedMail.defects`.
"""

from __future__ import annotations

import codecs
import email
import re
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from typing import Any

from supportdesk.channels.attachments import sanitize_filename
from supportdesk.channels.errors import MailTooLarge
from supportdesk.channels.html_text import html_to_text
from supportdesk.channels.settings import MailLimits
from supportdesk.domain.errors import ValidationFailed
from supportdesk.domain.identities import normalize_identity
from supportdesk.domain.text_safety import sanitize_line
from supportdesk.store.enums import IdentityKind

MAX_DEFECTS = 30
MAX_REFERENCES = 50
MAX_AUTH_RESULTS = 20
#: Headers kept verbatim (sanitized) for the automation and spoofing checks and for the record.
KEPT_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "return-path",
    "list-id",
    "delivered-to",
    "x-original-to",
)
_MSG_ID = re.compile(r"<([^<>\s]{1,400})>")
_ADDRESS = re.compile(r"[^\s<>\"'(),;:@]+@[^\s<>\"'(),;:@]+\.[^\s<>\"'(),;:@]+")


@dataclass
class MailPart:
    """An attachment as it came: the name is already sanitized, the bytes are untouched."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    message_id: str | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    from_address: str | None = None
    from_name: str = ""
    reply_to: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    html_only: bool = False
    attachments: list[MailPart] = field(default_factory=list)
    skipped_attachments: list[dict[str, Any]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    #: Every Authentication-Results header, topmost (added last, by the nearest server) first.
    authentication_results: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    size: int = 0

    def defect(self, text: str) -> None:
        if text not in self.defects and len(self.defects) < MAX_DEFECTS:
            self.defects.append(text)


def parse_mail(raw: bytes, limits: MailLimits = MailLimits()) -> ParsedMail:
    """Parse ``raw``; raises :class:`MailTooLarge` past ``limits.max_bytes``, nothing else."""
    if len(raw) > limits.max_bytes:
        raise MailTooLarge(
            f"the mail is {len(raw):,} bytes; at most {limits.max_bytes:,} are accepted",
            field="size",
        )
    parsed = ParsedMail(size=len(raw))
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
    except Exception as error:  # the parser is lenient; this is a last line of defence
        parsed.defect(f"unparseable mail: {type(error).__name__}")
        parsed.text = raw[: limits.max_text_chars].decode("utf-8", errors="replace")
        return parsed
    _read_headers(message, parsed)
    _read_body(message, parsed, limits)
    _record_defects(message, parsed)
    return parsed


# --- headers ------------------------------------------------------------------------------------


def header_text(message: Message, name: str, parsed: ParsedMail | None = None) -> str | None:
    """One header decoded, or its raw text when decoding fails (the failure is a defect)."""
    try:
        value = message.get(name)
        return None if value is None else str(value)
    except Exception as error:
        if parsed is not None:
            parsed.defect(f"header {name} could not be decoded ({type(error).__name__})")
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                return str(raw)
        return None


def _addresses(message: Message, name: str, parsed: ParsedMail) -> list[tuple[str, str]]:
    """(display name, normalised address) pairs of an address header; invalid ones dropped."""
    found: list[tuple[str, str]] = []
    try:
        header = message.get(name)
        if header is None:
            return []
        candidates = [(a.display_name or "", f"{a.username}@{a.domain}") for a in getattr(header, "addresses", ())]
    except Exception as error:
        parsed.defect(f"header {name} could not be decoded ({type(error).__name__})")
        raw = header_text(message, name) or ""
        candidates = [("", match) for match in _ADDRESS.findall(raw)]
    for display, address in candidates:
        try:
            found.append((sanitize_line(display, cap=200), normalize_identity(IdentityKind.EMAIL, address)))
        except ValidationFailed:
            parsed.defect(f"header {name} holds an address that is not valid")
    return found


def message_ids(text: str | None) -> list[str]:
    """The ``<id>`` tokens of a Message-ID, In-Reply-To or References header, in order, unique."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for match in _MSG_ID.findall(text):
        seen[f"<{match}>"] = None
    return list(seen)


def trim_references(ids: list[str], keep: int) -> list[str]:
    """At most ``keep`` ids: the thread's first and the latest (RFC 5322 3.6.4)."""
    return ids if len(ids) <= keep else [ids[0], *ids[-(keep - 1) :]]


def _read_headers(message: Message, parsed: ParsedMail) -> None:
    ids = message_ids(header_text(message, "message-id", parsed))
    parsed.message_id = sanitize_line(ids[0], redact=False) if ids else None
    parsed.in_reply_to = message_ids(header_text(message, "in-reply-to", parsed))[:MAX_REFERENCES]
    parsed.references = trim_references(message_ids(header_text(message, "references", parsed)), MAX_REFERENCES)
    senders = _addresses(message, "from", parsed)
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    if len(senders) > 1:
        parsed.defect("From names more than one address; the first is the sender")
    parsed.reply_to = [address for _, address in _addresses(message, "reply-to", parsed)]
    parsed.to = [address for _, address in _addresses(message, "to", parsed)]
    parsed.cc = [address for _, address in _addresses(message, "cc", parsed)]
    parsed.subject = sanitize_line(header_text(message, "subject", parsed) or "", cap=998)
    try:
        date = message.get("date")
        when = getattr(date, "datetime", None)
        parsed.date = when if isinstance(when, datetime) and when.tzinfo is not None else None
    except Exception:
        parsed.defect("the Date header could not be read")
    for name in KEPT_HEADERS:
        value = header_text(message, name, parsed)
        if value is not None:
            parsed.headers[name] = sanitize_line(value, cap=998, redact=False)
    for _key, raw in [item for item in message.raw_items() if item[0].lower() == "authentication-results"][
        :MAX_AUTH_RESULTS
    ]:
        parsed.authentication_results.append(sanitize_line(str(raw), cap=2000, redact=False))


# --- body and attachments -----------------------------------------------------------------------


def _decode_text(part: Message, parsed: ParsedMail) -> str:
    try:
        payload = part.get_payload(decode=True)
    except Exception as error:
        parsed.defect(f"a text part could not be decoded ({type(error).__name__})")
        return ""
    if not isinstance(payload, bytes):
        return ""
    declared = (part.get_content_charset() or "us-ascii").strip().lower()
    try:
        codec = codecs.lookup(declared).name
    except (LookupError, ValueError):
        parsed.defect(f"unknown charset {sanitize_line(declared, cap=60)!r}: read as UTF-8")
        return payload.decode("utf-8", errors="replace")
    try:
        return payload.decode(codec)
    except UnicodeDecodeError:
        pass
    if codec == "ascii":
        try:
            return payload.decode("utf-8")
        except UnicodeDecodeError:
            pass
    parsed.defect(f"text that is not valid {codec}: unreadable bytes replaced")
    return payload.decode(codec, errors="replace")


def _attachment(part: Message, parsed: ParsedMail, limits: MailLimits, stored: int) -> int:
    """Keep one attachment if it fits; returns the bytes kept so far."""
    try:
        name = part.get_filename()
    except Exception:
        name = None
        parsed.defect("an attachment name could not be decoded")
    content_type = part.get_content_type()
    filename = sanitize_filename(name, fallback="forwarded.eml" if content_type == "message/rfc822" else "attachment")
    try:
        if content_type == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            data = inner.as_bytes(policy=policy.default) if isinstance(inner, Message) else b""
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
    except Exception as error:
        parsed.defect(f"attachment {filename} could not be decoded ({type(error).__name__})")
        return stored
    reason = None
    if len(parsed.attachments) >= limits.max_attachments:
        reason = f"the mail has more than {limits.max_attachments} attachments"
    elif len(data) > limits.max_attachment_bytes:
        reason = f"larger than {limits.max_attachment_bytes:,} bytes"
    elif stored + len(data) > limits.max_total_attachment_bytes:
        reason = f"the mail's attachments pass {limits.max_total_attachment_bytes:,} bytes"
    if reason:
        parsed.skipped_attachments.append({"filename": filename, "size": len(data), "reason": reason})
        return stored
    parsed.attachments.append(MailPart(filename=filename, content_type=content_type, data=data))
    return stored + len(data)


def _is_body(part: Message) -> bool:
    if part.get_content_type() not in ("text/plain", "text/html"):
        return False
    if part.get_content_disposition() == "attachment":
        return False
    try:
        return part.get_filename() is None
    except Exception:
        return False


def _read_body(message: Message, parsed: ParsedMail, limits: MailLimits) -> None:
    plain: list[str] = []
    html: list[str] = []
    stored = 0
    seen = 0
    stack: list[tuple[Message, int]] = [(message, 0)]
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            parsed.defect(f"more than {limits.max_parts} MIME parts: the rest were ignored")
            break
        if part.get_content_type() == "message/rfc822" and depth > 0:
            stored = _attachment(part, parsed, limits, stored)
            continue
        if part.is_multipart():
            if depth >= limits.max_depth:
                parsed.defect(f"MIME parts nested deeper than {limits.max_depth} levels were ignored")
                continue
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((child, depth + 1) for child in reversed(children) if isinstance(child, Message))
            continue
        if _is_body(part):
            target = plain if part.get_content_type() == "text/plain" else html
            if sum(len(t) for t in target) < limits.max_text_chars:
                target.append(_decode_text(part, parsed).replace("\r\n", "\n").replace("\r", "\n"))
            continue
        stored = _attachment(part, parsed, limits, stored)
    text = "\n\n".join(t.strip("\n") for t in plain if t.strip())
    if not text and html:
        parsed.html_only = True
        markup = "\n".join(html)
        cap = limits.max_text_chars * 10
        if len(markup) > cap:
            parsed.defect(f"the HTML body was cut at {cap:,} characters")
            markup = markup[:cap]
        text = html_to_text(markup)
    if len(text) > limits.max_text_chars:
        parsed.defect(f"the text was cut at {limits.max_text_chars:,} characters")
        text = text[: limits.max_text_chars]
    parsed.text = text


def _record_defects(message: Message, parsed: ParsedMail) -> None:
    stack: list[tuple[Message, int]] = [(message, 0)]
    seen = 0
    while stack and seen < 500:
        part, depth = stack.pop()
        seen += 1
        for defect in getattr(part, "defects", ()):
            parsed.defect(type(defect).__name__)
        if part.is_multipart() and depth < 50:
            children = part.get_payload()
            if isinstance(children, list):
                stack.extend((child, depth + 1) for child in children if isinstance(child, Message))
