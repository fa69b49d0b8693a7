"""Which ticket an incoming mail belongs to, decided so that nobody can steer it elsewhere.

In order, first match wins:

1. **signed reference** — In-Reply-To or References names one of our Message-IDs and its HMAC
   checks out: the mail answers something we sent from that ticket.
2. **known reference** — it names the Message-ID of a mail we received earlier, and the sender
   is that ticket's requester (one of their addresses): a customer answering their own thread.
3. **subject tag** — the subject carries ``[#1042]``, the sender is ticket 1042's requester, and
   our own mail server verified the sender (:mod:`supportdesk.channels.sender_checks`).
4. **new** — a new ticket.

A reference shaped like ours with a wrong HMAC is a forgery and is recorded as such; a subject
tag naming somebody else's ticket is ignored and recorded. Neither ever joins a mail to a ticket
of another customer, nor to a ticket of an erased customer (their new mail is a new ticket, not
text for an anonymised one). Steps 2 and 3 trust the From address, which anyone can write: a mail
whose authentication failed (DMARC, DKIM or SPF ``fail``) may only be threaded by a signed
reference, and one that our server did not verify never joins a ticket by its subject tag alone —
a ticket number is no secret (it is in every subject we send), a Message-ID the customer's own
client made at least is not guessable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from supportdesk.channels import lookups
from supportdesk.channels.sender_checks import SenderAuth
from supportdesk.channels.signing import looks_like_ours, verify_message_id

SIGNED_REFERENCE = "signed-reference"
KNOWN_REFERENCE = "known-reference"
SUBJECT_TAG = "subject-tag"
NEW = "new"

_TAG = re.compile(r"\[#(\d{1,12})\]")


@dataclass
class ThreadDecision:
    ticket: dict[str, Any] | None
    method: str
    detail: str
    refused: list[str] = field(default_factory=list)

    def as_meta(self) -> dict[str, Any]:
        data: dict[str, Any] = {"method": self.method, "detail": self.detail}
        if self.refused:
            data["refused"] = self.refused
        return data


def subject_tag(subject: str) -> int | None:
    """The ticket number of the last ``[#N]`` tag in a subject."""
    tags = _TAG.findall(subject)
    return int(tags[-1]) if tags else None


def thread_mail(
    connection: Connection,
    *,
    secret: bytes,
    in_reply_to: list[str],
    references: list[str],
    subject: str,
    sender_customer_id: str | None,
    sender: SenderAuth = "unverified",
) -> ThreadDecision:
    refused: list[str] = []
    candidates = list(dict.fromkeys([*in_reply_to, *reversed(references)]))
    for ref in candidates:
        signed = verify_message_id(secret, ref)
        if signed is None:
            if looks_like_ours(ref):
                refused.append(f"forged reference {ref[:120]}: its signature is wrong")
            continue
        found = lookups.ticket(connection, signed.ticket_id)
        if found is not None and lookups.customer_erased(connection, found["requester_id"]):
            refused.append(f"reference {ref[:120]} names a ticket whose customer was erased: it starts a new one")
            continue
        if found is not None:
            return ThreadDecision(found, SIGNED_REFERENCE, f"answers our mail {ref}", refused)
        refused.append(f"reference {ref[:120]} names a ticket that no longer exists")

    if sender == "failed":
        refused.append("the sender's address failed authentication: only a signed reference could thread it")
        return ThreadDecision(None, NEW, "no signed reference, and the sender is not verified", refused)

    if sender_customer_id is not None:
        for ref, ticket_id in lookups.tickets_for_refs(connection, "email", candidates):
            found = lookups.ticket(connection, ticket_id)
            if found is not None and found["requester_id"] == sender_customer_id:
                return ThreadDecision(found, KNOWN_REFERENCE, f"answers the requester's earlier mail {ref}", refused)

    number = subject_tag(subject)
    if number is not None:
        found = lookups.ticket_by_number(connection, number)
        if found is None:
            refused.append(f"the subject names #{number}, which does not exist")
        elif sender_customer_id is None or found["requester_id"] != sender_customer_id:
            refused.append(f"the subject names #{number}, but the sender is not its requester")
        elif sender != "verified":
            refused.append(
                f"the subject names #{number}, but our mail server did not verify the sender: a tag alone joins nothing"
            )
        else:
            return ThreadDecision(found, SUBJECT_TAG, f"subject tag [#{number}] from the requester", refused)
    return ThreadDecision(None, NEW, "no reference or tag joined it to a ticket", refused)
