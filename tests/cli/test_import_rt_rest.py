"""``supportdesk import --from rt --url``: a running Request Tracker read over its REST2 API.

Two servers: Debian's real RT 5 (``request-tracker5`` with ``rt5-db-sqlite``), started here on
a copy of its fresh database filled through RT's own Perl API (``data/rt_fill.pl``), whose
import over REST2 must give the very rows the import of its database file gives; and, for what
a real RT will not do on request (answer HTML, malformed JSON, redirect elsewhere, send more
than it announced), a small hostile stand-in on another loopback port.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from supportdesk.domain import request_tracker_rest
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.test_import_rt import RT_FILL, RT_FRESH_DB, RT_LIB
from tests.live import free_port

RT_AUTH = Path(__file__).parent / "data" / "rt_auth.pl"
RT_APP = Path("/usr/share/request-tracker5/libexec/rt-server")
PLACKUP = Path("/usr/bin/plackup")
PASSWORD = "correct horse battery"
needs_rt = pytest.mark.skipif(
    not (RT_FRESH_DB.exists() and RT_LIB.exists() and RT_APP.exists() and PLACKUP.exists()),
    reason="needs Debian's request-tracker5 + rt5-db-sqlite (plackup, RT's REST2)",
)

pytestmark = pytest.mark.integration


# --- a real RT ------------------------------------------------------------------------------


@dataclass
class LiveRT:
    url: str
    token: str
    database: Path


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 240.0) -> None:
    """Until RT answers its REST2 root (401 without credentials): RT loads for many seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"RT stopped while starting: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{url}/REST/2.0/rt", timeout=5).status_code in (200, 401):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"RT did not answer within {timeout:.0f} s: {log.read_text(errors='replace')[-2000:]}")


@pytest.fixture(scope="module")
def live_rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveRT]:
    """RT's web app (PSGI, under plackup) on a filled copy of the fresh database: its own site
    config (RT_SITE_CONFIG), its caches in the test's directory, nothing under /etc changed."""
    home = tmp_path_factory.mktemp("rt")
    database = home / "rtdb"
    shutil.copy(RT_FRESH_DB, database)
    for script, args in ((RT_FILL, ["6"]), (RT_AUTH, [PASSWORD])):
        done = subprocess.run(
            ["perl", str(script), str(database), *args], capture_output=True, text=True, timeout=600, check=False
        )
        assert done.returncode == 0, done.stderr[-2000:]
    token = done.stdout.strip().splitlines()[-1]
    port = free_port()
    for name in ("mason", "sessions", "site.d"):
        (home / name).mkdir()
    config = home / "RT_SiteConfig.pm"
    config.write_text(
        "\n".join(
            [
                "Set($DatabaseType, 'SQLite');",
                f"Set($DatabaseName, '{database}');",
                "Set($WebDomain, '127.0.0.1');",
                f"Set($WebPort, {port});",
                "Set($WebPath, '');",
                f"Set($MasonDataDir, '{home / 'mason'}');",
                f"Set($MasonSessionDir, '{home / 'sessions'}');",
                "Set($LogToSTDERR, 'error');",
                "Set($LogToSyslog, undef);",
                "Set($LogToFile, undef);",
                "Set($MailCommand, 'testfile');",
                "1;",
            ]
        )
    )
    env = {**os.environ, "RT_SITE_CONFIG": str(config), "RT_SITE_CONFIG_DIR": str(home / "site.d")}
    starlet = subprocess.run(["perl", "-MStarlet", "-e1"], capture_output=True, check=False).returncode == 0
    server = ["-s", "Starlet", "--max-workers", "2"] if starlet else []
    log = home / "rt.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(PLACKUP), *server, "-E", "deployment", "--host", "127.0.0.1", "--port", str(port), str(RT_APP)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        yield LiveRT(url, token, database)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _rows(target: Path) -> dict[str, list[Any]]:
    """What an import wrote: the rows a file import and a URL import must share."""
    queries = {
        "ticket": "SELECT id, number, subject, status, priority, group_id, assignee_id, requester_id, merged_into_id, "
        "fields, created_at, updated_at, first_response_at, solved_at FROM ticket ORDER BY id",
        "message": "SELECT id, ticket_id, public, direction, author_kind, author_agent_id, author_customer_id, body, "
        "meta, created_at FROM message ORDER BY id",
        "attachment": "SELECT id, message_id, filename, content_type, size, sha256 FROM attachment ORDER BY id",
        "customer": "SELECT id, name FROM customer ORDER BY id",
        "agent": "SELECT id, name, email FROM agent ORDER BY id",
        "groups": "SELECT id, name, email FROM groups ORDER BY id",
    }
    ws = Workspace.open(target)
    try:
        with ws.reading() as connection:
            return {name: [tuple(row) for row in connection.execute(sql)] for name, sql in queries.items()}
    finally:
        ws.close()


