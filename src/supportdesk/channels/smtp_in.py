"""Receiving mail over SMTP with aiosmtpd: only for our groups' addresses, one ingest per mail.

RCPT TO for an address that is no group's is refused (550) before any data is sent, so the
listener is no open relay and no spam sink. DATA hands the bytes to :class:`MailIngest` in a
worker thread (ingest writes to the database; the event loop keeps serving other clients) and
answers with what became of the mail: 250 with the ticket number, 552 when it is too large, 550
when it is refused, 451 (try again later) when something on our side failed — the sending MTA
then retries, and the Message-ID claim makes the retry harmless.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiosmtpd.controller import Controller

from supportdesk.channels.errors import MailRejected, MailTooLarge
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.domain.errors import DomainError

log = logging.getLogger(__name__)

MAX_RECIPIENTS = 50


def _reply_text(text: str) -> str:
    """An SMTP reply line: printable ASCII only, no CR/LF, short."""
    return re.sub(r"[^\x20-\x7e]", "?", text)[:300]


class InboundMailHandler:
    """The aiosmtpd handler (``handle_RCPT`` and ``handle_DATA`` hooks)."""

    def __init__(self, ingest: MailIngest) -> None:
        self.ingest = ingest

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 too many recipients"
        accepted = await asyncio.get_running_loop().run_in_executor(None, self.ingest.accepts, address)
        if not accepted:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", errors="surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                None,
                lambda: self.ingest.ingest(raw, envelope_sender=envelope.mail_from, recipients=list(envelope.rcpt_tos)),
            )
        except MailTooLarge as error:
            return _refused(f"552 5.3.4 {_reply_text(str(error))}", len(raw))
        except (MailRejected, DomainError) as error:
            return _refused(f"550 5.6.0 {_reply_text(str(error))}", len(raw))
        except Exception:
            log.exception("ingesting a mail over SMTP failed")
            return _refused("451 4.3.0 the mail could not be stored; try again later", len(raw))
        where = f" ticket #{outcome.number}" if outcome.number else ""
        log.info("SMTP: mail accepted (%d bytes): %s%s", len(raw), outcome.status, where)
        return f"250 2.0.0 {outcome.status}{where}"


def _refused(reply: str, size: int) -> str:
    """Log a refusal at INFO (its SMTP reply, already plain ASCII; no address: a log is a copy
    that erasure cannot reach) and answer it."""
    log.info("SMTP: mail refused (%d bytes): %s", size, reply)
    return reply


def start_smtp_listener(
    ingest: MailIngest, *, host: str = "127.0.0.1", port: int = 2525, hostname: str | None = None
) -> Controller:
    """Start an SMTP listener in its own thread; call ``.stop()`` on the result to end it."""
    controller = Controller(
        InboundMailHandler(ingest),
        hostname=host,
        port=port,
        server_hostname=hostname,
        data_size_limit=ingest.settings.limits.max_bytes,
        decode_data=False,
    )
    controller.start()
    return controller
