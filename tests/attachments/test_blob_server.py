"""``PUT``/``GET /v1/blobs/{sha256}`` on a real server, and replies that name files by hash.

Hostile cases: another group's file (by download and by naming its hash in a change), bytes that
do not hash to their name, files over the limits, names with paths and control characters,
replayed uploads and pushes, a cut upload resumed, hashes that are not hashes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.store.blobs import AttachmentLimits
from supportdesk.sync.blob_cache import fetch, stage, store_of
from supportdesk.sync.client import ServerClient
from tests.attachments.conftest import MIB, Running
from tests.live import Replica

pytestmark = pytest.mark.integration


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def new_ticket(replica: Replica, group: str, subject: str = "Broken export") -> str:
    created = replica.apply(
        "ticket.create",
        {"subject": subject, "body": "It fails.", "requester": {"value": "ana@example.com"}, "group_id": group},
    ).result
    replica.sync()
    return str(created["ticket_id"])


def attach_file(replica: Replica, tmp_path: Path, name: str, data: bytes) -> dict[str, Any]:
    path = tmp_path / f"src-{sha(data)[:8]}"
    path.mkdir(exist_ok=True)
    (path / name).write_bytes(data)
    return stage(replica.workspace, [path / name], AttachmentLimits())[0]


def on_disk(running: Running) -> list[Path]:
    return [p for p in running.blobs.rglob("*") if p.is_file()]


def test_a_reply_carries_a_file_to_the_group_and_to_no_one_else(blob_server: Running, tmp_path: Path) -> None:
    team = blob_server.deployment.team
    sam, tom = blob_server.replica("sam"), blob_server.replica("tom")
    try:
        ticket = new_ticket(sam, team.tier1)
        data = b"%PDF-1.7\n invoice for order 4411\n"
        item = attach_file(sam, tmp_path, "invoice.pdf", data)
        # written offline: the bytes are only in Sam's workspace until the next sync
        sam.apply("ticket.reply", {"ticket_id": ticket, "body": "Your invoice.", "attachments": [item]})
        with blob_server.deployment.api("sam") as api:
            assert api.get(f"/v1/blobs/{item['sha256']}").status_code == 404
        summary = sam.sync()
        assert not summary.refused
        with blob_server.deployment.team.db.engine.connect() as connection:
            row = connection.execute(
                text("SELECT filename, size, content_type, sniffed_type FROM attachment WHERE sha256 = :s"),
                {"s": item["sha256"]},
            ).one()
        assert tuple(row) == ("invoice.pdf", len(data), "application/pdf", "application/pdf")
        for who in ("sam", "tom", "ada"):
            with blob_server.deployment.api(who) as api:
                answer = api.get(f"/v1/blobs/{item['sha256']}")
            assert answer.status_code == 200, who
            assert answer.content == data
            assert answer.headers["content-disposition"].startswith("attachment")
            assert answer.headers["x-content-type-options"] == "nosniff"
        for who in ("bea", None):  # another group; no token
            with blob_server.deployment.api(who) as api:
                assert api.get(f"/v1/blobs/{item['sha256']}").status_code in (401, 404)
        with blob_server.deployment.api("bea") as api:
            refused = api.get(f"/v1/blobs/{item['sha256']}")
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
        # Tom's workspace fetches it on demand; then it opens with the server gone
        tom.sync()
        token = blob_server.deployment.team.tokens["tom"]
        path = fetch(
            tom.workspace, item["sha256"], client=lambda: ServerClient(blob_server.deployment.server.url, token)
        )
        assert path.read_bytes() == data
        blob_server.deployment.server.stop()
        assert fetch(tom.workspace, item["sha256"], client=None).read_bytes() == data
    finally:
        sam.close()
        tom.close()


def test_another_groups_hash_cannot_be_attached_or_fetched(sqlite_blob_server: Running, tmp_path: Path) -> None:
    running = sqlite_blob_server
    team = running.deployment.team
    sam, bea = running.replica("sam"), running.replica("bea")
    try:
        secret = b"payroll 2026, confidential\n"
        ticket = new_ticket(sam, team.tier1)
        item = attach_file(sam, tmp_path, "payroll.csv", secret)
        sam.apply("ticket.note", {"ticket_id": ticket, "body": "payroll", "attachments": [item]})
        assert not sam.sync().refused
        # Bea learnt the hash (an old pull, a screenshot): naming it on her own ticket is refused
        hers = new_ticket(bea, team.billing, "Bea's ticket")
        bea.apply("ticket.note", {"ticket_id": hers, "body": "look", "attachments": [dict(item)]})
        summary = bea.sync()
        assert [r.name for r in summary.refused] == ["ticket.note"]
        assert "not in this workspace" in summary.refused[0].message
        # a forged push straight to the server, without the bytes, is refused by the server itself
        forged = {"id": 1, "name": "ticket.note", "args": {"ticket_id": hers, "body": "x", "attachments": [item]}}
        with running.deployment.api("bea") as api:
            pushed = api.post(
                "/v1/push", json={"client_id": "forged-client", "schema_version": 1, "mutations": [forged]}
            )
        assert pushed.status_code == 200
        [result] = pushed.json()["results"]
        assert result["ok"] is False
        assert "payroll.csv" in result["error"]["message"]
        with running.deployment.api("bea") as api:
            assert api.get(f"/v1/blobs/{item['sha256']}").status_code == 404
            # and the upload state does not say the server holds it
            state = api.get(f"/v1/blobs/{item['sha256']}/upload").json()
            assert state == {"sha256": item["sha256"], "offset": 0, "complete": False}
        with running.deployment.team.db.engine.connect() as connection:
            names = connection.execute(
                text("SELECT count(*) FROM attachment x JOIN message m ON m.id = x.message_id WHERE m.ticket_id = :t"),
                {"t": hers},
            ).scalar()
        assert names == 0
    finally:
        sam.close()
        bea.close()


def test_uploads_refuse_wrong_hashes_oversized_bodies_and_bad_names(sqlite_blob_server: Running) -> None:
    running = sqlite_blob_server
    data = b"a log line\n" * 100
    with running.deployment.api("sam") as api:
        wrong = api.put(f"/v1/blobs/{sha(b'other')}", content=data)
        assert wrong.status_code == 422
        assert wrong.json()["error"]["code"] == "hash_mismatch"
        assert on_disk(running) == []  # nothing kept, not even the partial upload
        big = b"x" * (MIB + 1)
        too_large = api.put(f"/v1/blobs/{sha(big)}", content=big)
        assert too_large.status_code == 413
        assert too_large.json()["error"]["field"] == "body"

        def stream() -> Any:  # no Content-Length: the limit holds while the body streams
            for _ in range(5):
                yield b"y" * (MIB // 2)

        streamed = api.put(f"/v1/blobs/{sha(b'y' * (5 * MIB // 2))}", content=stream())
        assert streamed.status_code == 413
        assert [p for p in on_disk(running) if "uploads" not in p.parts] == []
        for bad in ("ABC", sha(data).upper(), "../../etc/passwd", "%2e%2e%2fetc", sha(data) + "0"):
            answer = api.put(f"/v1/blobs/{bad}", content=data)
            assert answer.status_code in (404, 422), bad
        # idempotent: the same bytes twice answer the same and are stored once
        first = api.put(f"/v1/blobs/{sha(data)}", content=data)
        again = api.put(f"/v1/blobs/{sha(data)}", content=data)
        assert first.status_code == again.status_code == 201
        assert first.json() == again.json()
        assert first.json()["sniffed_type"] == "text/plain"
        stored = [p for p in on_disk(running) if "uploads" not in p.parts]
        assert [p.relative_to(running.blobs).as_posix() for p in stored] == [f"{sha(data)[:2]}/{sha(data)}"]


def test_a_cut_upload_resumes_where_it_stopped(sqlite_blob_server: Running) -> None:
    running = sqlite_blob_server
    data = bytes(range(256)) * 2048  # 512 KiB
    name = sha(data)
    with running.deployment.api("sam") as api:
        first = api.put(
            f"/v1/blobs/{name}", content=data[:100_000], headers={"Content-Range": f"bytes 0-99999/{len(data)}"}
        )
        assert first.status_code == 202
        assert first.json()["offset"] == 100_000
        assert api.get(f"/v1/blobs/{name}/upload").json()["offset"] == 100_000
        skipped = api.put(
            f"/v1/blobs/{name}",
            content=data[200_000:],
            headers={"Content-Range": f"bytes 200000-{len(data) - 1}/{len(data)}"},
        )
        assert skipped.status_code == 409
        assert skipped.json()["error"]["code"] == "offset_mismatch"
        rest = api.put(
            f"/v1/blobs/{name}",
            content=data[100_000:],
            headers={"Content-Range": f"bytes 100000-{len(data) - 1}/{len(data)}"},
        )
        assert rest.status_code == 201
        assert rest.json()["size"] == len(data)
    with running.deployment.api("tom") as api:  # Tom's upload of the same file is his own
        assert api.get(f"/v1/blobs/{name}/upload").json()["complete"] is False
    assert (running.blobs / name[:2] / name).read_bytes() == data


def test_limits_per_message_and_per_ticket_and_hostile_names(sqlite_blob_server: Running, tmp_path: Path) -> None:
    running = sqlite_blob_server
    team = running.deployment.team
    sam = running.replica("sam")
    try:
        ticket = new_ticket(sam, team.tier1)
        hostile = attach_file(sam, tmp_path, "report.txt", b"quarterly numbers\n")
        hostile["filename"] = "../../etc/passwd\x1b[31m\u202egnp.exe"
        sam.apply("ticket.note", {"ticket_id": ticket, "body": "a", "attachments": [hostile]})
        assert not sam.sync().refused
        with running.deployment.team.db.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT filename FROM attachment WHERE sha256 = :s"), {"s": hostile["sha256"]}
            ).scalar()
        assert stored is not None
        assert "/" not in stored and "\x1b" not in stored and "\u202e" not in stored and not stored.startswith(".")
        # four files on one ticket at most (the limit of this server): a note with four more is refused
        more = [attach_file(sam, tmp_path, f"f{i}.txt", f"file {i}\n".encode()) for i in range(4)]
        sam.apply("ticket.note", {"ticket_id": ticket, "body": "b", "attachments": more})
        summary = sam.sync()
        assert [r.name for r in summary.refused] == ["ticket.note"]
        assert "may hold 4 files" in summary.refused[0].message
        # three files of 0.9 MB: each under the per-file limit, together over the per-message one
        parts = [attach_file(sam, tmp_path, f"p{i}.bin", bytes([i]) * (9 * MIB // 10)) for i in range(3)]
        other = new_ticket(sam, team.tier1, "Another")
        sam.apply("ticket.note", {"ticket_id": other, "body": "c", "attachments": parts})
        summary = sam.sync()
        assert [r.name for r in summary.refused] == ["ticket.note"]
        assert "together" in summary.refused[0].message
        # a file over the per-file limit never reaches the server: the refusal says why
        big = store_of(sam.workspace).put_bytes(b"z" * (MIB + 10))
        item = {
            "sha256": big.sha256,
            "filename": "big.bin",
            "size": big.size,
            "content_type": "application/octet-stream",
        }
        sam.apply("ticket.note", {"ticket_id": other, "body": "d", "attachments": [item]})
        summary = sam.sync()
        assert [r.name for r in summary.refused] == ["ticket.note"]
        assert "at most" in summary.refused[0].message
    finally:
        sam.close()


def test_a_replayed_push_adds_no_second_file(sqlite_blob_server: Running, tmp_path: Path) -> None:
    running = sqlite_blob_server
    team = running.deployment.team
    sam = running.replica("sam")
    try:
        ticket = new_ticket(sam, team.tier1)
        item = attach_file(sam, tmp_path, "trace.txt", b"stack trace\n")
        sam.apply("ticket.note", {"ticket_id": ticket, "body": "trace", "attachments": [item]})
        with sam.workspace.reading() as connection:
            entry = connection.execute("SELECT id, name, args FROM outbox ORDER BY id DESC LIMIT 1").fetchone()
            client_id = connection.execute("SELECT client_id FROM sync_state").fetchone()[0]
        assert not sam.sync().refused
        import orjson

        mutation = {"id": entry[0], "name": entry[1], "args": orjson.loads(entry[2])}
        with running.deployment.api("sam") as api:
            replay = api.post("/v1/push", json={"client_id": client_id, "schema_version": 1, "mutations": [mutation]})
        assert replay.status_code < 500
        with running.deployment.team.db.engine.connect() as connection:
            count = connection.execute(
                text("SELECT count(*) FROM attachment WHERE sha256 = :s"), {"s": item["sha256"]}
            ).scalar()
        assert count == 1
    finally:
        sam.close()


def test_a_server_without_a_folder_refuses_files_clearly(tmp_path: Path) -> None:
    """PostgreSQL without ``[attachments] dir``: uploads answer 404 not_configured, nothing breaks."""
    from tests.live import deploy

    with deploy("postgresql", tmp_path) as deployment, deployment.api("sam") as api:
        answer = api.put(f"/v1/blobs/{sha(b'x')}", content=b"x")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_configured"