def _exported(cli: CLI, target: Path) -> list[dict[str, Any]]:
    """``supportdesk export`` of a workspace, less when its customers were written here."""
    result = cli("export", workspace=target)
    assert result.code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    for record in records:
        for customer in record["customers"]:
            for entry in (customer, *customer.get("identities", [])):
                entry.pop("created_at", None)
                entry.pop("updated_at", None)
    return records


@needs_rt
def test_rest_import_gives_the_rows_the_database_import_gives(
    cli: CLI, live_rt: LiveRT, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small pages and batches, so RT's paging and the batching are walked for real."""
    monkeypatch.setattr(request_tracker_rest, "PER_PAGE", 3)
    monkeypatch.setattr(request_tracker_rest, "BATCH", 2)
    monkeypatch.setenv("SUPPORTDESK_RT_TOKEN", live_rt.token)
    by_url, by_file = tmp_path / "by-url", tmp_path / "by-file"
    result = cli("import", "--from", "rt", "--url", live_rt.url, workspace=by_url)
    assert result.code == 0, result.stderr
    assert result.stdout.strip().startswith("imported 5 tickets (")  # 6 made, 1 deleted
    assert cli("import", "--from", "rt", str(live_rt.database), workspace=by_file).code == 0
    url_rows, file_rows = _rows(by_url), _rows(by_file)
    assert url_rows == file_rows
    assert len(url_rows["ticket"]) == 5 and len(url_rows["attachment"]) == 1  # invoice-1.pdf (5 is deleted)
    assert _exported(cli, by_url) == _exported(cli, by_file)
    with closing(sqlite3.connect(live_rt.database)) as rt:
        live = dict(rt.execute("SELECT id, Status FROM Tickets WHERE Status != 'deleted'").fetchall())
    listed = {t["number"]: t for t in json.loads(cli("tickets", "list", "--json", workspace=by_url).stdout)}
    mapped = {"stalled": "on_hold", "resolved": "solved", "rejected": "closed", "open": "open", "new": "new"}
    assert {n: t["status"] for n, t in listed.items()} == {
        n: "closed" if n == 6 else mapped[s] for n, s in live.items()
    }  # 6 is merged into 1
    for number, ticket in listed.items():
        assert "\x1b" not in ticket["subject"] and ticket["subject"].startswith(f"Refund <script>alert({number})")
    shown = json.loads(cli("tickets", "show", "1", "--json", workspace=by_url).stdout)
    assert shown["messages"][0]["body"] == "Body of ticket 1"
    assert shown["messages"][0]["attachments"][0]["filename"] == "invoice-1.pdf"
    assert any("<img src=x onerror=alert(1)>" in m["body"] for m in shown["messages"])  # inert text
    notes = [m["body"] for m in shown["messages"] if m["meta"]["request_tracker"].get("field")]
    assert notes == [
        "Status changed from new to open",  # RT's own, on the first reply
        "Owner changed from nobody to Alice Agent by Alice Agent",
        "Status changed from open to stalled by Alice Agent",
    ]
    huge = json.loads(cli("tickets", "show", "2", "--json", workspace=by_url).stdout)
    assert max(len(m["body"]) for m in huge["messages"]) == 200_000  # RT's 300 KB reply, capped as from the file


@needs_rt
def test_rest_rerun_and_password_login_import_nothing_twice(
    cli: CLI, live_rt: LiveRT, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "rt"
    assert cli("import", "--from", "rt", str(live_rt.database), workspace=target).code == 0
    before = _rows(target)
    monkeypatch.setenv("SUPPORTDESK_RT_PASSWORD", PASSWORD)
    rerun = cli("import", "--from", "rt", "--url", live_rt.url, "--user", "alice", workspace=target)
    assert rerun.code == 0, rerun.stderr
    assert rerun.stdout.strip() == "imported 0 tickets (0 messages), 5 already here"
    assert _rows(target) == before
    monkeypatch.setenv("SUPPORTDESK_RT_PASSWORD", "wrong")
    refused = cli("import", "--from", "rt", "--url", live_rt.url, "--user", "alice", workspace=target)
    assert refused.code == 4 and "refused the credentials (HTTP 401)" in refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr


def test_rest_import_needs_credentials_and_an_address(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUPPORTDESK_RT_TOKEN", raising=False)
    monkeypatch.delenv("SUPPORTDESK_RT_PASSWORD", raising=False)
    target = tmp_path / "rt"
    cases = [
        (("--url", "http://127.0.0.1:9"), "needs RT credentials"),
        (("--url", "http://127.0.0.1:9", "--user", "alice"), "no password for RT user alice"),
        (("--url", "ftp://rt.example.com", "--token", "t"), "--url takes RT's http(s) address"),
        (("--url", "http://127.0.0.1:9", "some-file"), "give --from rt and no FILE"),
        ((), "give the FILE to import (or --url for a running RT)"),
    ]
    for args, message in cases:
        result = cli("import", "--from", "rt", *args, workspace=target)
        assert result.code == 2 and message in result.stderr, (args, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    down = cli("import", "--from", "rt", "--url", f"http://127.0.0.1:{free_port()}", "--token", "t", workspace=target)
    assert down.code == 4 and "cannot reach RT at" in down.stderr and down.stderr.count("\n") == 1


# --- a hostile stand-in ---------------------------------------------------------------------

Answer = tuple[int, str, bytes]


@dataclass
class FakeRT:
    """A loopback HTTP server answering what ``answer(method, path, query, body)`` says."""

    answer: Callable[[str, str, dict[str, list[str]], Any], Answer]
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, Authorization
    url: str = ""

    def __enter__(self) -> FakeRT:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.seen.append((self.command, parts.path, self.headers.get("Authorization") or ""))
                status, content_type, body = fake.answer(
                    self.command, parts.path, parse_qs(parts.query), json.loads(raw) if raw else None
                )
                self.send_response(status)
                if content_type.startswith("location:"):
                    self.send_header("Location", content_type.removeprefix("location:"))
                else:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _serve  # noqa: N815 (http.server's names)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _page(items: list[dict[str, Any]]) -> Answer:
    body = {"items": items, "count": len(items), "total": len(items), "page": 1, "pages": 1, "per_page": 100}
    return 200, "application/json; charset=utf-8", json.dumps(body).encode()


HOSTILE_BODY = "Refund <script>alert(1)</script> \x1b]0;owned\x07\x1b[2J now"
PARTS = [
    {"id": "200", "TransactionId": "100", "ContentType": "text/plain", "Filename": "", "ContentLength": "60",
     "Headers": 'Content-Type: text/plain; charset="utf-8"'},
    {"id": "201", "TransactionId": "100", "ContentType": "application/pdf", "Filename": "huge.pdf",
     "ContentLength": str(60 * 1024 * 1024), "Headers": "Content-Type: application/pdf"},
    {"id": "202", "TransactionId": "100", "ContentType": "application/octet-stream", "Filename": "liar.bin",
     "ContentLength": "3000", "Headers": "Content-Type: application/octet-stream"},
    {"id": "203", "TransactionId": "100", "ContentType": "application/pdf", "Filename": "ok.pdf",
     "ContentLength": "15", "Headers": "Content-Type: application/pdf"},
]  # fmt: skip


def rt_answers(method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
    """Just enough of RT's REST2 for one ticket: a hostile subject, body and parts."""
    path = path.removeprefix("/REST/2.0")
    if path == "/tickets":
        subject = "Invoice <b>wrong</b> \x1b[31mred\x1b[0m"
        return _page([
            {"id": "7", "EffectiveId": "7", "Queue": {"id": 3}, "Owner": {"id": 6}, "Subject": subject,
             "Status": "open", "Priority": "0", "Resolved": "1970-01-01T00:00:00Z",
             "LastUpdated": "2025-03-01T10:00:00Z", "Created": "2025-03-01T09:00:00Z", "Creator": {"id": 40},
             "Requestor": [{"type": "user", "id": 40}], "CustomFields": [{"name": "Plan", "values": ["<i>Pro</i>"]}]}
        ])  # fmt: skip
    if path == "/users":
        return _page([
            {"id": 6, "Name": "Nobody"},
            {"id": 40, "Name": "lena@example.com", "EmailAddress": "lena@example.com", "RealName": "Lena \x1b[5mB"},
        ])  # fmt: skip
    if path == "/groups":
        return _page([{"id": "4", "type": "group"}])
    if path == "/group/4/members":
        return _page([])
    if path == "/queues/all":
        return _page([{"id": "3", "Name": "Billing", "CorrespondAddress": "billing@example.com"}])
    if path == "/transactions":
        return _page([{"id": "100", "ObjectId": "7", "Type": "Create", "Creator": {"id": 40},
                       "Created": "2025-03-01T09:00:00Z"}])  # fmt: skip
    if path == "/attachments" and body and body[0]["field"] == "TransactionId":
        return _page(PARTS)
    if path == "/attachments":  # contents, as RT gives them in a search: text as text, bytes as characters
        contents = {200: HOSTILE_BODY, 203: "%PDF-1.4 \xe9\xff\x00ok"}
        return _page([{"id": str(i), "Content": contents[i]} for i in body[0]["value"] if i in contents])
    if path == "/attachment/202":  # announced 3,000 bytes, sends far more
        content = base64.b64encode(b"A" * 200_000).decode()
        return 200, "application/json", json.dumps({"id": 202, "Content": content}).encode()
    return 404, "application/json", b'{"message": "not found"}'


def test_rest_import_treats_rts_text_and_sizes_as_hostile(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_tracker_rest, "CONTENT_BUDGET", 1000)  # 3,000 bytes: asked for alone
    monkeypatch.setattr(request_tracker_rest, "MAX_PART_ANSWER_BYTES", 50_000)  # …and cut off here
    target = tmp_path / "rt"
    with FakeRT(rt_answers) as rt:
        result = cli("import", "--from", "rt", "--url", rt.url, "--token", "s3cret", workspace=target)
    assert result.code == 0, result.stderr
    assert result.stdout.strip() == "imported 1 tickets (1 messages), 0 agents and 1 groups added"
    fetched = [path for _, path, _ in rt.seen]
    assert "/REST/2.0/attachment/201" not in fetched  # 60 MB announced: never downloaded
    assert all(auth == "token s3cret" for _, _, auth in rt.seen)
    shown = json.loads(cli("tickets", "show", "7", "--json", workspace=target).stdout)
    assert "\x1b" not in shown["subject"] and shown["subject"].startswith("Invoice <b>wrong</b>")
    body = shown["messages"][0]["body"]
    assert "\x1b" not in body and "\x07" not in body and "<script>alert(1)</script>" in body
    assert "\x1b" not in shown["requester"]
    assert shown["fields"]["rt_plan"] == "<i>Pro</i>"
    named = {a["filename"]: a["size"] for a in shown["messages"][0]["meta"]["request_tracker"]["attachments"]}
    assert named["huge.pdf"] == 60 * 1024 * 1024 and named["liar.bin"] > 3000
    assert [a["filename"] for a in shown["messages"][0]["attachments"]] == ["ok.pdf"]
    ws = Workspace.open(target)
    with ws.reading() as connection:
        sha, size = connection.execute("SELECT sha256, size FROM attachment").fetchone()
    assert (ws.attachments_dir / sha[:2] / sha).read_bytes() == b"%PDF-1.4 \xe9\xff\x00ok" and size == 14
    ws.close()


def _always(status: int, content_type: str, body: bytes) -> Callable[..., Answer]:
    return lambda *_: (status, content_type, body)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (_always(200, "text/html", b"<html><form>Login</form></html>"), "with text/html (HTTP 200), not REST2 JSON"),
        (_always(200, "application/json", b'{"items": [1, 2'), "with malformed JSON"),
        (_always(401, "text/plain", b"Authorization required"), "refused the credentials (HTTP 401)"),
        (_always(500, "application/json", b'{"message": "boom \\u001b[2J"}'), "with HTTP 500: boom"),
        (_always(200, "application/json", b'{"total": 1, "items": "nope"}'), "without a list of items"),
        (_always(200, "application/json", b'{"items": [{"id": "1"}, {"id": "2"}]}'), "with page 1 again"),
    ],
    ids=["html", "malformed-json", "401", "500", "no-items", "endless-pages"],
)
def test_a_broken_rt_is_one_line_and_exit_4(
    cli: CLI, tmp_path: Path, answer: Callable[..., Answer], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(request_tracker_rest, "PER_PAGE", 2)  # every page full: the same one, forever
    target = tmp_path / "rt"
    with FakeRT(answer) as rt:
        result = cli("import", "--from", "rt", "--url", rt.url, "--token", "t", workspace=target)
    assert result.code == 4 and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr and "\x1b" not in result.stderr


def test_a_redirect_to_another_host_takes_no_credentials_along(cli: CLI, tmp_path: Path) -> None:
    with (
        FakeRT(_always(200, "application/json", b"{}")) as elsewhere,
        FakeRT(_always(302, f"location:{elsewhere.url}/REST/2.0/tickets", b"")) as rt,
    ):
        result = cli("import", "--from", "rt", "--url", rt.url, "--token", "s3cret", workspace=tmp_path / "rt")
    assert result.code == 4 and "another host; not following it" in result.stderr
    assert elsewhere.seen == [] and result.stderr.count("\n") == 1


def test_a_redirect_within_rt_is_followed(cli: CLI, tmp_path: Path) -> None:
    def moved(method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        if path.startswith("/old/"):
            return 301, "location:" + path.replace("/old/", "/", 1) + "?" + urlencode(query, doseq=True), b""
        return rt_answers(method, path, query, body)

    with FakeRT(moved) as rt:
        result = cli("import", "--from", "rt", "--url", rt.url + "/old", "--token", "t", workspace=tmp_path / "rt")
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("imported 1 tickets")


def test_a_dry_run_over_rest_reads_everything_and_writes_nothing(cli: CLI, tmp_path: Path) -> None:
    target = tmp_path / "rt"
    with FakeRT(rt_answers) as rt:
        result = cli("import", "--from", "rt", "--url", rt.url, "--token", "t", "--dry-run", workspace=target)
    assert result.code == 0 and result.stdout.startswith("would import 1 tickets (1 messages)"), result.stderr
    ws = Workspace.open(target)
    with ws.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0
    assert not any(ws.attachments_dir.rglob("*")) if ws.attachments_dir.exists() else True
    ws.close()


def test_a_short_page_is_not_the_last_when_rt_says_more_follow(tmp_path: Path) -> None:
    """RT checks some rights in code: a page then holds fewer items than asked for (those the
    agent may not see are left out), and RT says more follow (``next_page``; ``pages`` when it
    counts). Stopping at the first short page imported part of RT without a word."""

    def pages(method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        page = int(query["page"][0])
        items = {1: [{"id": "1"}], 2: [], 3: [{"id": "3"}, {"id": "4"}]}[page]
        answer: dict[str, Any] = {"items": items, "count": len(items), "page": page, "per_page": 2, "total": None}
        if page < 3:
            answer["next_page"] = f"http://elsewhere.example/REST/2.0/tickets?page={page + 1}"
        return 200, "application/json", json.dumps(answer).encode()

    with FakeRT(pages) as rt, request_tracker_rest.RTClient(rt.url, request_tracker_rest.Credentials(token="t")) as c:
        assert [item["id"] for item in c.pages("GET", "/tickets")] == ["1", "3", "4"]
    counted = {"items": [{"id": "1"}], "total": 3, "pages": 2, "page": 1, "per_page": 2}
    with (
        FakeRT(lambda _m, _p, q, _b: (200, "application/json", json.dumps(
            counted if q["page"] == ["1"] else {"items": [{"id": "2"}, {"id": "3"}], "pages": 2}).encode()))
        as rt,
        request_tracker_rest.RTClient(rt.url, request_tracker_rest.Credentials(token="t")) as client,
    ):  # fmt: skip
        assert [item["id"] for item in client.pages("GET", "/tickets")] == ["1", "2", "3"]


def test_a_password_in_the_url_is_refused_and_never_shown(cli: CLI, tmp_path: Path) -> None:
    """``https://alice:secret@rt…`` would send the password with every request and print it in
    every error line ("RT at https://alice:secret@…"): the password goes by --user, never the URL."""
    for url in ("http://alice:hunter2@127.0.0.1:9", "ftp://alice:hunter2@rt.example.com"):
        result = cli("import", "--from", "rt", "--url", url, "--token", "t", workspace=tmp_path / "rt")
        assert result.code == 2 and "hunter2" not in result.stderr + result.stdout, result.stderr
        assert "--user" in result.stderr and result.stderr.count("\n") == 1


def test_empty_pages_that_always_promise_more_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_tracker_rest, "MAX_EMPTY_PAGES", 3)
    endless = json.dumps({"items": [], "total": None, "next_page": "more"}).encode()
    with (
        FakeRT(_always(200, "application/json", endless)) as rt,
        request_tracker_rest.RTClient(rt.url, request_tracker_rest.Credentials(token="t")) as client,
        pytest.raises(request_tracker_rest.RTServerError, match="4 empty pages of /tickets in a row"),
    ):
        list(client.pages("GET", "/tickets"))
    assert len(rt.seen) == 4


def test_pages_of_new_ids_that_always_promise_more_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each page new ids (so not "page N again"), or two pages in turn, and always more to come:
    the import ends with one line after the most pages any RT could have."""
    monkeypatch.setattr(request_tracker_rest, "MAX_PAGES", 5)

    def fresh(method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        page = int(query["page"][0])
        return 200, "application/json", json.dumps({"items": [{"id": str(page)}], "next_page": "more"}).encode()

    def in_turn(method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        page = int(query["page"][0])
        return 200, "application/json", json.dumps({"items": [{"id": str(page % 2)}], "next_page": "more"}).encode()

    for answer in (fresh, in_turn):
        with (
            FakeRT(answer) as rt,
            request_tracker_rest.RTClient(rt.url, request_tracker_rest.Credentials(token="t")) as client,
            pytest.raises(request_tracker_rest.RTServerError, match="promised more than 5 pages of /tickets"),
        ):
            list(client.pages("GET", "/tickets"))
        assert len(rt.seen) == 5


def test_an_rt_that_hides_its_privileged_group_is_asked_user_by_user(tmp_path: Path) -> None:
    """Debian's RT 5.0.3+dfsg-3~deb12u7 shows no system group over REST2: who is privileged is
    then read from ``/user/N``, once per user asked about; only 1 or true make an agent."""
    flags: dict[int, Any] = {1: 1, 2: "1", 3: True, 4: 0, 5: "", 6: "yes", 7: [1], 8: 1.0, 9: None}

    def users(method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        user_id = int(path.rsplit("/", 1)[1])
        return 200, "application/json", json.dumps({"id": user_id, "Privileged": flags[user_id]}).encode()

    with FakeRT(users) as rt, request_tracker_rest.RTClient(rt.url, request_tracker_rest.Credentials(token="t")) as c:
        asked = request_tracker_rest._AskedPrivileged(c)
        assert {user for user in flags for _ in range(2) if user in asked} == {1, 2, 3}
        assert "1" not in asked and True not in asked  # not user ids: never sent to RT
        assert sorted(path for _, path, _ in rt.seen) == sorted(f"/REST/2.0/user/{user}" for user in flags)


@pytest.mark.parametrize("created", ["9999-12-31T23:59:59-05:00", "yesterday"])
def test_a_time_rt_sends_that_is_no_time_is_one_line(cli: CLI, tmp_path: Path, created: str) -> None:
    """A ``Created`` past the calendar's end in UTC stopped the import with "unexpected
    OverflowError" (a traceback's worth of a bug report); it is bad input like a malformed time."""

    def answers(method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        if path.removeprefix("/REST/2.0") == "/tickets":
            status, kind, data = rt_answers(method, path, query, body)
            page = json.loads(data)
            page["items"][0]["Created"] = created
            return status, kind, json.dumps(page).encode()
        return rt_answers(method, path, query, body)

    with FakeRT(answers) as rt:
        result = cli("import", "--from", "rt", "--url", rt.url, "--token", "t", workspace=tmp_path / "rt")
    assert result.code != 0 and "unexpected" not in result.stderr, result.stderr
    assert "is not a time" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
