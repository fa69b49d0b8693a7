"""The channels on the team server: mail and webhooks in, agents' replies out.

With a ``[channels]`` table in the config file, ``supportdesk serve``

- answers ``POST /v1/channels/email`` (one raw RFC 822 mail, from an MTA pipe or a mail
  provider's inbound webhook) for an admin's API token or the table's ``email_token``, and
  ``POST /v1/channels/<name>`` for every webhook channel registered in
  :mod:`supportdesk.channels.webhooks` (chat, webform, social, sms …), whose bodies are signed
  with the channel's secret;
- runs the SMTP listener (``--smtp-port``) and the outbox worker (when a relay or an outbound
  URL is configured) for as long as the server runs;
- queues, inside the transaction of every write it applies, the public replies that write added
  (:meth:`ServerChannels.after_write`), so a reply is queued exactly when it exists, once.

:func:`install` plugs all of this into one app: its router, its worker and its after-write hook
go to that app's state, nowhere else. Without the table the endpoints answer 404 and nothing else
changes.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the endpoints' annotations.

import hashlib
import hmac
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from supportdesk.channels.errors import ChannelError
from supportdesk.channels.service import ChannelService
from supportdesk.channels.settings import ChannelSettings
from supportdesk.config import ConfigError
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.mutations.privacy import ERASE
from supportdesk.server.apply import Applied
from supportdesk.server.auth import current_actor, token_allows
from supportdesk.server.blobs import BlobOptions
from supportdesk.server.db import ServerDatabase, normalize_url
from supportdesk.server.erasure import remove_unused_files
from supportdesk.server.errors import ApiError
from supportdesk.server.handlers import ORJSONResponse
from supportdesk.server.state import ServerState, server_state
from supportdesk.store.private_files import private_dir

log = logging.getLogger(__name__)

EMAIL_PATH = "/v1/channels/email"
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class ChannelOptions:
    """What ``supportdesk serve`` runs for the channels: settings, endpoint token, listener."""

    settings: ChannelSettings
    email_token: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int | None = None
    interval: float = 2.0


def attachments_dir(section: dict[str, Any], db: str | None) -> Path:
    """``[channels] attachments_dir``, else a folder beside a SQLite database.

    PostgreSQL servers must name one: several processes on several machines have to share it.
    """
    configured = section.get("attachments_dir")
    if configured is not None:
        if not isinstance(configured, str) or not configured.strip():
            raise ConfigError("[channels] attachments_dir must be a folder path")
        return Path(configured).expanduser()
    url = normalize_url(db)
    if url.startswith("sqlite:///") and not url.endswith(":memory:"):
        database = Path(url.removeprefix("sqlite:///"))
        return database.parent / f"{database.stem}-attachments"
    raise ConfigError("[channels] attachments_dir is needed with PostgreSQL: a folder every server process can reach")


def channel_options(
    section: dict[str, Any],
    *,
    db: str | None,
    relay: str | None = None,
    smtp_host: str = "127.0.0.1",
    smtp_port: int | None = None,
    interval: float = 2.0,
    blobs: BlobOptions | None = None,
    check_port: bool = True,
) -> ChannelOptions | None:
    """The channels ``serve`` runs, from ``[channels]`` and its flags; None when there is no table.

    ``check_port`` False skips the probe of the SMTP port: a worker of ``serve --workers N``
    (whose parent probed it) would find it taken by the worker that leads.

    ``blobs`` (``[attachments]``) gives inbound files the one store every attachment lives in,
    and its limits per file and per message.
    """
    if not section:
        if relay or smtp_port is not None:
            raise ConfigError("--smtp-port and --relay need a [channels] table with a secret in the config file")
        return None
    if relay:
        section = {**section, "relay": relay}
    if blobs is not None and blobs.root is not None:
        settings = ChannelSettings.from_section(section, attachments_dir=blobs.root, limits=blobs.limits)
    else:
        settings = ChannelSettings.from_section(section, attachments_dir=attachments_dir(section, db))
    token = section.get("email_token")
    if token is not None and (not isinstance(token, str) or len(token) < MIN_TOKEN_CHARS):
        raise ConfigError(f"[channels] email_token must be a string of at least {MIN_TOKEN_CHARS} characters")
    if smtp_port is not None and check_port:
        _check_can_listen(smtp_host, smtp_port)
    return ChannelOptions(settings, token, smtp_host, smtp_port, interval)


class ListenError(Exception):
    """The SMTP listener cannot take its port; the message says why."""


def _check_can_listen(host: str, port: int) -> None:
    """Refuse at start-up, in one line, a port the SMTP listener could not take."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise ListenError(f"cannot receive SMTP on {host}:{port}: {error.strerror or error}") from None


def _same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(hashlib.sha256(given.encode()).digest(), hashlib.sha256(expected.encode()).digest())


def channel_error(error: ChannelError) -> Response:
    return ORJSONResponse({"error": error.as_dict()}, status_code=error.status)


