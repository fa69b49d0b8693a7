"""A workspace's files without a server: names, types, the store's layout, the LRU cache and
the CLI (``--attach``, ``attachments``, ``attachment --save``, ``status``)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from supportdesk.domain import write
from supportdesk.store.blobs import AttachmentLimits, BlobStore, HashMismatch, TooLarge
from supportdesk.store.file_names import sanitize_filename
from supportdesk.store.file_types import mismatch, sniff, viewer_for
from supportdesk.store.workspace import Workspace
from supportdesk.sync.blob_cache import AttachError, evict, fetch, stage, store_of, usage
from tests.cli.conftest import CLI


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Windows\\system32\\evil.dll", "evil.dll"),
        ("\x1b[31mred\x1b[0m.txt", "[31mred[0m.txt"),
        ("invoice\u202egnp.exe", "invoicegnp.exe"),
        (".bashrc", "bashrc"),
        ("CON.txt", "_CON.txt"),
        ("", "attachment"),
        ("a" * 300 + ".pdf", "a" * 195 + "….pdf"),
    ],
)
def test_names_are_never_paths_nor_escapes(given: str, kept: str) -> None:
    assert sanitize_filename(given) == kept


def test_declared_and_sniffed_types_disagreeing_are_flagged() -> None:
    assert sniff(b"MZ\x90\x00") == "application/x-msdownload"
    assert mismatch("application/pdf", "application/x-msdownload", "invoice.pdf") is not None
    assert mismatch("application/pdf", sniff(b"%PDF-1.7 ..."), "invoice.pdf") is None
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert sniff(b"PK\x03\x04rest", docx, "letter.docx") == docx  # a ZIP container, as declared
    assert sniff(b"plain words\n", "text/csv", "data.csv") == "text/csv"
    assert mismatch("text/plain", sniff(b"#!/bin/sh\nrm -rf /\n"), "notes.txt") is not None
    assert viewer_for("application/x-msdownload") is None
    assert viewer_for("image/png") == "image"


def test_the_store_dedups_and_refuses_bytes_of_another_hash(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    first = store.put_bytes(b"same bytes")
    again = store.put_bytes(b"same bytes")
    assert first == again
    assert first.path == tmp_path / "blobs" / first.sha256[:2] / first.sha256
    with pytest.raises(HashMismatch):
        store.put_stream(
            [b"other"], expected=first.sha256.replace(first.sha256[0], "0" if first.sha256[0] != "0" else "1")
        )
    with pytest.raises(TooLarge):
        store.put_stream([b"x" * 11], limit=10)
    assert store.usage() == (len(b"same bytes"), 1)
    assert not [p for p in (tmp_path / "blobs").iterdir() if p.name.startswith(".incoming")]


def test_the_cache_evicts_the_least_recently_opened_but_never_an_unsent_file(ws: Workspace, tmp_path: Path) -> None:
    store = store_of(ws)
    files = []
    for index in range(4):
        stored = store.put_bytes(bytes([index]) * 1000)
        os.utime(stored.path, (1_000_000 + index, 1_000_000 + index))
        files.append(stored.sha256)
    # the oldest is named by a change still in the outbox: it stays
    with ws.reading() as connection:
        ticket_id = connection.execute("SELECT id FROM ticket WHERE status = 'open' LIMIT 1").fetchone()[0]
    item = {"sha256": files[0], "filename": "a.bin", "size": 1000, "content_type": "application/octet-stream"}
    write.apply(ws, "ticket.note", {"ticket_id": ticket_id, "body": "x", "attachments": [item]})
    fetch(ws, files[3])  # opened now: the most recent
    assert evict(ws, cap=2000) == 2
    assert {sha for sha, _, _ in store.stored()} == {files[0], files[3]}
    assert usage(ws).files == 2
    with pytest.raises(AttachError):
        fetch(ws, hashlib.sha256(b"never here").hexdigest())


def test_staging_checks_the_limits_before_anything_is_named(ws: Workspace, tmp_path: Path) -> None:
    small = AttachmentLimits(max_file_bytes=100, max_message_bytes=150, max_per_ticket=5)
    (tmp_path / "a.txt").write_bytes(b"a" * 90)
    (tmp_path / "b.txt").write_bytes(b"b" * 90)
    (tmp_path / "big.txt").write_bytes(b"c" * 101)
    with pytest.raises(AttachError, match="at most 100"):
        stage(ws, [tmp_path / "big.txt"], small)
    with pytest.raises(AttachError, match="together"):
        stage(ws, [tmp_path / "a.txt", tmp_path / "b.txt"], small)
    with pytest.raises(AttachError, match="not a file"):
        stage(ws, [tmp_path], small)
    [item] = stage(ws, [tmp_path / "a.txt"], small)
    assert item["filename"] == "a.txt" and item["content_type"] == "text/plain" and item["sniffed_type"] == "text/plain"


def test_the_cli_attaches_lists_and_saves_files(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    with ws.reading() as connection:
        number = connection.execute(
            "SELECT number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1"
        ).fetchone()[0]
    log = tmp_path / "app.log"
    log.write_text("ERROR export failed\n")
    fake = tmp_path / "invoice.pdf"
    fake.write_bytes(b"MZ\x90\x00 not a pdf")
    noted = cli("tickets", "note", str(number), "--body", "logs", "--attach", str(log), "--attach", str(fake))
    assert noted.code == 0, noted.stderr
    listed = cli("tickets", "attachments", str(number), "--json")
    rows = {row["filename"]: row for row in json.loads(listed.stdout)}
    assert set(rows) == {"app.log", "invoice.pdf"}
    assert rows["invoice.pdf"]["warning"] == "declared application/pdf, but the bytes are application/x-msdownload"
    assert rows["app.log"]["cached"] is True and rows["app.log"]["from"] == "note"
    out = tmp_path / "out"
    out.mkdir()
    first = cli("tickets", "attachment", str(number), "invoice.pdf", "--save", str(out))
    second = cli("tickets", "attachment", str(number), rows["invoice.pdf"]["sha256"][:10], "--save", str(out))
    assert first.code == second.code == 0
    assert "warning: declared application/pdf" in first.stderr
    assert sorted(p.name for p in out.iterdir()) == ["invoice (2).pdf", "invoice.pdf"]
    assert (out / "invoice.pdf").read_bytes() == fake.read_bytes()
    missing = cli("tickets", "attachment", str(number), "nope.txt", "--save", str(out))
    assert missing.code == 3 and missing.stderr.count("\n") == 1
    bad = cli("tickets", "note", str(number), "--body", "x", "--attach", str(tmp_path / "absent.txt"))
    assert bad.code == 2 and "is not a file" in bad.stderr
    status = cli("status", "--json")
    cache = json.loads(status.stdout)["attachment_cache"]
    assert cache["files"] == 2 and cache["bytes"] == log.stat().st_size + fake.stat().st_size
    assert "files " in cli("status").stdout


def test_a_refused_change_leaves_no_staged_file_behind(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    with ws.reading() as connection:
        number = connection.execute("SELECT number FROM ticket WHERE status = 'closed' LIMIT 1").fetchone()[0]
    source = tmp_path / "a.txt"
    source.write_text("never sent\n")
    refused = cli("tickets", "note", str(number), "--body", "x", "--attach", str(source))
    assert refused.code == 2 and refused.stderr.count("\n") == 1
    assert usage(ws).files == 0


def test_the_cache_never_evicts_a_file_a_draft_staged(ws: Workspace) -> None:
    """A file attached in the composer and not sent yet lives only on this disk: the cache cap
    must not take it (named14's find: eviction protected the outbox only), while a file the
    server has (named by an attachment row only) may still go and be fetched again."""
    store = store_of(ws)
    files = []
    for index in range(4):
        stored = store.put_bytes(bytes([index + 10]) * 1000)
        os.utime(stored.path, (1_000_000 + index, 1_000_000 + index))
        files.append(stored.sha256)
    with ws.writing() as connection:
        ticket_id = connection.execute("SELECT id FROM ticket WHERE status = 'open' LIMIT 1").fetchone()[0]
        state = {"attachments": [{"sha256": files[0], "filename": "scan.pdf", "size": 1000}]}
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, 'reply', 'see scan', ?, ?)",
            (ticket_id, json.dumps(state), "2026-01-01 00:00:00"),
        )
        # a draft whose words merely hold the next file's hash protects nothing
        connection.execute(
            "INSERT INTO draft (ticket_id, kind, body, state, updated_at) VALUES (?, 'note', ?, '{}', ?)",
            (ticket_id, f"about {files[1]}", "2026-01-01 00:00:00"),
        )
    assert evict(ws, cap=2000) == 2
    assert {sha for sha, _, _ in store.stored()} == {files[0], files[3]}
