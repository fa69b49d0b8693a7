"""Fetching one IMAP mailbox into tickets: IDLE where the server offers it, polling otherwise.

Each new mail goes through :class:`MailIngest` exactly as one received over SMTP (threading,
loop guards, limits, redaction), addressed to the mailbox's group. The order per mail is
*ingest → mark seen or move → remember its UID*: a crash anywhere in it fetches the mail again
at the next start, where the ingest's Message-ID claim answers ``duplicate`` (no second ticket)
and the mark or move is done then. A mail the ingest refuses (too large, no sender, …) is moved
to ``rejected_folder`` and reported — kept, never deleted, never retried in a loop.

The client is IMAPClient (maintained, typed responses, IDLE with a timeout). It blocks, so each
mailbox gets a thread of its own (:class:`ImapFetchers`); IDLE is checked every second so a
stopping server is never held up longer than that.
"""

from __future__ import annotations

import hashlib
import imaplib
import logging
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from supportdesk.channels import imap_state as state
from supportdesk.channels.errors import ChannelError
from supportdesk.channels.imap_settings import ImapMailbox, SecretUnavailable
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.domain.errors import DomainError

if TYPE_CHECKING:
    from imapclient import IMAPClient

log = logging.getLogger(__name__)

#: How many UIDs one FETCH of sizes covers (the bodies are fetched one by one).
SIZE_BATCH = 200
#: A mail our own code fails on (not the database, not the network) is kept aside after this many tries.
MAX_ATTEMPTS = 3
#: How often a process that waits for another's mailbox (PostgreSQL) tries to take it over.
HANDOVER_SECONDS = 15.0
SEEN = b"\\Seen"
DELETED = b"\\Deleted"
FLAGGED = b"\\Flagged"


class ImapFailure(Exception):
    """The mailbox cannot be read now; ``str()`` says why in one line (shown to the admin)."""


class LoginRefused(ImapFailure):
    """The server refused the user name and password (or token): retried only after retry_seconds."""


class HeldElsewhere(Exception):
    """Another server process fetches this mailbox (PostgreSQL): this one waits its turn."""


@dataclass
class RoundResult:
    """What one look at the folder did."""

    ingested: int = 0
    duplicates: int = 0
    kept_aside: list[str] = field(default_factory=list)
    #: UIDs looked at (taken, duplicates, kept aside, or gone meanwhile).
    handled: int = 0

    @property
    def empty(self) -> bool:
        return self.handled == 0


