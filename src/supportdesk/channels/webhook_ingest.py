"""What every webhook channel shares: verify the signature, claim each outside message once, keep
one ticket per outside conversation, and write through the applier.

The channels themselves (chat, web form, social, SMS …) live in :mod:`supportdesk.channels.webhooks`,
one module each; :meth:`WebhookIngest.handle` looks the channel up there by name. A channel's
``ingest`` calls :meth:`WebhookIngest.add` once per outside message, with two callables: one
that opens the conversation's ticket and one that appends to it. ``add`` makes that idempotent
(a line seen before is counted as a duplicate), race-free (two deliveries of a conversation's
first lines race for one conversation row, not for two tickets) and follows a closed ticket to
its follow-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from supportdesk.channels import lookups
from supportdesk.channels.applier import ChannelIngest
from supportdesk.channels.errors import ChannelError, PayloadInvalid
from supportdesk.channels.identities import ensure_customer, find_customer
from supportdesk.channels.signing import verify_webhook
from supportdesk.channels.webhooks.base import (
    MAX_BODY_BYTES,
    RECEIVED_FROM_CHANNEL,
    WebhookOutcome,
    parse_payload,
)
from supportdesk.store.enums import IdentityKind
from supportdesk.store.ids import uuid7

if TYPE_CHECKING:
    from supportdesk.channels.webhook_files import WebhookFile

__all__ = [
    "MAX_BODY_BYTES",
    "RECEIVED_FROM_CHANNEL",
    "WebhookIngest",
    "WebhookOutcome",
    "parse_payload",
]


class WebhookIngest(ChannelIngest):
    def handle(self, channel: str, body: bytes, headers: Mapping[str, str]) -> WebhookOutcome:
        """Verify the signature of a posted body and ingest it; raises :class:`ChannelError`."""
        from supportdesk.channels.webhooks import get, names

        plugin = get(channel)
        if plugin is None:
            raise PayloadInvalid(
                f"no webhook channel {channel[:40]!r}; the channels are {', '.join(names())}", field="channel"
            )
        hook = self.settings.webhook(channel)
        if hook is None:
            raise ChannelError(f"the {channel} channel is not configured on this server", field="channel")
        verify_webhook(
            hook.secret,
            headers,
            body,
            tolerance_seconds=self.settings.signature_tolerance_seconds,
            now=self.clock().timestamp(),
        )
        return plugin.ingest(self, plugin.parse(body, max(MAX_BODY_BYTES, self.settings.limits.max_bytes)))

    # --- for the channels -----------------------------------------------------------------------

    def ensure_customer(self, kind: IdentityKind, value: str, name: str | None) -> str:
        """The customer owning an address, created when nobody does yet."""
        return ensure_customer(self.engine, self.applier, kind, value, name)

    def find_customer(self, kind: IdentityKind, value: str) -> str | None:
        return find_customer(self.engine, kind, value)

    def files(self, ticket_id: str, files: list[WebhookFile]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """A message's files into the blob store (:mod:`supportdesk.channels.webhook_files`)."""
        from supportdesk.channels.webhook_files import take_files

        return take_files(self.engine, self.settings.limits, self.settings.attachments_dir, ticket_id, files)

    def add(
        self,
        *,
        channel: str,
        conversation: str,
        line_id: str,
        create: Callable[[str, str], dict[str, Any]],
        append: Callable[[str, str], dict[str, Any]],
        outcome: WebhookOutcome,
    ) -> None:
        """Claim one outside message, then create the conversation's ticket or append to it.

        ``create(ticket_id, message_id)`` and ``append(ticket_id, message_id)`` run one mutation
        each and return its result (with ``ticket_id``, which may be a follow-up's).
        """
        claim = self._claim_line(channel, conversation, line_id)
        if claim.duplicate:
            outcome.duplicates += 1
            outcome.ticket_id = outcome.ticket_id or claim.ticket_id
            return
        ticket_id, must_create = self._open_conversation(channel, conversation)
        try:
            if must_create:
                try:
                    result = create(ticket_id, claim.message_id)
                except BaseException:
                    with self.engine.begin() as connection:
                        lookups.release_conversation(connection, channel, conversation, ticket_id)
                    raise
                outcome.created = True
            else:
                result = append(ticket_id, claim.message_id)
        except BaseException:
            self._release(channel, conversation, line_id, claim.message_id)
            raise
        if result["ticket_id"] != ticket_id:
            with self.engine.begin() as connection:
                lookups.move_conversation(connection, channel, conversation, result["ticket_id"], self.clock())
        self._settle(channel, conversation, line_id, result["ticket_id"])
        outcome.ticket_id = result["ticket_id"]
        outcome.number = result.get("number", outcome.number)
        outcome.added.append(claim.message_id)

    # --- bookkeeping ----------------------------------------------------------------------------

    def _claim_line(self, channel: str, scope: str, external_id: str) -> lookups.Claim:
        with self.engine.begin() as connection:
            return lookups.claim_message(connection, channel, scope, external_id, uuid7(), self.clock())

    def _settle(self, channel: str, scope: str, external_id: str, ticket_id: str) -> None:
        with self.engine.begin() as connection:
            lookups.settle_message(connection, channel, scope, external_id, ticket_id)

    def _release(self, channel: str, scope: str, external_id: str, message_id: str) -> None:
        with self.engine.begin() as connection:
            if not lookups.message_exists(connection, message_id):
                lookups.release_message(connection, channel, scope, external_id)

    def _open_conversation(self, channel: str, external_id: str) -> tuple[str, bool]:
        """The conversation's ticket id, and whether this call must create the ticket."""
        planned = uuid7()
        with self.engine.begin() as connection:
            existing = lookups.conversation_ticket(connection, channel, external_id)
            if existing is not None:
                return existing, False
            ticket_id = lookups.claim_conversation(connection, channel, external_id, planned, self.clock())
        return ticket_id, ticket_id == planned
