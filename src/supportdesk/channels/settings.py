"""What the channels need to know: secrets, limits, addresses, the relay, the webhooks.

Read from the ``[channels]`` table of the config file (``supportdesk serve`` passes it in), so a
team configures email and webhooks in one place::

    [channels]
    secret = "long random text"            # signs our Message-IDs
    mail_domain = "acme.test"              # right-hand side of our Message-IDs
    default_from = "support@acme.test"     # for tickets whose group has no address
    relay = "smtp://user:pass@mail.acme.test:587"
    relay_login_without_tls = false        # never send the relay password in clear (the default)
    authserv_id = "mx.acme.test"           # whose Authentication-Results we believe (RFC 8601)
    auto_reply = true
    auto_reply_limit = 3                   # per address and window
    auto_reply_global_limit = 500          # for all addresses together, per window
    auto_reply_window_minutes = 60

    [channels.webhooks.chat]               # one table per webhook channel: chat, webform, social, sms
    secret = "shared with the chat platform"
    outbound_url = "https://chat.example/hooks/reply"
    outbound_secret = "..."                # defaults to secret

    [[channels.imap]]                      # mail from a mailbox the team already has (imap_settings.py)
    address = "support@acme.test"
    host = "imap.acme.test"
    username = "support@acme.test"
    password_file = "/run/secrets/support-imap"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from supportdesk.channels.imap_settings import ImapMailbox, parse_imap
from supportdesk.channels.webhook_names import REGISTERED
from supportdesk.config import ConfigError
from supportdesk.store.blobs import AttachmentLimits

#: The keys ``[channels]`` may hold (a typo is an error naming it, never a silently unset option).
KNOWN_KEYS = frozenset(
    {
        "secret", "mail_domain", "default_from", "relay", "relay_login_without_tls", "authserv_id",
        "auto_reply", "auto_reply_limit", "auto_reply_global_limit", "auto_reply_window_minutes",
        "public_url", "email_token", "attachments_dir", "webhooks", "imap", "file_url_minutes",
    }
)  # fmt: skip
WEBHOOK_KEYS = frozenset({"secret", "outbound_url", "outbound_secret"})


@dataclass(frozen=True)
class MailLimits:
    """Bounds on one inbound mail; past them the mail is refused or the excess is dropped."""

    max_bytes: int = 30 * 1024 * 1024
    max_parts: int = 200
    max_depth: int = 12
    max_attachments: int = 100
    max_attachment_bytes: int = 15 * 1024 * 1024
    max_total_attachment_bytes: int = 25 * 1024 * 1024
    max_text_chars: int = 200_000
    #: Files one ticket may hold (``[attachments] max_per_ticket``); more are listed as skipped.
    max_per_ticket: int = 200

    @classmethod
    def for_attachments(cls, limits: AttachmentLimits) -> MailLimits:
        """The mail limits under ``[attachments]``: its files per file and per message, and, when
        those are raised past the defaults, a raw mail large enough to carry them (base64 grows
        them by a third); the defaults give the mail limits of old (30 MB a mail)."""
        carried = limits.max_message_bytes * 4 // 3 + 2 * 1024 * 1024
        grown = limits.max_message_bytes > cls.max_total_attachment_bytes
        return cls(
            max_bytes=max(cls.max_bytes, carried) if grown else cls.max_bytes,
            max_attachment_bytes=limits.max_file_bytes,
            max_total_attachment_bytes=limits.max_message_bytes,
            max_per_ticket=limits.max_per_ticket,
        )


@dataclass(frozen=True)
class RelayURL:
    """An SMTP relay written as ``smtp://user:pass@host:port`` (``smtps://`` for implicit TLS)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    implicit_tls: bool = False

    @classmethod
    def parse(cls, url: str) -> RelayURL:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("smtp", "smtps"):
            raise ConfigError(f"relay {url!r}: write it as smtp://user:pass@host:port")
        if not parts.hostname:
            raise ConfigError(f"relay {url!r} names no host")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"relay {url!r} has a bad port") from None
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
        )

    def __str__(self) -> str:
        who = f"{self.username}:***@" if self.username else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{who}{self.host}:{self.port}"


@dataclass(frozen=True)
class WebhookSettings:
    """One webhook channel: the secret inbound requests are signed with, where replies go."""

    secret: str
    outbound_url: str | None = None
    outbound_secret: str | None = None

    @property
    def reply_secret(self) -> str:
        return self.outbound_secret or self.secret


