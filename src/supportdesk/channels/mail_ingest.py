"""Inbound email: one raw mail in, one ticket created or one message appended, or a refusal.

The order matters: parse within limits; find the sender; claim the Message-ID (a redelivered mail
is recognised, even one that arrives while the first copy is still being handled); route by
recipient; thread (signed references, then the requester's own references, then the subject
tag); store the attachments by hash; then one mutation through the applier writes the message
with its attachments. Only a brand-new ticket from a person gets an auto-reply, within the
per-address cap.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import text

from supportdesk.channels import lookups
from supportdesk.channels.applier import ChannelIngest
from supportdesk.channels.attachments import store_bytes
from supportdesk.channels.automation import automation_markers, take_auto_reply_slot
from supportdesk.channels.errors import ChannelError, MailRejected
from supportdesk.channels.identities import ensure_customer
from supportdesk.channels.mail_parse import MailPart, ParsedMail, parse_mail, trim_references
from supportdesk.channels.mail_threading import ThreadDecision, thread_mail
from supportdesk.channels.outbound import has_auto_reply, queue_auto_reply
from supportdesk.channels.sender_checks import sender_auth, sender_record
from supportdesk.domain.errors import DomainError, ValidationFailed
from supportdesk.domain.identities import normalize_identity
from supportdesk.store.enums import Channel, IdentityKind
from supportdesk.store.file_types import HEAD_BYTES, sniff
from supportdesk.store.ids import uuid7
from supportdesk.store.times import iso

log = logging.getLogger(__name__)

AUTOMATED_TAG = "automated"
NO_TEXT = "(this mail has no text)"
NO_SUBJECT = "(no subject)"


@dataclass
class MailOutcome:
    """What became of one mail: ``created``, ``appended``, ``duplicate``, ``rejected`` or ``failed``."""

    status: str
    ticket_id: str | None = None
    message_id: str | None = None
    number: int | None = None
    threading: str | None = None
    automated: list[str] = field(default_factory=list)
    auto_reply: str | None = None
    defects: list[str] = field(default_factory=list)
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _address(value: str | None) -> str | None:
    if not value or not value.strip("<> "):
        return None
    try:
        return normalize_identity(IdentityKind.EMAIL, value.strip().strip("<>"))
    except ValidationFailed:
        return None


def _external_id(mail: ParsedMail, raw: bytes) -> str:
    """The Message-ID, or for a mail without one a hash of its bytes (still idempotent)."""
    if mail.message_id and len(mail.message_id) <= 400:
        return mail.message_id
    return "sha256:" + hashlib.sha256(mail.message_id.encode() if mail.message_id else raw).hexdigest()


class MailIngest(ChannelIngest):
    """Turns raw mails into mutations; the SMTP listener and ``POST /v1/channels/email`` share it."""

    def accepts(self, address: str) -> bool:
        """True when ``address`` is one of our groups' addresses (the SMTP listener's RCPT check)."""
        normalized = _address(address)
        if normalized is None:
            return False
        with self.engine.connect() as connection:
            return lookups.group_for_address(connection, normalized) is not None

    def ingest_all(self, mails: Iterable[bytes]) -> list[MailOutcome]:
        """Ingest several mails; each bad one becomes a ``rejected``/``failed`` outcome, never a stop."""
        outcomes: list[MailOutcome] = []
        for raw in mails:
            try:
                outcomes.append(self.ingest(raw))
            except (ChannelError, DomainError) as error:
                outcomes.append(MailOutcome(status="rejected", reason=str(error)))
            except Exception as error:
                log.exception("a mail could not be ingested")
                outcomes.append(MailOutcome(status="failed", reason=f"{type(error).__name__}: {error}"[:500]))
        return outcomes

    def ingest(
        self,
        raw: bytes,
        *,
        envelope_sender: str | None = None,
        recipients: list[str] | None = None,
    ) -> MailOutcome:
        """Ingest one mail; raises :class:`MailRejected` (or a DomainError) when it is refused."""
        now = self.clock()
        mail = parse_mail(raw, self.settings.limits)
        sender = mail.from_address or _address(envelope_sender)
        if sender is None:
            raise MailRejected("the mail has no valid sender address", field="from")
        markers = automation_markers(mail.headers, sender)
        external_id = _external_id(mail, raw)
        with self.engine.begin() as connection:
            claim = lookups.claim_message(connection, "email", sender, external_id, uuid7(), now)
        if claim.duplicate:
            return MailOutcome(
                status="duplicate",
                ticket_id=claim.ticket_id,
                message_id=claim.message_id,
                automated=markers,
                defects=mail.defects,
            )
        try:
            outcome = self._write(mail, sender, markers, claim.message_id, envelope_sender, recipients)
        except BaseException:
            with self.engine.begin() as connection:
                if not lookups.message_exists(connection, claim.message_id):
                    lookups.release_message(connection, "email", sender, external_id)
            raise
        with self.engine.begin() as connection:
            lookups.settle_message(connection, "email", sender, external_id, str(outcome.ticket_id))
            wants_auto_reply = outcome.status == "created" and not markers and self.settings.auto_reply
            # a routing rule may have answered already, in the write itself: one auto-reply is enough
            wants_auto_reply = wants_auto_reply and not has_auto_reply(connection, str(outcome.ticket_id))
            if wants_auto_reply and take_auto_reply_slot(connection, sender, self.settings, now=now):
                outcome.auto_reply = queue_auto_reply(
                    connection, str(outcome.ticket_id), claim.message_id, self.settings, now=now
                )
        return outcome

    def _recipients(self, mail: ParsedMail, recipients: list[str] | None) -> list[str]:
        given = recipients or [
            mail.headers.get("delivered-to", ""),
            mail.headers.get("x-original-to", ""),
            *mail.to,
            *mail.cc,
        ]
        return [address for address in (_address(value) for value in given) if address]

    def _write(
        self,
        mail: ParsedMail,
        sender: str,
        markers: list[str],
        message_id: str,
        envelope_sender: str | None,
        recipients: list[str] | None,
    ) -> MailOutcome:
        with self.engine.connect() as connection:
            routed = self._recipients(mail, recipients)
            group = lookups.route(connection, routed)
            sender_customer = lookups.customer_for_identity(connection, IdentityKind.EMAIL, sender)
            decision = thread_mail(
                connection,
                secret=self.settings.secret_bytes,
                in_reply_to=mail.in_reply_to,
                references=mail.references,
                subject=mail.subject,
                sender_customer_id=sender_customer,
                sender=sender_auth(mail, self.settings.authserv_ids),
            )
        parts = self._within_ticket_limit(mail, decision.ticket)
        attachments = [
            {
                "sha256": store_bytes(self.settings.attachments_dir, part.data).sha256,
                "filename": part.filename,
                "size": len(part.data),
                "content_type": part.content_type,
                "sniffed_type": sniff(part.data[:HEAD_BYTES], part.content_type, part.filename),
            }
            for part in parts
        ]
        meta = {"email": self._meta(mail, markers, decision, group, envelope_sender)}
        body = mail.text if mail.text.strip() else NO_TEXT
        common = {"message_id": message_id, "body": body, "channel": Channel.EMAIL.value, "meta": meta}
        if decision.ticket is not None:
            author = sender_customer or ensure_customer(
                self.engine, self.applier, IdentityKind.EMAIL, sender, mail.from_name
            )
            result = self.applier(
                "ticket.receive",
                {
                    **common,
                    "ticket_id": decision.ticket["id"],
                    "customer_id": author,
                    "attachments": attachments,
                    "reopen": not markers,
                },
            )
            status = "appended"
            if not result.get("follow_up"):
                result = {**result, "number": decision.ticket.get("number")}
        else:
            result = self.applier(
                "ticket.create",
                {
                    **common,
                    "subject": mail.subject or NO_SUBJECT,
                    "requester": {"kind": IdentityKind.EMAIL.value, "value": sender, "name": mail.from_name or None},
                    "group_id": group["id"] if group else None,
                    "tags": [AUTOMATED_TAG] if markers else [],
                    "attachments": attachments,
                },
            )
            status = "created"
        return MailOutcome(
            status=status,
            ticket_id=result["ticket_id"],
            message_id=message_id,
            number=result.get("number"),
            threading=decision.method,
            automated=markers,
            defects=mail.defects,
        )

    def _within_ticket_limit(self, mail: ParsedMail, ticket: dict[str, Any] | None) -> list[MailPart]:
        """The mail's files a ticket may still take (``[attachments] max_per_ticket``); the rest
        are listed in the message's ``skipped_attachments`` and never stored."""
        held = 0
        if ticket is not None:
            with self.engine.connect() as connection:
                held = int(
                    connection.execute(
                        text(
                            "SELECT count(*) FROM attachment x JOIN message m ON m.id = x.message_id "
                            "WHERE m.ticket_id = :t"
                        ),
                        {"t": ticket["id"]},
                    ).scalar()
                    or 0
                )
        room = max(0, self.settings.limits.max_per_ticket - held)
        for part in mail.attachments[room:]:
            mail.skipped_attachments.append(
                {
                    "filename": part.filename,
                    "size": len(part.data),
                    "reason": f"the ticket holds {self.settings.limits.max_per_ticket} files already",
                }
            )
        return mail.attachments[:room]

    def _meta(
        self,
        mail: ParsedMail,
        markers: list[str],
        decision: ThreadDecision,
        group: dict[str, Any] | None,
        envelope_sender: str | None,
    ) -> dict[str, Any]:
        return {
            "message_id": mail.message_id,
            "in_reply_to": mail.in_reply_to[:5],
            "references": trim_references(mail.references, 20),
            **sender_record(mail, self.settings.authserv_ids),
            "to": mail.to[:20],
            "cc": mail.cc[:20],
            "subject": mail.subject,
            "date": iso(mail.date),
            "routed_to": group["email"] if group else None,
            "envelope_from": _address(envelope_sender),
            "automated": markers,
            "html_only": mail.html_only,
            "defects": mail.defects,
            "skipped_attachments": mail.skipped_attachments,
            "threading": decision.as_meta(),
        }