class ServerChannels:
    """The channels of one server app: its service, its worker and its after-write hook."""

    def __init__(self, options: ChannelOptions | None) -> None:
        self.options = options
        self.service: ChannelService | None = None

    def _service(self, state: ServerState) -> ChannelService:
        if self.options is None:
            raise ApiError(
                404, "not_configured", "the channels are not configured on this server ([channels] in its config)"
            )
        if self.service is None:

            def apply(name: str, args: dict[str, Any]) -> dict[str, Any]:
                return state.apply_as(SYSTEM, name, args)[0]

            self.service = ChannelService(state.database.engine, apply, self.options.settings)
        return self.service

    def after_write(self, connection: Connection, applied: Applied) -> None:
        """Queue the replies, auto-replies and survey links a write produced, in its transaction.

        A database error fails the write (the client pushes again); a fault in our own rendering
        is logged and the write stands, so one odd ticket never jams an agent's outbox.
        """
        from supportdesk.channels.outbound import queue_replies, queue_survey
        from supportdesk.store.times import utcnow

        messages = applied.inserted_ids("message")
        surveys = applied.inserted_ids("survey")
        if not (messages or surveys) or self.options is None:
            return
        try:
            with connection.begin_nested():
                now = utcnow()
                queue_replies(connection, messages, self.options.settings, now=now)
                for survey_id in surveys:
                    queue_survey(connection, survey_id, self.options.settings, now=now)
        except SQLAlchemyError:
            raise
        except Exception:
            log.exception("queueing the replies among messages %s failed; they will not be sent", messages)

    def after_commit(self, database: ServerDatabase, applied: Applied) -> None:
        """After an erasure commits: remove the attachment files no row names any more."""
        if applied.name != ERASE or self.options is None:
            return
        try:
            remove_unused_files(database, self.options.settings.attachments_dir, applied.result.get("files", []))
        except (OSError, SQLAlchemyError):
            log.exception("removing the files of an erasure failed; 'supportdesk server compact' does not retry it")

    def worker(self, state: ServerState) -> Callable[[], None]:
        """Start the outbox worker, and the SMTP listener and IMAP fetchers — on PostgreSQL in the
        one process that holds the receivers' lock (:mod:`.leader`); returns what stops them."""
        if self.options is None:
            return lambda: None
        service = self._service(state)
        options = self.options
        if not state.database.is_postgres or (options.smtp_port is None and not options.settings.imap):
            service.start(smtp_host=options.smtp_host, smtp_port=options.smtp_port, interval=options.interval)
            return service.stop
        # Several processes may serve this database: one of them receives (see server/leader.py).
        from supportdesk.server.leader import Leadership

        def receive() -> Callable[[], None]:
            service.start_receivers(smtp_host=options.smtp_host, smtp_port=options.smtp_port)
            return service.stop_receivers

        service.start(interval=options.interval, receivers=False)
        stop_leading = Leadership(state.database.url, receive).start()

        def stop() -> None:
            stop_leading()
            service.stop()

        return stop


def install(app: FastAPI, options: ChannelOptions | None) -> ServerChannels:
    """Plug the channels into ``app``: the endpoints, and — when ``[channels]`` is configured —
    the after-write and after-commit hooks, the worker, the inbound mail's body limit and a private attachments
    folder (0700)."""
    state: ServerState = app.state.server
    channels = ServerChannels(options)
    state.extensions["channels"] = channels
    app.include_router(router)
    if options is not None:
        from supportdesk.server.routes import files

        files.install(app, options.settings)
        private_dir(options.settings.attachments_dir)
        state.config.max_body_by_path[EMAIL_PATH] = options.settings.limits.max_bytes
        # webhook bodies may carry their files inline (base64), within the same bound as a mail
        state.config.max_body_by_path["/v1/channels/"] = options.settings.limits.max_bytes
        state.after_write.append(channels.after_write)
        state.after_commit.append(channels.after_commit)
        state.workers.append(channels.worker)
    return channels


def channel_service(state: ServerState) -> ChannelService | None:
    """The channels' service of an app, None when ``[channels]`` is not configured (the help
    center's web form files through it)."""
    channels = state.extensions.get("channels")
    if not isinstance(channels, ServerChannels) or channels.options is None:
        return None
    return channels._service(state)


def _channels(request: Request) -> ChannelService:
    """The channels' service of the app serving ``request`` (404 when not configured)."""
    state = server_state(request)
    channels = state.extensions.get("channels")
    if not isinstance(channels, ServerChannels):
        raise ApiError(404, "not_configured", "the channels are not configured on this server")
    return channels._service(state)


router = APIRouter(prefix="/v1/channels", tags=["channels"])


def mail_poster(request: Request) -> ChannelService:
    """The service, for an admin's token or ``[channels] email_token`` (nobody else)."""
    service = _channels(request)
    channels = server_state(request).extensions["channels"]
    assert channels.options is not None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    expected = channels.options.email_token
    if expected and scheme.lower() == "bearer" and _same_secret(token.strip(), expected):
        return service
    if not current_actor(request).is_admin or not token_allows(request, "admin"):
        raise ApiError(403, "forbidden", "only an admin's token or the [channels] email_token may post mail")
    return service


@router.post("/email")
async def email(
    request: Request,
    service: Annotated[ChannelService, Depends(mail_poster)],
    recipient: Annotated[list[str], Query(max_length=50, description="Envelope recipients.")] = [],  # noqa: B006
    sender: Annotated[str | None, Query(max_length=320, description="The envelope sender.")] = None,
) -> Any:
    """Ingest one raw RFC 822 mail (the body, as received); answers what became of it.

    An MTA pipe passes the envelope: ``?sender=…&recipient=…`` (the recipient routes the
    ticket, as over SMTP); without it the To, Cc and Delivered-To headers do.
    """
    raw = await request.body()
    try:
        outcome = await run_in_threadpool(
            lambda: service.mail.ingest(raw, envelope_sender=sender, recipients=recipient or None)
        )
    except ChannelError as error:
        return channel_error(error)
    return outcome.as_dict()


@router.post("/{channel}")
async def webhook(channel: str, request: Request) -> Any:
    """A signed webhook of a registered channel: chat, webform, social, sms …

    Signed with the channel's secret (X-Supportdesk-Timestamp and X-Supportdesk-Signature);
    an unknown channel is a 422 naming ``channel``.
    """
    service = _channels(request)
    raw = await request.body()
    try:
        outcome = await run_in_threadpool(service.webhooks.handle, channel, raw, request.headers)
    except ChannelError as error:
        return channel_error(error)
    return outcome.as_dict()