@dataclass(frozen=True)
class ChannelSettings:
    secret: str
    mail_domain: str = "supportdesk.invalid"
    default_from: str | None = None
    attachments_dir: Path = Path("attachments")
    limits: MailLimits = MailLimits()
    relay: RelayURL | None = None
    auto_reply: bool = True
    auto_reply_limit: int = 3
    auto_reply_global_limit: int = 500
    auto_reply_window_seconds: int = 3600
    signature_tolerance_seconds: int = 300
    #: The authserv-ids (RFC 8601) of our own receiving mail servers: only their
    #: Authentication-Results are believed. Empty: no verdict is believed, no sender is verified.
    authserv_ids: tuple[str, ...] = ()
    #: Send the relay's credentials over a connection without TLS (off: refused, and said so).
    relay_login_without_tls: bool = False
    #: The address customers reach this server at (for survey links), e.g. https://support.acme.test
    public_url: str | None = None
    #: How long a signed download link in a reply posted to a chat/social webhook lives.
    file_url_minutes: int = 30
    webhooks: dict[str, WebhookSettings] = field(default_factory=dict)
    #: The mailboxes the server fetches mail from (IMAP over TLS), one per group address.
    imap: tuple[ImapMailbox, ...] = ()

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ConfigError("[channels] secret must be at least 16 characters (it signs our Message-IDs)")

    @property
    def secret_bytes(self) -> bytes:
        return self.secret.encode()

    def webhook(self, channel: str) -> WebhookSettings | None:
        return self.webhooks.get(channel)

    @classmethod
    def from_section(
        cls, section: dict[str, Any], *, attachments_dir: Path, limits: AttachmentLimits | None = None
    ) -> ChannelSettings:
        """Build settings from the ``[channels]`` table; a wrong value is a one-line ConfigError.

        ``limits`` (``[attachments]``) bound inbound files as they bound agents' uploads."""
        unknown = sorted(set(section) - KNOWN_KEYS)
        if unknown:
            raise ConfigError(
                f"[channels] has no setting {unknown[0]!r}; the settings are {', '.join(sorted(KNOWN_KEYS))}"
            )
        secret = section.get("secret")
        if not isinstance(secret, str):
            raise ConfigError("[channels] secret is missing: set a long random string")
        relay = section.get("relay")
        webhooks: dict[str, WebhookSettings] = {}
        raw_hooks = section.get("webhooks", {})
        if not isinstance(raw_hooks, dict):
            raise ConfigError("[channels.webhooks] must be a table")
        for name, hook in raw_hooks.items():
            if name not in REGISTERED:
                raise ConfigError(f"[channels.webhooks.{name}]: the webhook channels are {', '.join(REGISTERED)}")
            if not isinstance(hook, dict) or not isinstance(hook.get("secret"), str):
                raise ConfigError(f"[channels.webhooks.{name}] needs a secret")
            stray = sorted(set(hook) - WEBHOOK_KEYS)
            if stray:
                raise ConfigError(
                    f"[channels.webhooks.{name}] has no setting {stray[0]!r}; "
                    f"they are {', '.join(sorted(WEBHOOK_KEYS))}"
                )
            webhooks[name] = WebhookSettings(
                secret=hook["secret"],
                outbound_url=_optional_str(hook, "outbound_url", name),
                outbound_secret=_optional_str(hook, "outbound_secret", name),
            )
        return cls(
            secret=secret,
            mail_domain=str(section.get("mail_domain", cls.mail_domain)),
            default_from=_optional_str(section, "default_from", "channels"),
            attachments_dir=attachments_dir,
            limits=MailLimits.for_attachments(limits) if limits is not None else MailLimits(),
            relay=RelayURL.parse(relay) if isinstance(relay, str) and relay else None,
            auto_reply=bool(section.get("auto_reply", True)),
            auto_reply_limit=_int(section, "auto_reply_limit", 3),
            auto_reply_global_limit=_int(section, "auto_reply_global_limit", 500),
            auto_reply_window_seconds=_int(section, "auto_reply_window_minutes", 60) * 60,
            authserv_ids=_authserv_ids(section.get("authserv_id")),
            relay_login_without_tls=_bool(section, "relay_login_without_tls", False),
            public_url=_optional_str(section, "public_url", "channels"),
            file_url_minutes=_minutes(section, "file_url_minutes", 30),
            webhooks=webhooks,
            imap=parse_imap(section.get("imap")),
        )


def _optional_str(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"[{where}] {key} must be a string")
    return value


def _bool(table: dict[str, Any], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"[channels] {key} must be true or false")
    return value


def _authserv_ids(value: Any) -> tuple[str, ...]:
    """``authserv_id = "mx.acme.test"`` or a list of them, compared without case."""
    if value is None:
        return ()
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(item, str) and item.strip() for item in values):
        raise ConfigError("[channels] authserv_id must be a host name or a list of them (our receiving mail servers)")
    return tuple(item.strip().lower() for item in values)


def _minutes(table: dict[str, Any], key: str, default: int) -> int:
    value = _int(table, key, default)
    if not 1 <= value <= 24 * 60:
        raise ConfigError(f"[channels] {key} must be between 1 and 1440 minutes")
    return value


def _int(table: dict[str, Any], key: str, default: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or value < 0:
        raise ConfigError(f"[channels] {key} must be a whole number")
    return value
