"""``supportdesk import --from rt``: a Request Tracker 5 database comes in.

Two sources: a database built here with RT's table layout (the columns RT 5's
``schema.SQLite`` gives the tables the importer reads), so the mapping and the hostile cases
run everywhere; and, where Debian's ``request-tracker5`` with ``rt5-db-sqlite`` is installed, a
real RT database filled through RT's own Perl API (``data/rt_fill.pl``).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from supportdesk.store import fts
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI

RT_FRESH_DB = Path("/var/lib/dbconfig-common/sqlite3/request-tracker5/rtdb")
RT_LIB = Path("/usr/share/request-tracker5/lib")
RT_FILL = Path(__file__).parent / "data" / "rt_fill.pl"

#: RT 5's tables as its schema.SQLite lays them out, with the columns the importer reads.
RT_TABLES = (
    "CREATE TABLE Tickets (id INTEGER PRIMARY KEY, EffectiveId integer DEFAULT 0, IsMerged int2, "
    "Queue integer DEFAULT 0, Type varchar(16), Owner integer DEFAULT 0, Subject varchar(200) DEFAULT "
    "'[no subject]', Priority integer DEFAULT 0, Status varchar(64), Resolved DATETIME, LastUpdated DATETIME, "
    "Creator integer DEFAULT 0, Created DATETIME)",
    "CREATE TABLE Transactions (id INTEGER PRIMARY KEY, ObjectType varchar(255), ObjectId integer DEFAULT 0, "
    "Type varchar(20), Field varchar(255), OldValue varchar(255), NewValue varchar(255), Creator integer "
    "DEFAULT 0, Created DATETIME)",
    "CREATE TABLE Attachments (id INTEGER PRIMARY KEY, TransactionId INTEGER, Parent integer DEFAULT 0, "
    "MessageId varchar(160), Subject varchar(255), Filename varchar(255), ContentType varchar(80), "
    "ContentEncoding varchar(80), Content LONGTEXT, Headers LONGTEXT, Creator integer DEFAULT 0, Created DATETIME)",
    "CREATE TABLE Users (id INTEGER, Name varchar(200) NOT NULL, EmailAddress varchar(120), "
    "Organization varchar(200), RealName varchar(120), Lang varchar(16))",
    "CREATE TABLE Queues (id INTEGER PRIMARY KEY, Name varchar(200) NOT NULL, CorrespondAddress varchar(120), "
    "Created DATETIME)",
    "CREATE TABLE Principals (id INTEGER PRIMARY KEY, PrincipalType VARCHAR(16) not null, Disabled int2 DEFAULT 0)",
    "CREATE TABLE Groups (id INTEGER, Name varchar(200), Domain varchar(64), Instance integer)",
    "CREATE TABLE GroupMembers (id INTEGER PRIMARY KEY, GroupId integer DEFAULT 0, MemberId integer DEFAULT 0)",
    "CREATE TABLE CustomFields (id INTEGER NOT NULL, Name varchar(200), LookupType varchar(255) NOT NULL, "
    "PRIMARY KEY (id))",
    "CREATE TABLE ObjectCustomFieldValues (id INTEGER NOT NULL, CustomField int NOT NULL, ObjectType "
    "varchar(255) NOT NULL, ObjectId int NOT NULL, SortOrder integer DEFAULT 0, Content varchar(255), "
    "LargeContent LONGTEXT, Disabled int2 DEFAULT 0, PRIMARY KEY (id))",
)


class FakeRT:
    """An RT-shaped database: users, one queue, tickets with transactions, as RT stores them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path)
        for statement in RT_TABLES:
            self.db.execute(statement)
        self.next_id = 100
        for user_id, name in ((1, "RT_System"), (6, "Nobody")):
            self.user(name, user_id=user_id)
        self.db.execute("INSERT INTO Groups VALUES (3, 'Privileged', 'SystemInternal', 0)")
        self.db.execute("INSERT INTO Queues VALUES (1, 'Billing <b>', 'billing@example.com', '2025-01-01 00:00:00')")
        self.db.execute("INSERT INTO CustomFields VALUES (7, 'Product Line', 'RT::Queue-RT::Ticket')")

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def user(self, name: str, *, email: str = "", real: str = "", agent: bool = False, user_id: int = 0) -> int:
        user_id = user_id or self._id()
        self.db.execute("INSERT INTO Principals VALUES (?, 'User', 0)", (user_id,))
        self.db.execute("INSERT INTO Users VALUES (?, ?, ?, '', ?, '')", (user_id, name, email, real))
        if agent:
            self.db.execute("INSERT INTO GroupMembers (GroupId, MemberId) VALUES (3, ?)", (user_id,))
        return user_id

    def ticket(
        self,
        rt_id: int,
        subject: str,
        requestor: int,
        *,
        status: str = "open",
        owner: int = 6,
        effective: int = 0,
        priority: int = 0,
        created: str = "2025-03-01 09:00:00",
    ) -> None:
        self.db.execute(
            "INSERT INTO Tickets VALUES (?, ?, NULL, 1, 'ticket', ?, ?, ?, ?, ?, '2025-03-02 10:00:00', ?, ?)",
            (rt_id, effective or rt_id, owner, subject, priority, status,
             "2025-03-02 10:00:00" if status == "resolved" else "1970-01-01 00:00:00", requestor, created),
        )  # fmt: skip
        group = self._id()
        self.db.execute("INSERT INTO Groups VALUES (?, 'Requestor', 'RT::Ticket-Role', ?)", (group, rt_id))
        self.db.execute("INSERT INTO GroupMembers (GroupId, MemberId) VALUES (?, ?)", (group, requestor))

    def transaction(
        self,
        rt_id: int,
        kind: str,
        author: int,
        parts: Iterable[tuple[str, str | bytes, str, str]],
        when: str = "2025-03-01 09:30:00",
        change: tuple[str, str, str] | None = None,
    ) -> int:
        """``parts``: (content type, content, encoding, filename); ``change``: (field, old, new)."""
        transaction_id = self._id()
        field, old, new = change or (None, None, None)
        self.db.execute(
            "INSERT INTO Transactions VALUES (?, 'RT::Ticket', ?, ?, ?, ?, ?, ?, ?)",
            (transaction_id, rt_id, kind, field, old, new, author, when),
        )
        for content_type, content, encoding, filename in parts:
            self.db.execute(
                "INSERT INTO Attachments (TransactionId, Parent, ContentType, ContentEncoding, Content, Filename, "
                "Headers, Created) VALUES (?, 0, ?, ?, ?, ?, 'Content-Type: text/plain; charset=\"utf-8\"', ?)",
                (transaction_id, content_type, encoding, content, filename, when),
            )
        return transaction_id

    def field(self, rt_id: int, value: str) -> None:
        self.db.execute(
            "INSERT INTO ObjectCustomFieldValues (id, CustomField, ObjectType, ObjectId, Content) "
            "VALUES (?, 7, 'RT::Ticket', ?, ?)",
            (self._id(), rt_id, value),
        )

    def close(self) -> Path:
        self.db.commit()
        self.db.close()
        return self.path


