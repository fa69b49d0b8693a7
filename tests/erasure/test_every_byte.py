"""An erasure reaches every byte: a real deployment, searched byte by byte afterwards.

A team server with its channels (SMTP listener, chat and web-form webhooks, outbound mail and
chat) on SQLite and on PostgreSQL; three agents' replicas — Sam online, Tom offline while the
erasure happens (with unsent changes about the person), Ada the admin erasing through the real
CLI. A customer writes by mail (with an attachment), chat and web form; agents reply (one with a
file uploaded by sync), note,
answer, draft and solve; the customer answers the survey. Then Ada erases the customer, everyone
syncs, and the raw bytes of the server's database (SQLite: the file, its ``-wal`` and ``-shm``;
PostgreSQL: a logical dump, then after ``supportdesk server compact`` the cluster's data files of
the database), every replica's folder (``supportdesk.db`` with ``-wal`` and ``-shm``, the attachment cache Tom
fetched the files into)
and the server's attachment folder are searched for every planted string: zero hits. A control
customer who was not erased is planted the same way and must be found in each of those places,
so the search is known to read the right bytes.

PostgreSQL stores short values uncompressed in the table's own pages; the planted strings are
kept well under the 2 kB at which it would compress them, so a byte search of the data files sees
them when they are there.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from collections.abc import Iterable
from contextlib import closing
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from supportdesk.channels.signing import sign_webhook
from supportdesk.store.blobs import AttachmentLimits
from supportdesk.store.local_state import Draft, save_draft
from supportdesk.store.times import utcnow
from supportdesk.sync.blob_cache import fetch, stage
from supportdesk.sync.client import ServerClient
from tests.channels.server_helpers import CHAT_SECRET, FORM_SECRET, ChannelServer, channel_server, wait_for
from tests.cli.helpers import supportdesk
from tests.live import Replica
from tests.server.test_feedback import token_of

pytestmark = pytest.mark.integration

NAME = "Zyrafina Quonkwright"
EMAIL = "zyrafina.q@quonk-mail.example"
IBAN = "DE89 3704 0044 0532 0130 00"
PASSPORT = "X4815162342"
STREET = "17 Wobblecombe Lane"
HANDLE = "zyra-visitor-7731"
SCAN = b"%PDF-1.4\nScan of passport X4815162342, QXATTACH-9d1f, Zyrafina Quonkwright\n"
#: A file an agent attaches to the reply (uploaded by sync, then fetched into Tom's cache).
AGENT_FILE = b"Refund confirmation for QXAGENTFILE-5e2b\n"

#: What must not be found anywhere, lower-cased (the search lowers the bytes it reads, and the
#: search index keeps its words lower-cased).
NEEDLES = (
    "quonkwright",
    "zyrafina",
    "quonk-mail",
    "de89 3704 0044",
    "de89370400440532013000",
    "x4815162342",
    "wobblecombe",
    "zyra-visitor",
    "qxattach-9d1f",
    "qxagentfile-5e2b",
)
#: Words of the planted text the search indexes would hold (checked through fts5vocab too).
INDEX_WORDS = {"zyrafina", "quonkwright", "quonk", "wobblecombe", "x4815162342", "de89", "qxattach", "zyra"}

#: The survey link is mailed only when the server knows its public address.
CHANNELS = {"public_url": "https://support.acme.test"}

CONTROL_NAME = "Keepme Controlperson"
CONTROL_EMAIL = "keepme.control@control-mail.example"
CONTROL_SCAN = b"control attachment KEEPCTRL-88aa stays\n"
CONTROL_NEEDLES = ("keepme controlperson", "keepctrl-88aa")


def mail(sender: str, name: str, subject: str, body: str, attachment: bytes, message_id: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"{name} <{sender}>"
    message["To"] = "Tier 1 <support@acme.test>"
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(utcnow())
    message.set_content(body)
    message.add_attachment(attachment, maintype="application", subtype="pdf", filename=f"scan-{name.split()[0]}.pdf")
    return message.as_bytes()


def signed(running: ChannelServer, channel: str, payload: dict[str, Any], secret: str) -> httpx.Response:
    body = json.dumps(payload).encode()
    with running.deployment.api(None) as client:
        return client.post(
            f"/v1/channels/{channel}",
            content=body,
            headers={"Content-Type": "application/json", **sign_webhook(secret, body)},
        )


def files_under(*roots: Path) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def found_in(paths: Iterable[Path], needles: Iterable[str]) -> list[tuple[str, str]]:
    """(file, needle) for every needle in the raw bytes (or the name) of every file."""
    hits = []
    for path in paths:
        data = path.read_bytes().lower() + b"\n" + str(path).lower().encode()
        hits += [(path.name, needle) for needle in needles if needle.encode() in data]
    return hits


def index_words(db: Path) -> set[str]:
    """Every word the search indexes of a SQLite file hold, deleted-but-unmerged entries included."""
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("CREATE VIRTUAL TABLE temp.t USING fts5vocab(main, ticket_fts, row)")
        connection.execute("CREATE VIRTUAL TABLE temp.c USING fts5vocab(main, customer_fts, row)")
        return {row[0] for row in connection.execute("SELECT term FROM temp.t UNION SELECT term FROM temp.c")}


def pulled_text(running: ChannelServer, who: str) -> str:
    """Everything a pull from cursor 0 hands ``who``, as one lower-cased JSON text."""
    pages, cursor = [], 0
    with running.deployment.api(who) as client:
        while True:
            page = client.get("/v1/pull", params={"cursor": cursor, "limit": 1000}).json()
            pages.append(page["changes"])
            cursor = page["cursor"]
            if not page["more"]:
                return json.dumps(pages, ensure_ascii=False).lower()


def plant(running: ChannelServer, sam: Replica, tom: Replica) -> dict[str, str]:
    """The customer (and the control customer) write on every channel; agents answer."""
    deployment = running.deployment
    mails = (
        (EMAIL, NAME, f"Refund to IBAN {IBAN}", f"Please refund DE89370400440532013000. Passport {PASSPORT}.", SCAN),
        (CONTROL_EMAIL, CONTROL_NAME, "Keepme question", f"Regards, {CONTROL_NAME}", CONTROL_SCAN),
    )
    for index, (sender, name, subject, body, scan) in enumerate(mails):
        raw = mail(sender, name, subject, body, scan, f"<ref-{index}-{sender}>")
        assert running.smtp(raw, sender, ["support@acme.test"])[0] == 250
    wait_for(lambda: len(running.relay.received) >= 2, "the two auto-replies")
    chat = {
        "conversation_id": f"conv-{HANDLE}",
        "visitor": {"id": HANDLE, "name": NAME, "email": EMAIL, "email_verified": True},
        "messages": [{"id": "l1", "text": f"Hi, it is {NAME}, passport {PASSPORT}"}],
    }
    assert signed(running, "chat", chat, CHAT_SECRET).status_code == 200
    form = {
        "submission_id": "form-1",
        "email": EMAIL,
        "name": NAME,
        "subject": "New address",
        "message": f"I moved to {STREET}.",
        "fields": {"iban": IBAN},
    }
    assert signed(running, "webform", form, FORM_SECRET).status_code == 200

    sam.sync()
    tickets = dict(
        sam.rows(
            "SELECT t.channel, t.id FROM ticket t JOIN identity i ON i.customer_id = t.requester_id WHERE i.value = ?",
            EMAIL,
        )
    )
    assert set(tickets) == {"email", "chat", "web"}, tickets
    sam.apply("ticket.note", {"ticket_id": tickets["email"], "body": f"Checked passport {PASSPORT} of {NAME}"})
    sam.apply("ticket.reply", {"ticket_id": tickets["chat"], "body": f"Thanks {NAME}, got it."})
    confirmation = sam.workspace.root.parent / "refund-confirmation.txt"
    confirmation.write_bytes(AGENT_FILE)
    sam.apply(
        "ticket.reply",
        {
            "ticket_id": tickets["email"],
            "body": f"Dear {NAME}, refunded to {IBAN}.",
            "status": "solved",
            "attachments": stage(sam.workspace, [confirmation], AttachmentLimits()),
        },
    )
    confirmation.unlink()
    assert not sam.sync().refused
    wait_for(lambda: len(running.relay.received) >= 4, "the reply and the survey link by mail")
    wait_for(lambda: running.receiver.requests, "the chat reply on the platform")
    survey = token_of(deployment, tickets["email"])
    with deployment.api(None) as customer:
        answered = customer.post(f"/v1/feedback/{survey}", json={"csat": "good", "comment": f"Post to {STREET}"})
        assert answered.status_code == 200, answered.text
    with closing(sam.workspace.connect()) as connection:
        save_draft(connection, Draft(tickets["web"], "reply", f"Dear {NAME}, about {STREET}"))
    sam.sync()
    tom.sync()
    token = deployment.team.tokens["tom"]
    for content in (SCAN, CONTROL_SCAN, AGENT_FILE):  # Tom opened the files: cached copies
        digest = hashlib.sha256(content).hexdigest()
        fetch(tom.workspace, digest, client=lambda: ServerClient(deployment.server.url, token))
    return tickets


def test_planting_is_found_before_the_erasure(tmp_path: Path) -> None:
    """The search finds every planted string before an erasure (it reads the right bytes)."""
    with channel_server("sqlite", tmp_path, CHANNELS) as running:
        sam = running.deployment.replica("sam")
        tom = running.deployment.replica("tom")
        try:
            plant(running, sam, tom)
            server = files_under(Path(running.deployment.server.db).parent)
            assert {n for _, n in found_in(server, NEEDLES)} == set(NEEDLES)
            assert {n for _, n in found_in(files_under(tmp_path / "ws-tom"), NEEDLES)} >= {
                "qxattach-9d1f",
                "qxagentfile-5e2b",
            }
            assert INDEX_WORDS - {"qxattach"} <= index_words(tom.workspace.db_path)
        finally:
            sam.close()
            tom.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_erasure_leaves_no_byte_of_the_customer_anywhere(backend: str, tmp_path: Path) -> None:
    with channel_server(backend, tmp_path, CHANNELS) as running:
        deployment = running.deployment
        sam = deployment.replica("sam")
        tom = deployment.replica("tom")
        try:
            tickets = plant(running, sam, tom)
            statistics = sam.rows("SELECT id, number, status, channel, group_id FROM ticket ORDER BY id")

            # Tom is offline: he renames the ticket and writes a note that quote the customer.
            tom.apply("ticket.set_subject", {"ticket_id": tickets["web"], "subject": f"Move to {STREET}"})
            tom.apply("ticket.note", {"ticket_id": tickets["chat"], "body": f"{NAME} passport {PASSPORT}"})

            ada = tmp_path / "ws-ada"
            token = deployment.team.tokens["ada"]
            login = supportdesk(
                "login", "--server", deployment.server.url, "--insecure-storage", workspace=ada, stdin=token
            )
            assert login.returncode == 0, login.stderr
            assert supportdesk("sync", workspace=ada).returncode == 0
            erased = supportdesk("customers", "erase", EMAIL, "--yes", workspace=ada)
            assert erased.returncode == 0, erased.stderr
            assert erased.stdout.startswith("erased ") and "3 tickets" in erased.stdout
            synced = supportdesk("sync", workspace=ada)
            assert synced.returncode == 0, synced.stderr

            assert not sam.sync().refused
            back = tom.sync()  # Tom comes back: his changes go, the erasure comes
            assert not back.refused
            assert any("was erased" in warning for warning in back.warnings), back.warnings

            # A pull from cursor 0 hands out nothing of the person, to the admin or an agent.
            for who in ("ada", "sam"):
                text = pulled_text(running, who)
                assert [n for n in NEEDLES if n in text] == [], who
                assert CONTROL_NEEDLES[0] in text

            # The statistics stand: the same tickets, numbers, statuses, channels and groups.
            assert sam.rows("SELECT id, number, status, channel, group_id FROM ticket ORDER BY id") == statistics
            assert tom.rows("SELECT subject FROM ticket WHERE id = ?", tickets["web"]) == [("(erased)",)]

            replicas = [tmp_path / "ws-sam", tmp_path / "ws-tom", ada]
            for root in replicas:
                files = files_under(root)
                assert any(p.name == "supportdesk.db" for p in files)
                assert found_in(files, NEEDLES) == [], root.name
                assert not INDEX_WORDS & index_words(root / "supportdesk.db"), root.name
                assert found_in([root / "supportdesk.db"], CONTROL_NEEDLES[:1]), root.name
            assert found_in(files_under(tmp_path / "ws-tom" / "attachments"), CONTROL_NEEDLES[1:])
            attachments = files_under(running.attachments)
            assert found_in(attachments, NEEDLES) == []
            assert found_in(attachments, CONTROL_NEEDLES[1:])
            if backend == "sqlite":
                server = [p for p in files_under(tmp_path) if p.name.startswith("server.db")]
                assert found_in(server, NEEDLES) == []
                assert not INDEX_WORDS & index_words(tmp_path / "server.db")
                assert found_in(server, CONTROL_NEEDLES[:1])
            else:
                assert_postgres_holds_no_byte(deployment.server.db)
        finally:
            sam.close()
            tom.close()


def assert_postgres_holds_no_byte(url: str) -> None:
    """A full logical dump finds nothing at once; after ``server compact`` (VACUUM FULL) neither do
    the data files of the database (read from the cluster's data directory)."""
    dump = subprocess.run(["pg_dump", "--data-only", url], capture_output=True, check=True).stdout.lower()
    assert [n for n in NEEDLES if n.encode() in dump] == []
    assert CONTROL_NEEDLES[0].encode() in dump
    compacted = supportdesk("server", "compact", "--db", url)
    assert compacted.returncode == 0, compacted.stderr
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("CHECKPOINT")
        data = connection.execute("SHOW data_directory").fetchone()
        oid = connection.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()
    assert data is not None and oid is not None
    folder = Path(data[0]) / "base" / str(oid[0])
    assert folder.is_dir(), f"the test needs to read the cluster's data files ({folder})"
    files = files_under(folder)
    assert found_in(files, NEEDLES) == []
    assert found_in(files, CONTROL_NEEDLES[:1])
