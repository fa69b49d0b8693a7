"""Mail from a mailbox the team already has: one ``[[channels.imap]]`` table per group address.

::

    [[channels.imap]]
    address = "support@acme.test"        # the group whose mail this is (routes every message)
    host = "imap.acme.test"
    port = 993                           # implicit TLS; tls = "starttls" for port 143
    username = "support@acme.test"
    password_file = "/run/secrets/support-imap"   # or password_env = "…", or password = "…"
    folder = "INBOX"
    after_fetch = "move"                 # or "seen" (mark \\Seen and leave it where it is)
    move_to = "Handled"                  # with after_fetch = "move"
    rejected_folder = "Supportdesk rejected"   # mails we refuse are kept aside here, never deleted

The password is read when the fetcher connects, so a rotated app password or a refreshed OAuth2
access token (``auth = "oauth2"``: the secret is the token, written by the provider's refresher)
is picked up at the next connection without a restart. Only TLS is spoken: implicit TLS or
STARTTLS, with the system's CAs or ``ca_file``; a server without TLS is refused.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supportdesk.config import ConfigError

IMAP_KEYS = frozenset(
    {
        "address", "host", "port", "username", "password", "password_env", "password_file", "auth", "tls",
        "ca_file", "folder", "after_fetch", "move_to", "rejected_folder", "first_fetch", "idle",
        "poll_seconds", "idle_seconds", "retry_seconds", "timeout_seconds",
    }
)  # fmt: skip
SECRET_KEYS = ("password", "password_env", "password_file")
AFTER_FETCH = ("seen", "move")
FIRST_FETCH = ("unseen", "all")
TLS_MODES = ("implicit", "starttls")
AUTH_MODES = ("password", "oauth2")


class SecretUnavailable(ConfigError):
    """The password (or token) file or variable named in the config cannot be read now."""


@dataclass(frozen=True)
class ImapMailbox:
    """One remote folder whose mail becomes tickets of the group at ``address``."""

    address: str
    host: str
    username: str
    port: int = 993
    password: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    auth: str = "password"
    tls: str = "implicit"
    ca_file: Path | None = None
    folder: str = "INBOX"
    after_fetch: str = "seen"
    move_to: str | None = None
    rejected_folder: str = "Supportdesk rejected"
    #: On first contact (or after the folder's UIDVALIDITY changed): the unread mails, or all.
    first_fetch: str = "unseen"
    #: Wait with IDLE when the server offers it (off: poll every ``poll_seconds``).
    idle: bool = True
    poll_seconds: float = 60.0
    #: How long one IDLE lasts before it is renewed with a look at the folder (RFC 2177: < 29 min).
    idle_seconds: float = 300.0
    #: The longest wait before connecting again after a failure (the wait doubles up to this).
    retry_seconds: float = 300.0
    timeout_seconds: float = 60.0

    @property
    def key(self) -> str:
        """What the remembered UIDs belong to: this user's folder on this server."""
        return f"imap://{self.username}@{self.host}:{self.port}/{self.folder}"[:600]

    def __str__(self) -> str:
        return f"{self.folder} of {self.username} on {self.host}:{self.port} (for {self.address})"

    def secret(self) -> str:
        """The password, app password or OAuth2 access token, read now (never cached)."""
        if self.password is not None:
            return self.password
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if not value:
                raise SecretUnavailable(f"the environment variable {self.password_env} (password_env) is not set")
            return value
        assert self.password_file is not None
        try:
            value = self.password_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise SecretUnavailable(f"cannot read password_file {self.password_file}: {reason}") from None
        if not value:
            raise SecretUnavailable(f"password_file {self.password_file} is empty")
        return value