def _reason(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    return " ".join(text.split())[:300]


class MailboxFetcher:
    """One ``[[channels.imap]]`` mailbox: connect, read what is new, wait for more, again."""

    def __init__(self, mailbox: ImapMailbox, ingest: MailIngest) -> None:
        self.mailbox = mailbox
        self.ingest = ingest
        self.engine = ingest.engine
        self._attempts: dict[int, int] = {}
        self._folders: set[str] = set()
        self._last_reported: str | None = None

    # --- the loop ----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Fetch until ``stop`` is set; every failure is reported and retried, never raised."""
        delay = 1.0
        while not stop.is_set():
            try:
                with self.session() as (client, uidvalidity):
                    delay = 1.0
                    while not stop.is_set():
                        taken = self.fetch_new(client, uidvalidity, stop)
                        if not taken.empty:
                            # look again before idling: the commands after the search may have
                            # carried the news of a mail that arrived meanwhile (an EXISTS the
                            # client consumed), which IDLE would then never repeat
                            continue
                        self._wait(client, stop)
            except HeldElsewhere:
                delay = min(self.mailbox.retry_seconds, HANDOVER_SECONDS)
                if stop.wait(delay):
                    break
                continue
            except LoginRefused as error:
                self._report(str(error))
                delay = self.mailbox.retry_seconds
            except ImapFailure as error:
                self._report(str(error))
            except (imaplib.IMAP4.error, OSError) as error:
                self._report(f"the connection to {self.mailbox.host} broke: {_reason(error)}")
            except SQLAlchemyError as error:
                self._report(f"the server database failed: {_reason(error)}")
            except Exception as error:  # our own bug: logged in full, retried later
                log.exception("fetching %s failed", self.mailbox)
                self._report(f"fetching failed: {type(error).__name__}: {_reason(error)}")
            if stop.wait(delay):
                break
            delay = min(delay * 2, self.mailbox.retry_seconds)

    def fetch_once(self) -> RoundResult:
        """Connect, take what is new, disconnect (``supportdesk`` tests and one-off checks)."""
        with self.session() as (client, uidvalidity):
            return self.fetch_new(client, uidvalidity, threading.Event())

    def _report(self, error: str) -> None:
        text = f"{self.mailbox}: {error}"
        if text != self._last_reported:  # one line per change, not one per retry
            log.error("IMAP %s", text)
            self._last_reported = text
        try:
            state.failed(self.engine, self.mailbox, error)
        except SQLAlchemyError:
            log.exception("recording the failure of %s failed", self.mailbox)

    # --- connecting --------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[tuple[IMAPClient, int]]:
        """A logged-in connection with the folder selected, and the folder's UIDVALIDITY."""
        with self._only_fetcher():
            client = self._connect()
            with self._logged_in(client) as selected:
                yield selected

    @contextmanager
    def _only_fetcher(self) -> Iterator[None]:
        """On PostgreSQL, a session-level advisory lock per mailbox: of several server processes
        reading the same ``[[channels.imap]]``, one fetches and the others wait; the lock goes
        with the connection, so a killed process hands the mailbox over at once."""
        if self.engine.dialect.name != "postgresql":
            yield
            return
        from sqlalchemy import text

        key = int.from_bytes(hashlib.sha256(self.mailbox.key.encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as connection:
            taken = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar_one()
            connection.commit()
            if not taken:
                raise HeldElsewhere(str(self.mailbox))
            try:
                yield
            finally:
                with suppress(SQLAlchemyError):  # a lost connection has released it already
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()

    @contextmanager
    def _logged_in(self, client: IMAPClient) -> Iterator[tuple[IMAPClient, int]]:
        try:
            uidvalidity = self._select(client)
            if not self.ingest.accepts(self.mailbox.address):
                raise ImapFailure(
                    f"no group has the address {self.mailbox.address}; mail stays in the mailbox until one has "
                    "(supportdesk server group add NAME ADDRESS)"
                )
            state.connected(self.engine, self.mailbox)
            self._last_reported = None
            yield client, uidvalidity
        finally:
            _close(client)

    def _context(self) -> ssl.SSLContext:
        cafile = str(self.mailbox.ca_file) if self.mailbox.ca_file else None
        try:
            return ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as error:
            raise ImapFailure(f"cannot read ca_file {cafile}: {_reason(error)}") from None

    def _connect(self) -> IMAPClient:
        from imapclient import IMAPClient
        from imapclient.exceptions import LoginError

        box = self.mailbox
        context = self._context()
        try:
            client = IMAPClient(
                box.host, box.port, ssl=box.tls == "implicit", ssl_context=context, timeout=box.timeout_seconds
            )
        except ssl.SSLCertVerificationError as error:
            raise ImapFailure(
                f"{box.host}:{box.port} has a certificate we do not trust: {error.verify_message}"
            ) from None
        except (OSError, imaplib.IMAP4.error) as error:
            raise ImapFailure(f"cannot reach {box.host}:{box.port}: {_reason(error)}") from None
        try:
            if box.tls == "starttls":
                try:
                    client.starttls(context)
                except ssl.SSLCertVerificationError as error:
                    raise ImapFailure(_untrusted(box, error)) from None
                except imaplib.IMAP4.error as error:
                    raise ImapFailure(f"{box.host}:{box.port} does not offer STARTTLS: {_reason(error)}") from None
            try:
                secret = box.secret()
            except SecretUnavailable as error:
                raise ImapFailure(str(error)) from None
            try:
                if box.auth == "oauth2":
                    client.oauth2_login(box.username, secret)
                else:
                    client.login(box.username, secret)
            except LoginError as error:
                raise LoginRefused(
                    f"{box.host} refused the login of {box.username} ({_server_text(error)}); check the password, "
                    "app password or token; tried again in "
                    f"{box.retry_seconds:g} s"
                ) from None
        except BaseException:
            client.shutdown()
            raise
        return client

    def _select(self, client: IMAPClient) -> int:
        from imapclient.exceptions import IMAPClientError

        try:
            info = client.select_folder(self.mailbox.folder)
        except IMAPClientError as error:
            raise ImapFailure(f"cannot open the folder {self.mailbox.folder!r}: {_server_text(error)}") from None
        uidvalidity = info.get(b"UIDVALIDITY")
        if not isinstance(uidvalidity, int):
            raise ImapFailure(f"the folder {self.mailbox.folder!r} has no UIDVALIDITY (not an IMAP4rev1 server)")
        return uidvalidity

    # --- one look at the folder --------------------------------------------------------------

    def fetch_new(self, client: IMAPClient, uidvalidity: int, stop: threading.Event) -> RoundResult:
        """Ingest every mail not handled yet, oldest first; stops between mails when asked."""
        box = self.mailbox
        position = state.position(self.engine, box)
        if position.uidvalidity != uidvalidity:
            if position.uidvalidity is not None:
                log.warning(
                    "IMAP %s: UIDVALIDITY changed from %s to %s (the folder was recreated or restored); reading "
                    "it again from the start, mails already taken are recognised by their Message-ID",
                    box,
                    position.uidvalidity,
                    uidvalidity,
                )
            baseline = self._uid_next(client) if box.first_fetch == "unseen" else 0
            position = state.start_over(self.engine, box, uidvalidity, baseline)
        result = RoundResult()
        client.noop()
        for uid in self._new_uids(client, position):
            if stop.is_set():
                break
            self._take(client, uid, result)
            result.handled += 1
        state.checked(self.engine, box)
        return result

    def _uid_next(self, client: IMAPClient) -> int:
        status = client.folder_status(self.mailbox.folder, [b"UIDNEXT"])
        value = status.get(b"UIDNEXT")
        if isinstance(value, int):
            return value
        uids = client.search(["ALL"])
        return max(uids, default=0) + 1

    def _new_uids(self, client: IMAPClient, position: state.Position) -> Iterator[int]:
        """The UIDs after the last one handled (below the baseline: only the unread ones)."""
        start = position.last_uid + 1
        uids = sorted(uid for uid in client.search(["UID", f"{start}:*"]) if uid >= start)
        if uids and start < position.baseline_uid:
            unread = set(client.search(["UNSEEN", "UID", f"{start}:{position.baseline_uid - 1}"]))
            uids = [uid for uid in uids if uid >= position.baseline_uid or uid in unread]
        for index in range(0, len(uids), SIZE_BATCH):
            yield from uids[index : index + SIZE_BATCH]

    def _take(self, client: IMAPClient, uid: int, result: RoundResult) -> None:
        box = self.mailbox
        limit = self.ingest.settings.limits.max_bytes
        sized = client.fetch([uid], ["RFC822.SIZE"]).get(uid)
        if sized is None:  # expunged by someone else meanwhile: nothing to take
            state.handled(self.engine, box, uid, ingested=False)
            return
        size = sized.get(b"RFC822.SIZE")
        if isinstance(size, int) and size > limit:
            self._keep_aside(client, uid, f"{size} bytes, more than the limit of {limit}", result)
            return
        fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid, {})
        raw = fetched.get(b"BODY[]")
        if not isinstance(raw, bytes):
            state.handled(self.engine, box, uid, ingested=False)
            return
        try:
            outcome = self.ingest.ingest(raw, recipients=[box.address])
        except (ChannelError, DomainError) as error:
            self._keep_aside(client, uid, str(error), result)
            return
        except SQLAlchemyError:
            raise  # the database, not the mail: tried again after a pause
        except Exception as error:
            self._attempts[uid] = attempts = self._attempts.get(uid, 0) + 1
            if attempts < MAX_ATTEMPTS:
                raise
            log.exception("IMAP %s: mail UID %s failed %s times", box, uid, attempts)
            self._keep_aside(client, uid, f"could not be stored ({type(error).__name__}); see the server log", result)
            return
        self._attempts.pop(uid, None)
        self._after_fetch(client, uid)
        log.info("IMAP %s: mail UID %s accepted: %s%s", box, uid, outcome.status, _where(outcome.number))
        ingested = outcome.status in ("created", "appended")
        state.handled(self.engine, box, uid, ingested=ingested)
        if ingested:
            result.ingested += 1
        else:
            result.duplicates += 1

    def _after_fetch(self, client: IMAPClient, uid: int) -> None:
        if self.mailbox.after_fetch == "move" and self.mailbox.move_to:
            self._move(client, uid, self.mailbox.move_to)
        else:
            client.add_flags([uid], [SEEN], silent=True)

    def _keep_aside(self, client: IMAPClient, uid: int, reason: str, result: RoundResult) -> None:
        """Move a refused mail to ``rejected_folder`` (flag it in place when that fails) and report it."""
        from imapclient.exceptions import IMAPClientError

        box = self.mailbox
        where = box.rejected_folder
        try:
            self._move(client, uid, box.rejected_folder)
        except IMAPClientError as error:
            where = f"{box.folder} (flagged; moving it failed: {_server_text(error)})"
            client.add_flags([uid], [FLAGGED], silent=True)
        line = f"UID {uid} kept aside in {where}: {reason}"
        log.warning("IMAP %s: %s", box, line)
        state.handled(self.engine, box, uid, ingested=False, kept_aside=line)
        result.kept_aside.append(line)

    def _move(self, client: IMAPClient, uid: int, folder: str) -> None:
        if folder not in self._folders:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            self._folders.add(folder)
        if client.has_capability("MOVE"):
            client.move([uid], folder)
            return
        client.copy([uid], folder)
        client.add_flags([uid], [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()

    # --- waiting for more --------------------------------------------------------------------

    def _answer_waiting(self, client: IMAPClient) -> bool:
        """Whether the server already sent more than IDLE's "+": read off the socket together with
        it (into imaplib's buffer, or the TLS layer's), where ``idle_check``'s poll() cannot see
        it. Dovecot sends the EXISTS of a mail that came since the last search right behind "+"."""
        sock = client.socket()
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        sock.setblocking(False)
        try:
            return bool(client._imap.file.peek(1))
        except (OSError, ValueError):
            return False  # nothing buffered, and nothing on the socket yet
        finally:
            sock.settimeout(self.mailbox.timeout_seconds)

    def _wait(self, client: IMAPClient, stop: threading.Event) -> None:
        """Until new mail may be there: IDLE (woken by EXISTS), or one poll interval."""
        if not (self.mailbox.idle and client.has_capability("IDLE")):
            stop.wait(self.mailbox.poll_seconds)
            return
        # imaplib files the untagged responses that come with a command (or before IDLE's "+")
        # under their name; IMAPClient's idle() leaves them there. Counts from before the IDLE
        # are stale (the last search saw those mails); one filed while IDLE began is new mail.
        pending = client._imap.untagged_responses
        pending.pop("EXISTS", None)
        client.idle()
        try:
            if pending.pop("EXISTS", None) or self._answer_waiting(client):
                return
            deadline = time.monotonic() + self.mailbox.idle_seconds
            at_once = 0
            while not stop.is_set() and time.monotonic() < deadline:
                began = time.monotonic()
                responses = client.idle_check(timeout=1.0)
                if any(_is_exists(response) for response in responses):
                    return
                # imapclient returns nothing, at once, when the socket reached its end: a dropped
                # connection shows as empty answers without the wait; DONE then fails and we reconnect
                at_once = at_once + 1 if not responses and time.monotonic() - began < 0.2 else 0
                if at_once >= 3:
                    return
        finally:
            client.idle_done()


def _close(client: IMAPClient) -> None:
    """Log out, or at least close the socket of a connection that broke."""
    try:
        client.logout()
    except Exception:
        with suppress(Exception):
            client.shutdown()


def _untrusted(box: ImapMailbox, error: ssl.SSLCertVerificationError) -> str:
    return f"{box.host}:{box.port} has a certificate we do not trust ({error.verify_message}); see ca_file"


def _is_exists(response: Any) -> bool:
    return isinstance(response, tuple) and len(response) >= 2 and response[1] == b"EXISTS"


def _server_text(error: BaseException) -> str:
    """The server's own words from an IMAP error, printable and short."""
    text = str(error)
    for prefix in ("b'", 'b"'):
        text = text.replace(prefix, "")
    text = text.replace("'", "").replace('"', "")
    return "".join(char if char.isprintable() else "?" for char in " ".join(text.split()))[:200] or "no reason given"


class ImapFetchers:
    """One thread per configured mailbox, started and stopped with the server's channels."""

    def __init__(self, mailboxes: tuple[ImapMailbox, ...], ingest: MailIngest) -> None:
        self.fetchers = [MailboxFetcher(mailbox, ingest) for mailbox in mailboxes]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        for fetcher in self.fetchers:
            thread = threading.Thread(
                target=fetcher.run, args=(self._stop,), name=f"imap {fetcher.mailbox.address}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
            log.info("IMAP: fetching %s", fetcher.mailbox)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        self._threads.clear()


__all__ = ["HeldElsewhere", "ImapFailure", "ImapFetchers", "LoginRefused", "MailboxFetcher", "RoundResult"]


def _where(number: int | None) -> str:
    return f" ticket #{number}" if number else ""