@pytest.fixture
def rt_db(tmp_path: Path) -> Path:
    rt = FakeRT(tmp_path / "rtdb")
    alice = rt.user("alice", email="alice@example.com", real="Alice Agent", agent=True)
    lena = rt.user("lena@example.com", email="lena@example.com", real="Lena Brandt")
    rt.ticket(1, "Refund <script>alert(1)</script> \x1b[31mnow", lena, status="resolved", owner=alice, priority=100)
    rt.transaction(1, "Create", lena, [("text/plain", "My invoice is wrong", "none", "")], "2025-03-01 09:00:00")
    rt.transaction(1, "Comment", alice, [("text/plain", "checking with finance", "none", "")])
    rt.transaction(
        1,
        "Correspond",
        alice,
        [("text/html", "<p>Refund sent.</p><script>alert(2)</script>", "none", ""),
         ("application/pdf", "JVBERi0xLjQgcmVmdW5k", "base64", "refund.pdf")],
        "2025-03-01 10:00:00",
    )  # fmt: skip
    rt.transaction(1, "Status", alice, [], "2025-03-01 10:05:00", ("Status", "open", "resolved"))
    rt.transaction(1, "Take", alice, [], "2025-03-01 10:06:00", ("Owner", "6", str(alice)))
    rt.transaction(1, "Set", alice, [], "2025-03-01 10:07:00", ("Subject", "x", "<b>y</b>"))  # not a message
    rt.transaction(1, "EmailRecord", 1, [("text/plain", "Greetings, this is RT's autoreply", "none", "")])
    rt.field(1, "Widgets")
    rt.field(1, "Gadgets")
    rt.ticket(2, "", 4242, status="stalled")  # a requestor RT no longer has
    rt.transaction(2, "Create", 4242, [("text/plain", "x" * 300_000, "none", "")])
    rt.transaction(2, "Correspond", 9999, [("text/plain", "from a deleted user", "none", "")])
    rt.ticket(3, "Merged away", lena, status="resolved", effective=1)
    rt.ticket(4, "Spam", lena, status="deleted")
    rt.ticket(5, "Rejected", lena, status="rejected", priority=30)
    rt.transaction(5, "Create", lena, [("text/plain", "Q2Fmw6kgbWl0IE1pbGNo", "base64", "")])
    return rt.close()


