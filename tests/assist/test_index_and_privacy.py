"""The vector index: built once, then incremental; changed and erased tickets lose their
vectors at once; the erasure hook leaves no vector bytes in the file."""

from __future__ import annotations

from contextlib import closing

from supportdesk.assist import embedding, index
from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace


def _count(workspace: Workspace, table: str = "assist_code") -> int:
    with workspace.reading() as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _has_vector(workspace: Workspace, ticket_id: str) -> bool:
    with workspace.reading() as connection:
        row = connection.execute(
            "SELECT 1 FROM assist_vector v JOIN ticket t ON t.rowid = v.ticket_rowid WHERE t.id = ?", (ticket_id,)
        ).fetchone()
        return row is not None


def test_build_is_incremental_with_progress(writable_demo: Workspace) -> None:
    tickets = _count(writable_demo, "ticket")
    assert _count(writable_demo) == _count(writable_demo, "assist_vector") == tickets
    calls: list[tuple[int, int]] = []
    with closing(writable_demo.connect()) as connection:
        assert index.build(connection, progress=lambda done, total: calls.append((done, total))).embedded == 0
        assert calls == [(0, 0)]
        created = write.apply(
            writable_demo,
            "ticket.create",
            {"subject": "Charged twice", "body": "Money taken twice", "requester": {"value": "new@example.com"}},
            actor=SYSTEM,
        ).result
        result = index.build(connection, progress=lambda done, total: calls.append((done, total)))
        assert (result.embedded, result.rebuilt) == (1, False)
        assert calls[-1] == (1, 1)
        assert _has_vector(writable_demo, str(created["ticket_id"]))
        rebuilt = index.build(connection, rebuild=True)
        assert rebuilt.rebuilt and rebuilt.embedded == tickets + 1


def test_a_changed_ticket_is_embedded_again(writable_demo: Workspace) -> None:
    with closing(writable_demo.connect()) as connection:
        ticket_id = connection.execute("SELECT id FROM ticket WHERE status = 'open' LIMIT 1").fetchone()[0]
    write.apply(
        writable_demo, "ticket.set_subject", {"ticket_id": ticket_id, "subject": "Slack is silent"}, actor=SYSTEM
    )
    assert not _has_vector(writable_demo, ticket_id)
    with closing(writable_demo.connect()) as connection:
        assert index.build(connection).embedded == 1
    assert _has_vector(writable_demo, ticket_id)
    write.apply(
        writable_demo, "ticket.receive", {"ticket_id": ticket_id, "body": "Still nothing in Slack"}, actor=SYSTEM
    )
    assert not _has_vector(writable_demo, ticket_id)


def test_nearest_finds_the_ticket_itself_first(indexed_demo: Workspace) -> None:
    with closing(indexed_demo.connect()) as connection:
        rowid, blob = connection.execute("SELECT ticket_rowid, vector FROM assist_vector LIMIT 1 OFFSET 7").fetchone()
        vector = index.dequantize([blob])[0]
        found = index.nearest(connection, vector, limit=3)
        assert found[0].score > 0.99
        assert rowid in [n.rowid for n in found if n.score > 0.99]
        within = index.nearest(connection, vector, limit=3, within=[rowid])
        assert [n.rowid for n in within] == [rowid]
        assert index.nearest(connection, embedding.embedder().embed_one(""), limit=3) == []


def _vector_bytes(workspace: Workspace, ticket_ids: list[str]) -> list[bytes]:
    with workspace.reading() as connection:
        marks = ",".join("?" * len(ticket_ids))
        return [
            row[0]
            for row in connection.execute(
                "SELECT v.vector FROM assist_vector v JOIN ticket t ON t.rowid = v.ticket_rowid "
                f"WHERE t.id IN ({marks})",
                ticket_ids,
            )
        ]


def _file_bytes(workspace: Workspace) -> bytes:
    with closing(workspace.connect()) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return workspace.db_path.read_bytes()


def test_forget_tickets_removes_every_vector_byte(writable_demo: Workspace) -> None:
    with closing(writable_demo.connect()) as connection:
        customer_id = connection.execute(
            "SELECT requester_id FROM ticket GROUP BY requester_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        ticket_ids = [r[0] for r in connection.execute("SELECT id FROM ticket WHERE requester_id = ?", (customer_id,))]
        secrets = [b for b in _vector_bytes(writable_demo, ticket_ids) if b.count(0) < 64]
        assert secrets
        before = _file_bytes(writable_demo)
        assert all(secret in before for secret in secrets)
        generation = index.generation(connection)
        assert index.forget_customer(connection, customer_id) == len(ticket_ids)
        assert index.generation(connection) > generation
        assert index.forget_tickets(connection, ["no-such-ticket"]) == 0
    assert _vector_bytes(writable_demo, ticket_ids) == []
    after = _file_bytes(writable_demo)
    # another ticket may share a vector (the demo repeats texts): only unshared bytes must go
    with writable_demo.reading() as connection:
        kept = {row[0] for row in connection.execute("SELECT vector FROM assist_vector")}
    assert not any(secret in after for secret in secrets if secret not in kept)


def test_erasing_a_customer_drops_their_vectors_in_the_same_write(writable_demo: Workspace) -> None:
    with closing(writable_demo.connect()) as connection:
        customer_id = connection.execute(
            "SELECT requester_id FROM ticket GROUP BY requester_id ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        ticket_ids = [r[0] for r in connection.execute("SELECT id FROM ticket WHERE requester_id = ?", (customer_id,))]
    assert _vector_bytes(writable_demo, ticket_ids)
    write.apply(writable_demo, "customer.erase", {"customer_id": customer_id}, actor=SYSTEM)
    assert _vector_bytes(writable_demo, ticket_ids) == []
    with closing(writable_demo.connect()) as connection:
        index.build(connection)
    # erased tickets read as empty text: their new vectors are zero and match nothing
    assert all(blob.count(0) == embedding.DIMENSIONS for blob in _vector_bytes(writable_demo, ticket_ids))


def test_the_bucket_scan_reads_the_nearest_buckets_first() -> None:
    import numpy as np

    generator = np.random.default_rng(5)
    codes = generator.integers(0, 2**63, size=(50_000, 4), dtype=np.uint64)
    keys = (codes[:, 0] & np.uint64(0xFFFF)).astype(np.uint16)
    order = np.argsort(keys, kind="stable")
    bucket_keys, starts, sizes = np.unique(keys[order], return_index=True, return_counts=True)
    loaded = index.LoadedIndex(
        np.arange(50_000, dtype=np.int64)[order], codes[order], bucket_keys, starts, sizes, 0, 0.0
    )
    query = codes[123]
    positions = loaded.scan_positions(query, 2_000)
    assert len(positions) >= 2_000 and len(set(positions.tolist())) == len(positions)
    assert 123 in loaded.rowids[positions].tolist()  # its own bucket is read
    distances = np.bitwise_count(keys[loaded.rowids[positions]] ^ np.uint16(int(query[0]) & 0xFFFF))
    outside = np.bitwise_count(np.setdiff1d(keys, keys[loaded.rowids[positions]]) ^ np.uint16(int(query[0]) & 0xFFFF))
    assert distances.max() <= outside.min()  # every bucket read is at least as near as any left out
    assert len(loaded.scan_positions(query, 10**6)) == 50_000
