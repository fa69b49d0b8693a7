"""Everything the team server runs for the channels, started and stopped as one.

The server hands over its database engine, its own applier (its server-side write path) and the
settings; it then routes ``POST /v1/channels/email`` to :attr:`ChannelService.mail` and
``/<channel>`` (every registered webhook channel) to :attr:`ChannelService.webhooks`, and after each write transaction
that added messages calls :func:`supportdesk.channels.outbound.queue_replies` on the same
connection. :meth:`start` starts the SMTP listener (when a port is given) and the outbox worker
thread (mail through the relay when one is configured, webhook replies through httpx), and one
fetcher thread per ``[[channels.imap]]`` mailbox (:mod:`supportdesk.channels.imap_fetch`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

from supportdesk.channels.applier import Applier
from supportdesk.channels.delivery import OutboxWorker, Sender
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings
from supportdesk.channels.webhook_ingest import WebhookIngest

log = logging.getLogger(__name__)


class ChannelService:
    def __init__(self, engine: Engine, applier: Applier, settings: ChannelSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.mail = MailIngest(engine, applier, settings)
        self.webhooks = WebhookIngest(engine, applier, settings)
        self.worker: OutboxWorker | None = None
        self._listener: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._opened: list[Any] = []
        self._imap: Any = None

    def senders(self) -> dict[str, Sender]:
        """One sender per channel that has somewhere to deliver."""
        senders: dict[str, Sender] = {}
        if self.settings.relay is not None:
            from supportdesk.channels.smtp_out import SmtpSender

            senders["email"] = SmtpSender(self.settings.relay, login_without_tls=self.settings.relay_login_without_tls)
        from supportdesk.channels.webhooks import CHANNELS

        for channel in CHANNELS:
            hook = self.settings.webhook(channel.name)
            if hook is not None and hook.outbound_url:
                senders[channel.name] = sender = channel.make_sender(self.settings)
                self._opened.append(sender)
        return senders

    def start(
        self,
        *,
        smtp_host: str = "127.0.0.1",
        smtp_port: int | None = None,
        interval: float = 2.0,
        receivers: bool = True,
    ) -> None:
        """Start the outbox worker and, with ``receivers``, the SMTP listener and IMAP fetchers
        (a server with several processes starts those in one of them: :meth:`start_receivers`)."""
        if not self.settings.authserv_ids:
            log.warning(
                "[channels] authserv_id is not set: no Authentication-Results header is believed, so no sender "
                "is verified and no mail joins a ticket by its subject tag alone"
            )
        if self.settings.relay is not None and self.settings.relay.username and self.settings.relay_login_without_tls:
            log.warning("[channels] relay_login_without_tls is on: the relay's password may cross the network in clear")
        if receivers:
            self.start_receivers(smtp_host=smtp_host, smtp_port=smtp_port)
        senders = self.senders()
        if senders:
            self.worker = OutboxWorker(self.engine, senders)
            self._stop.clear()
            self._thread = threading.Thread(
                target=self.worker.run, args=(self._stop,), kwargs={"interval": interval}, daemon=True
            )
            self._thread.start()

    def start_receivers(self, *, smtp_host: str = "127.0.0.1", smtp_port: int | None = None) -> None:
        """The SMTP listener (when a port is given) and one IMAP fetcher per mailbox."""
        if smtp_port is not None:
            from supportdesk.channels.smtp_in import start_smtp_listener

            self._listener = start_smtp_listener(self.mail, host=smtp_host, port=smtp_port)
        if self.settings.imap:
            from supportdesk.channels.imap_fetch import ImapFetchers

            self._imap = ImapFetchers(self.settings.imap, self.mail)
            self._imap.start()

    def stop_receivers(self) -> None:
        if self._imap is not None:
            self._imap.stop()
            self._imap = None
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def stop(self) -> None:
        self._stop.set()
        if self._imap is not None:
            self._imap.stop()
            self._imap = None
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.stop_receivers()
        for sender in self._opened:
            close = getattr(sender, "close", None)
            if close is not None:
                close()
        self._opened.clear()