def test_rt_import_maps_queues_people_statuses_and_messages(cli: CLI, rt_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "from-rt"
    result = cli("import", "--from", "rt", str(rt_db), workspace=target)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "imported 4 tickets (8 messages), 1 agents and 1 groups added"
    listed = {t["number"]: t for t in json.loads(cli("tickets", "list", "--json", workspace=target).stdout)}
    assert set(listed) == {1, 2, 3, 5}  # the deleted ticket stays out
    assert [listed[n]["status"] for n in (1, 2, 3, 5)] == ["solved", "on_hold", "closed", "closed"]
    assert [listed[n]["priority"] for n in (1, 2, 5)] == ["high", "normal", "low"]
    shown = json.loads(cli("tickets", "show", "1", "--json", workspace=target).stdout)
    assert shown["group"] == "Billing <b>" and shown["assignee"] == "Alice Agent"
    assert shown["requester"] == "Lena Brandt" and shown["requester_email"] == "lena@example.com"
    assert "\x1b" not in shown["subject"] and shown["subject"].startswith("Refund <script>")
    assert [(m["direction"], m["visibility"], m["author"]) for m in shown["messages"]] == [
        ("inbound", "public", "Lena Brandt"),
        ("outbound", "internal", "Alice Agent"),
        ("outbound", "public", "Alice Agent"),
        ("outbound", "internal", "supportdesk"),
        ("outbound", "internal", "supportdesk"),
    ]  # RT's own mail records and changes of other fields are not messages
    assert [m["body"] for m in shown["messages"][3:]] == [
        "Status changed from open to resolved by Alice Agent",
        "Owner changed from nobody to Alice Agent by Alice Agent",
    ]
    assert shown["messages"][3]["meta"]["request_tracker"]["field"] == "Status"
    assert shown["messages"][2]["body"] == "Refund sent."  # HTML-only mail as text, scripts dropped
    assert shown["messages"][2]["attachments"][0]["filename"] == "refund.pdf"
    assert shown["fields"]["rt_product_line"] == "Widgets, Gadgets" and shown["fields"]["rt_id"] == 1
    assert shown["first_response_at"] == "2025-03-01T10:00:00Z" and shown["solved_at"] == "2025-03-02T10:00:00Z"
    merged = json.loads(cli("tickets", "show", "3", "--json", workspace=target).stdout)
    assert merged["merged_into_id"] == shown["id"]
    rejected = json.loads(cli("tickets", "show", "5", "--json", workspace=target).stdout)
    assert rejected["messages"][0]["body"] == "Café mit Milch"  # base64 part decoded
    ws = Workspace.open(target)
    with ws.reading() as connection:
        stored = connection.execute("SELECT sha256, size FROM attachment").fetchone()
    assert stored[1] == len(b"%PDF-1.4 refund") and (ws.attachments_dir / stored[0][:2] / stored[0]).exists()
    found = json.loads(cli("tickets", "list", "-q", "finance", "--json", workspace=target).stdout)
    assert [t["number"] for t in found] == [1]  # searchable: the internal note's words are indexed


def test_rt_import_survives_missing_users_and_huge_bodies(cli: CLI, rt_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "from-rt"
    assert cli("import", "--from", "rt", str(rt_db), workspace=target).code == 0
    odd = json.loads(cli("tickets", "show", "2", "--json", workspace=target).stdout)
    assert odd["subject"] == "(no subject)"
    huge, orphan = odd["messages"]
    assert len(huge["body"]) == 200_000 and huge["meta"]["request_tracker"]["truncated_from_bytes"] == 300_000
    assert orphan["author_kind"] == "system" and orphan["body"] == "from a deleted user"
    assert odd["requester"] == "RT user 4242"


def test_rt_import_rerun_imports_nothing_twice(cli: CLI, rt_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "from-rt"
    assert cli("import", "--from", "rt", str(rt_db), workspace=target).code == 0
    ws = Workspace.open(target)
    with ws.reading() as connection:
        before = [
            connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("ticket", "message", "customer")
        ]
        audited = connection.execute("SELECT count(*) FROM audit_event WHERE field = 'ticket.imported'").fetchone()[0]
    rerun = cli("import", "--from", "rt", str(rt_db), workspace=target)
    assert rerun.stdout.strip() == "imported 0 tickets (0 messages), 4 already here"
    with ws.reading() as connection:
        after = [
            connection.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("ticket", "message", "customer")
        ]
        assert connection.execute("SELECT count(*) FROM ticket_timing").fetchone()[0] == 4  # SLA rows for all
    assert before == after and audited == 4
    with closing(sqlite3.connect(target / "supportdesk.db")) as raw:
        fts.integrity_check(raw)


def test_rt_import_dry_run_writes_nothing(cli: CLI, rt_db: Path, tmp_path: Path) -> None:
    target = tmp_path / "from-rt"
    result = cli("import", "--from", "rt", str(rt_db), "--dry-run", workspace=target)
    assert result.code == 0 and result.stdout.startswith("would import 4 tickets")
    ws = Workspace.open(target)
    with ws.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0
    assert not any(ws.attachments_dir.rglob("*")) if ws.attachments_dir.exists() else True


def test_rt_import_refuses_what_is_not_an_rt_database(cli: CLI, tmp_path: Path) -> None:
    assert cli("import", "--from", "rt", str(tmp_path / "missing")).code == 2
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    result = cli("import", "--from", "rt", str(text))
    assert result.code == 2 and "not an SQLite database" in result.stderr and "Traceback" not in result.stderr
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE Tickets (id INTEGER)")
    result = cli("import", "--from", "rt", str(other))
    assert result.code == 2 and "not a Request Tracker database" in result.stderr
    odd = tmp_path / "odd.db"  # RT's table names, another layout: one line, no traceback
    with closing(sqlite3.connect(odd)) as db:
        for name in ("Tickets", "Transactions", "Attachments", "Users", "Queues", "Groups", "GroupMembers"):
            db.execute(f"CREATE TABLE {name} (id INTEGER, Type TEXT, Status TEXT)")
        db.execute("CREATE TABLE Principals (id INTEGER)")
        db.execute("INSERT INTO Tickets VALUES (1, 'ticket', 'open')")
        db.commit()
    result = cli("import", "--from", "rt", str(odd))
    assert result.code == 2 and "cannot read the RT database" in result.stderr and "Traceback" not in result.stderr


def _rt_rows(path: Path, sql: str) -> list[Any]:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(sql).fetchall()


@pytest.mark.integration
@pytest.mark.skipif(not (RT_FRESH_DB.exists() and RT_LIB.exists()), reason="needs request-tracker5 + rt5-db-sqlite")
def test_rt_import_from_a_real_request_tracker(cli: CLI, tmp_path: Path) -> None:
    """RT's own API fills a copy of Debian's fresh RT database; the import matches it."""
    database = tmp_path / "rtdb"
    shutil.copy(RT_FRESH_DB, database)
    filled = subprocess.run(
        ["perl", str(RT_FILL), str(database), "6"], capture_output=True, text=True, timeout=600, check=False
    )
    assert filled.returncode == 0, filled.stderr[-2000:]
    target = tmp_path / "from-rt"
    result = cli("import", "--from", "rt", str(database), workspace=target)
    assert result.code == 0, result.stderr
    live = _rt_rows(database, "SELECT id, Status FROM Tickets WHERE Status != 'deleted' ORDER BY id")
    listed = {t["number"]: t for t in json.loads(cli("tickets", "list", "--json", workspace=target).stdout)}
    assert sorted(listed) == [row[0] for row in live]
    expected = {"stalled": "on_hold", "resolved": "solved", "rejected": "closed", "open": "open", "new": "new"}
    for rt_id, status in live:
        assert listed[rt_id]["status"] == ("closed" if rt_id == 6 else expected[status])  # 6 is merged into 1
    texts = _rt_rows(
        database,
        "SELECT a.Content FROM Attachments a JOIN Transactions t ON t.id = a.TransactionId "
        "JOIN Tickets k ON k.id = t.ObjectId WHERE t.ObjectType = 'RT::Ticket' AND k.Status != 'deleted' "
        "AND t.Type IN ('Create', 'Correspond', 'Comment') AND a.ContentType = 'text/plain' AND a.Filename IS NULL",
    )
    ws = Workspace.open(target)
    with ws.reading() as connection:
        changes = "json_extract(meta, '$.request_tracker.field') IS NOT NULL"
        bodies = [row[0] for row in connection.execute(f"SELECT body FROM message WHERE NOT {changes}")]
        internal = connection.execute(f"SELECT count(*) FROM message WHERE public = 0 AND NOT {changes}").fetchone()[0]
        noted = [row[0] for row in connection.execute(f"SELECT body FROM message WHERE {changes} ORDER BY id")]
        files = connection.execute("SELECT count(*) FROM attachment").fetchone()[0]
    rt_changes = _rt_rows(
        database,
        "SELECT count(*) FROM Transactions t JOIN Tickets k ON k.id = t.ObjectId WHERE t.ObjectType = 'RT::Ticket' "
        "AND k.Status != 'deleted' AND t.Field IN ('Status', 'Owner') "
        "AND t.Type IN ('Status', 'Set', 'Take', 'Give', 'Steal', 'Untake')",
    )[0][0]
    assert len(noted) == rt_changes and "Owner changed from nobody to Alice Agent by Alice Agent" in noted
    assert "Status changed from open to resolved by Alice Agent" in noted
    assert len(bodies) == len(texts) and internal == len(live)  # one comment per ticket
    assert sorted(b[:50] for b in bodies) == sorted(str(t[0]).strip()[:50] for t in texts)
    assert files == len([n for n in range(1, 7) if n % 4 == 1 and n != 5])  # invoice PDFs, less the deleted
    shown = json.loads(cli("tickets", "show", "2", "--json", workspace=target).stdout)
    assert shown["assignee"] is None and shown["fields"]["rt_product_line"] == "Widget 2"
    assert max(len(m["body"]) for m in shown["messages"]) == 200_000  # the huge reply is capped, the ticket came in
    rerun = cli("import", "--from", "rt", str(database), workspace=target)
    assert rerun.stdout.strip().startswith("imported 0 tickets (0 messages)")
