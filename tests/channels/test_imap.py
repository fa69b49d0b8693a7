"""Mail from an existing mailbox: a real Dovecot, the fetcher, the same ingest as SMTP.

Each test starts its own Dovecot (tests/channels/imap_dovecot.py) and reads it with
:class:`MailboxFetcher` into the team's workspace through the channels' :class:`MailIngest`.
The server-wide behaviour (``supportdesk serve`` with ``[[channels.imap]]``, a crash mid-fetch)
is in test_imap_server.py.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.channels.imap_fetch import HeldElsewhere, ImapFailure, LoginRefused, MailboxFetcher
from supportdesk.channels.imap_settings import ImapMailbox, parse_imap
from supportdesk.channels.mail_ingest import MailIngest
from supportdesk.channels.settings import ChannelSettings, MailLimits
from tests.channels.conftest import FIXTURES, make_mail
from tests.channels.imap_dovecot import Dovecot, dovecot
from tests.conftest import Team
from tests.live import fresh_postgres_database, make_team

pytestmark = pytest.mark.integration


@pytest.fixture
def imap() -> Iterator[Dovecot]:
    with dovecot() as server:
        yield server


def mailbox(server: Dovecot, **overrides: object) -> ImapMailbox:
    return parse_imap([server.mailbox(**overrides)])[0]


def rows(team: Team, sql: str) -> list[tuple[Any, ...]]:
    with team.workspace.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def tickets(team: Team) -> list[tuple[Any, ...]]:
    return rows(team, "SELECT subject, group_id FROM ticket ORDER BY number")


def state(team: Team) -> dict[str, Any]:
    """The remembered facts of the one mailbox (empty before the fetcher first wrote them)."""
    with team.workspace.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM channel_imap_mailbox")).mappings().first()
    return dict(row) if row else {}


def wait_for(probe: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def running(fetcher: MailboxFetcher) -> Iterator[threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=fetcher.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield thread
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the fetcher did not stop within 30 s"


# --- delivery and what happens after it ---------------------------------------------------------


def test_mail_in_the_mailbox_becomes_a_ticket_of_the_group_once(
    imap: Dovecot, team: Team, mail_ingest: MailIngest
) -> None:
    imap.append(make_mail(subject="Printer on fire"), make_mail(subject="Invoice twice", to="someone@else.test"))
    fetcher = MailboxFetcher(mailbox(imap), mail_ingest)

    first = fetcher.fetch_once()

    assert (first.ingested, first.duplicates, first.kept_aside) == (2, 0, [])
    # the mailbox routes the mail, whatever its To says: both are Tier 1's
    assert tickets(team) == [("Printer on fire", team.tier1), ("Invoice twice", team.tier1)]
    assert all("\\Seen" in flags for flags in imap.uids().values())
    # a person marks them unread again: their UIDs are remembered, nothing is taken twice
    with imap.client() as connection:
        connection.select("INBOX")
        connection.uid("STORE", "1:*", "-FLAGS", "(\\Seen)")
    again = fetcher.fetch_once()
    assert (again.ingested, again.duplicates) == (0, 0)
    assert len(tickets(team)) == 2
    assert state(team)["ingested"] == 2


def test_after_fetch_move_empties_the_folder_into_move_to(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    imap.append(make_mail(subject="One"), make_mail(subject="Two"))
    fetcher = MailboxFetcher(mailbox(imap, after_fetch="move", move_to="Handled"), mail_ingest)

    assert fetcher.fetch_once().ingested == 2

    assert imap.uids("INBOX") == {}
    moved = imap.uids("Handled")
    assert len(moved) == 2
    assert all("\\Seen" not in flags for flags in moved.values()), "move leaves the read state to people"
    imap.append(make_mail(subject="Three"))
    assert fetcher.fetch_once().ingested == 1
    assert [subject for subject, _ in tickets(team)] == ["One", "Two", "Three"]


def test_first_contact_takes_the_unread_mail_not_the_archive(
    imap: Dovecot, team: Team, mail_ingest: MailIngest
) -> None:
    imap.append(make_mail(subject="Old and answered"), seen=True)
    imap.append(make_mail(subject="Still waiting"))
    imap.append(make_mail(subject="Also old"), seen=True)
    fetcher = MailboxFetcher(mailbox(imap), mail_ingest)

    assert fetcher.fetch_once().ingested == 1
    # what arrives later is taken even when someone read it first
    imap.append(make_mail(subject="New, read in webmail"), seen=True)
    assert fetcher.fetch_once().ingested == 1
    assert [subject for subject, _ in tickets(team)] == ["Still waiting", "New, read in webmail"]


def test_first_fetch_all_takes_the_whole_folder(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    imap.append(make_mail(subject="Read"), seen=True)
    imap.append(make_mail(subject="Unread"))
    fetcher = MailboxFetcher(mailbox(imap, first_fetch="all"), mail_ingest)
    assert fetcher.fetch_once().ingested == 2


def test_a_reply_in_the_mailbox_threads_into_its_ticket(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    imap.append(make_mail(subject="Printer on fire", message_id="<first@example.com>"))
    fetcher = MailboxFetcher(mailbox(imap), mail_ingest)
    fetcher.fetch_once()
    imap.append(
        make_mail(subject="Re: Printer on fire", headers={"In-Reply-To": "<first@example.com>"}, body="Still burning")
    )

    result = fetcher.fetch_once()

    assert result.ingested == 1
    assert len(tickets(team)) == 1
    assert rows(team, "SELECT count(*) FROM message")[0][0] >= 2


def test_idle_wakes_the_fetcher_without_waiting_for_a_poll(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    # a poll would come after 20 minutes and IDLE is renewed after 29: once the first look at the
    # folder is done (its ticket exists), only the server's EXISTS can bring the second mail in
    box = mailbox(imap, poll_seconds=1200, idle_seconds=1740)
    imap.append(make_mail(subject="Before"))
    fetcher = MailboxFetcher(box, mail_ingest)
    with running(fetcher):
        wait_for(lambda: len(tickets(team)) == 1, "the first mail")
        imap.append(make_mail(subject="While idle"))
        wait_for(lambda: len(tickets(team)) == 2, "the mail appended while the fetcher idles")
        # one after another, each landing while the fetcher goes back to IDLE: the news of a mail
        # that arrives between the last search and the IDLE must not be lost (it was, once)
        # (appending the moment the previous ticket exists hits that window often)
        for n in range(25):
            imap.append(make_mail(subject=f"Next {n}"))
            deadline = time.monotonic() + 30
            while len(tickets(team)) < 3 + n:
                assert time.monotonic() < deadline, f"mail {n} appended as the fetcher went back to IDLE never came"
                time.sleep(0.002)
    assert [subject for subject, _ in tickets(team)][:2] == ["Before", "While idle"]


def test_without_idle_the_fetcher_polls(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    fetcher = MailboxFetcher(mailbox(imap, idle=False, poll_seconds=0.2), mail_ingest)
    with running(fetcher):
        wait_for(lambda: state(team).get("checked_at") is not None, "a first look at the folder")
        imap.append(make_mail(subject="Polled"))
        wait_for(lambda: len(tickets(team)) == 1, "the polled mail")


def test_starttls_on_the_plain_port(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    imap.append(make_mail(subject="Over STARTTLS"))
    box = mailbox(imap, tls="starttls", port=imap.starttls_port)
    assert MailboxFetcher(box, mail_ingest).fetch_once().ingested == 1


# --- failures reported, nothing lost ------------------------------------------------------------


def test_a_malformed_mail_is_kept_aside_and_reported(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    no_sender = b"Subject: who sent this?\r\nX-Garbage: \x00\x01\r\n\r\n\xff\xfe not even text\r\n"
    imap.append(no_sender, make_mail(subject="Fine"))
    fetcher = MailboxFetcher(mailbox(imap), mail_ingest)

    result = fetcher.fetch_once()

    assert result.ingested == 1
    assert len(result.kept_aside) == 1
    assert "UID 1 kept aside in Supportdesk rejected: the mail has no valid sender address" in result.kept_aside[0]
    assert len(imap.uids("Supportdesk rejected")) == 1, "the refused mail is kept, not deleted"
    assert list(imap.uids("INBOX")) == [2]
    remembered = state(team)
    assert (remembered["kept_aside"], remembered["ingested"]) == (1, 1)
    assert "no valid sender" in remembered["last_kept_aside"]
    assert fetcher.fetch_once().kept_aside == [], "reported once, not refused again on every look"


def test_a_mail_over_the_size_limit_is_kept_aside_without_downloading_it(
    imap: Dovecot, team: Team, mail_ingest: MailIngest
) -> None:
    small = replace(mail_ingest.settings, limits=MailLimits(max_bytes=50_000))
    ingest = MailIngest(team.workspace.engine, mail_ingest.applier, small)
    imap.append(make_mail(subject="Huge", body="x" * 200_000), make_mail(subject="Small"))

    result = MailboxFetcher(mailbox(imap), ingest).fetch_once()

    assert result.ingested == 1
    assert "more than the limit of 50000" in result.kept_aside[0]
    assert [subject for subject, _ in tickets(team)] == ["Small"]


def test_a_wrong_password_is_reported_in_one_clear_line(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    box = mailbox(imap, password="not-the-password")
    imap.append(make_mail())

    with pytest.raises(LoginRefused) as refused:
        MailboxFetcher(box, mail_ingest).fetch_once()

    message = str(refused.value)
    assert message.startswith("127.0.0.1 refused the login of support@acme.test (")
    assert "\n" not in message and "not-the-password" not in message
    with running(MailboxFetcher(box, mail_ingest)):
        wait_for(lambda: _last_error(team), "the failure to be recorded")
    assert "refused the login of support@acme.test" in state(team)["last_error"]
    assert tickets(team) == []
    assert len(imap.uids()) == 1, "the mail waits in the mailbox"


def _last_error(team: Team) -> str | None:
    found = rows(team, "SELECT last_error FROM channel_imap_mailbox")
    return found[0][0] if found else None


def test_a_certificate_we_do_not_trust_is_refused(imap: Dovecot, team: Team, mail_ingest: MailIngest) -> None:
    box = mailbox(imap)
    untrusted = replace(box, ca_file=None)  # the system's CAs never signed the test's certificate
    with pytest.raises(ImapFailure, match="certificate we do not trust"):
        MailboxFetcher(untrusted, mail_ingest).fetch_once()


def test_a_mailbox_for_an_address_no_group_has_leaves_the_mail_alone(
    imap: Dovecot, team: Team, mail_ingest: MailIngest
) -> None:
    imap.append(make_mail())
    box = mailbox(imap, address="nobody-here@acme.test")
    with pytest.raises(ImapFailure, match=r"no group has the address nobody-here@acme\.test"):
        MailboxFetcher(box, mail_ingest).fetch_once()
    assert tickets(team) == []
    assert all("\\Seen" not in flags for flags in imap.uids().values())


def test_a_recreated_folder_is_read_again_without_second_tickets(
    imap: Dovecot, team: Team, mail_ingest: MailIngest
) -> None:
    first, second = make_mail(subject="One"), make_mail(subject="Two")
    imap.append(first, second, folder="Support")
    fetcher = MailboxFetcher(mailbox(imap, folder="Support"), mail_ingest)
    assert fetcher.fetch_once().ingested == 2
    old = state(team)["uidvalidity"]

    imap.recreate("Support")  # restored from a backup: same mails, new UIDVALIDITY
    imap.append(first, second, make_mail(subject="Three"), folder="Support")
    result = fetcher.fetch_once()

    assert state(team)["uidvalidity"] != old
    assert (result.ingested, result.duplicates) == (1, 2)
    assert [subject for subject, _ in tickets(team)] == ["One", "Two", "Three"]


# --- hostile mailboxes --------------------------------------------------------------------------


def test_a_mailbox_of_hostile_mails_loses_none_and_answers_no_robot(
    imap: Dovecot, team: Team, mail_ingest: MailIngest
) -> None:
    names = sorted(path.name for path in FIXTURES.glob("*.eml"))  # the SMTP tests' hostile corpus
    imap.append(*[(FIXTURES / name).read_bytes() for name in names])
    imap.append(b"\x00\xff not a mail at all\r\n")
    loop = [
        make_mail(sender="Autoresponder <alice@example.com>", subject=f"Out of office {n}",
                  headers={"Auto-Submitted": "auto-replied"})
        for n in range(20)
    ]  # fmt: skip
    imap.append(*loop)

    result = MailboxFetcher(mailbox(imap), mail_ingest).fetch_once()

    # every mail became a message, or was kept aside with its reason: none lost, none twice
    assert (result.ingested, result.duplicates) == (len(names) + 20, 0)
    assert len(result.kept_aside) == 1 and "no valid sender" in result.kept_aside[0]
    assert state(team)["last_uid"] == len(names) + 21
    automated = rows(team, "SELECT count(DISTINCT ticket_id) FROM ticket_tag WHERE tag = 'automated'")[0][0]
    robots = len([name for name in names if name.startswith("auto_")])
    assert automated == robots + 20
    replies = rows(team, "SELECT count(*) FROM channel_outbox WHERE kind = 'auto_reply'")[0][0]
    people = rows(team, "SELECT count(*) FROM ticket")[0][0] - automated
    assert 0 < replies <= people, "no auto-reply to a robot: the loop guards hold for IMAP too"
    for (subject,) in rows(team, "SELECT subject FROM ticket"):
        assert "\x1b" not in subject and "\n" not in subject


class CuttingProxy:
    """A TCP proxy in front of Dovecot that cuts its first connection after ``cut_after`` bytes
    from the server (TLS passes through untouched): a server dropping the line mid-FETCH."""

    def __init__(self, target: int, cut_after: int) -> None:
        self.target = target
        self.cut_after = cut_after
        self.cuts = 0
        self.connections = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            upstream = socket.create_connection(("127.0.0.1", self.target))
            limit = self.cut_after if self.connections == 1 else None
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        passed = 0
        try:
            while data := source.recv(65536):
                if limit is not None and passed + len(data) > limit:
                    sink.sendall(data[: limit - passed])
                    self.cuts += 1
                    break
                passed += len(data)
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def test_a_connection_dropped_mid_fetch_loses_nothing_and_doubles_nothing(
    imap: Dovecot, team: Team, mail_ingest: MailIngest
) -> None:
    body = "A long log follows.\n" + "log line with some words in it\n" * 5_000  # ~155 kB
    imap.append(make_mail(subject="Small first"), make_mail(subject="Long log", body=body))
    proxy = CuttingProxy(imap.port, cut_after=80_000)
    try:
        fetcher = MailboxFetcher(mailbox(imap, port=proxy.port), mail_ingest)
        with running(fetcher):
            wait_for(lambda: len(tickets(team)) == 2, "both mails after the reconnect")
    finally:
        proxy.close()

    assert proxy.cuts == 1 and proxy.connections >= 2
    assert [subject for subject, _ in tickets(team)] == ["Small first", "Long log"]
    bodies = rows(team, "SELECT body FROM message WHERE body LIKE 'A long log%'")
    assert len(bodies) == 1 and bodies[0][0].count("log line with some words") == 5_000
    assert state(team)["ingested"] == 2


def test_on_postgresql_one_server_process_fetches_a_mailbox_at_a_time(imap: Dovecot, tmp_path: Path) -> None:
    with fresh_postgres_database() as url:
        team = make_team(url)
        try:
            settings = ChannelSettings(secret="imap-test-secret-0123456789", attachments_dir=tmp_path / "files")

            def refuse(name: str, args: dict[str, Any]) -> dict[str, Any]:
                raise AssertionError("the mailbox is empty: nothing is written")

            box = mailbox(imap)
            first = MailboxFetcher(box, MailIngest(team.db.engine, refuse, settings))
            second = MailboxFetcher(box, MailIngest(team.db.engine, refuse, settings))
            with first.session(), pytest.raises(HeldElsewhere):
                second.fetch_once()
            assert second.fetch_once().ingested == 0, "the mailbox is free again once the first lets go"
        finally:
            team.db.dispose()