def parse_imap(value: Any) -> tuple[ImapMailbox, ...]:
    """The ``[[channels.imap]]`` tables; a wrong value is one ConfigError naming the key."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError("[channels] imap must be written as [[channels.imap]] tables, one per mailbox")
    mailboxes = tuple(_mailbox(table, index) for index, table in enumerate(value))
    keys = [mailbox.key for mailbox in mailboxes]
    for key in keys:
        if keys.count(key) > 1:
            raise ConfigError(f"[[channels.imap]] {key} is configured twice")
    return mailboxes


def _mailbox(table: dict[str, Any], index: int) -> ImapMailbox:
    where = f"[[channels.imap]] #{index + 1}"
    stray = sorted(set(table) - IMAP_KEYS)
    if stray:
        raise ConfigError(f"{where} has no setting {stray[0]!r}; the settings are {', '.join(sorted(IMAP_KEYS))}")
    address = _text(table, "address", where, required=True)
    assert address is not None
    if "@" not in address:
        raise ConfigError(f"{where} address {address!r} is not a mail address (the group's address)")
    where = f"[[channels.imap]] {address}"
    secrets = [key for key in SECRET_KEYS if key in table]
    if len(secrets) != 1:
        raise ConfigError(f"{where} needs exactly one of password, password_env, password_file")
    tls = _choice(table, "tls", TLS_MODES, "implicit", where)
    after_fetch = _choice(table, "after_fetch", AFTER_FETCH, "seen", where)
    move_to = _text(table, "move_to", where)
    if after_fetch == "move" and not move_to:
        raise ConfigError(f'{where} after_fetch = "move" needs move_to (the folder handled mail goes to)')
    port = table.get("port", 993 if tls == "implicit" else 143)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise ConfigError(f"{where} port must be a port number")
    folder = _text(table, "folder", where) or "INBOX"
    rejected = _text(table, "rejected_folder", where) or ImapMailbox.rejected_folder
    if rejected in (folder, move_to):
        raise ConfigError(f"{where} rejected_folder must differ from folder and move_to")
    if move_to == folder:
        raise ConfigError(f"{where} move_to must differ from folder")
    idle = table.get("idle", True)
    if not isinstance(idle, bool):
        raise ConfigError(f"{where} idle must be true or false")
    password_file = _text(table, "password_file", where)
    ca_file = _text(table, "ca_file", where)
    return ImapMailbox(
        address=address.strip().lower(),
        host=_text(table, "host", where, required=True) or "",
        username=_text(table, "username", where, required=True) or "",
        port=port,
        password=_text(table, "password", where),
        password_env=_text(table, "password_env", where),
        password_file=Path(password_file).expanduser() if password_file else None,
        auth=_choice(table, "auth", AUTH_MODES, "password", where),
        tls=tls,
        ca_file=Path(ca_file).expanduser() if ca_file else None,
        folder=folder,
        after_fetch=after_fetch,
        move_to=move_to,
        rejected_folder=rejected,
        first_fetch=_choice(table, "first_fetch", FIRST_FETCH, "unseen", where),
        idle=idle,
        poll_seconds=_seconds(table, "poll_seconds", 60.0, where),
        idle_seconds=_seconds(table, "idle_seconds", 300.0, where, most=1740.0),
        retry_seconds=_seconds(table, "retry_seconds", 300.0, where),
        timeout_seconds=_seconds(table, "timeout_seconds", 60.0, where),
    )


def _text(table: dict[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{where} needs {key}")
        return None
    if not isinstance(value, str) or not value.strip() or any(ord(char) < 32 for char in value):
        raise ConfigError(f"{where} {key} must be a non-empty string on one line")
    return value.strip() if key not in SECRET_KEYS else value


def _choice(table: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str) -> str:
    value = table.get(key, default)
    if value not in choices:
        raise ConfigError(f"{where} {key} must be one of {', '.join(repr(choice) for choice in choices)}")
    return str(value)


def _seconds(table: dict[str, Any], key: str, default: float, where: str, *, most: float = 86400.0) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.05 <= value <= most:
        raise ConfigError(f"{where} {key} must be a number of seconds between 0.05 and {most:g}")
    return float(value)
