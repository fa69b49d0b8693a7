"""Upload and download of a 20 MB file through a real server (MB/s), as the sync engine does it.

Usage: python bench/attachments_transfer.py [--mb 20] [--repeat 3]

A ``supportdesk serve`` on SQLite on 127.0.0.1; the upload is :func:`supportdesk.sync.
blob_transfer.upload` (4 MB parts with ``Content-Range``, the server hashing the whole at the
end), the download :func:`~supportdesk.sync.blob_transfer.download` into a workspace store
(hashed while it arrives). Each round uploads new random bytes, so nothing is deduplicated.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from sync_harness import Server, make_team


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    from supportdesk.store.blobs import BlobStore
    from supportdesk.sync.blob_transfer import download, upload
    from supportdesk.sync.client import ServerClient

    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        config = tmp / "config.toml"
        config.write_text(
            f'[attachments]\ndir = "{tmp / "blobs"}"\nmax_file_mb = {options.mb + 1}\n'
            f"max_message_mb = {options.mb + 1}\n"
        )
        os.environ["SUPPORTDESK_CONFIG"] = str(config)
        db = str(tmp / "server.db")
        tokens = make_team(db)
        token = next(iter(tokens.values()))
        ups: list[float] = []
        downs: list[float] = []
        with Server(db, tmp / "server.log") as server, ServerClient(server.url, token, timeout=120) as client:
            me = client.me()
            http = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
            client_id = f"bench-{uuid.uuid4().hex[:8]}"
            ticket = str(uuid.uuid4())
            mutations = [
                {
                    "id": 1,
                    "name": "ticket.create",
                    "args": {
                        "ticket_id": ticket,
                        "subject": "Bench",
                        "body": "x",
                        "requester": {"value": "a@example.com"},
                        "group_id": None,
                        "assignee_id": me["id"],
                    },
                }
            ]
            created = http.post("/v1/push", json={"client_id": client_id, "schema_version": 1, "mutations": mutations})
            assert created.json()["results"][0]["ok"], created.text
            for round_ in range(options.repeat):
                data = os.urandom(options.mb * 1024 * 1024)
                sha256 = hashlib.sha256(data).hexdigest()
                source = tmp / f"file-{round_}.bin"
                source.write_bytes(data)
                started = time.perf_counter()
                upload(client, source, sha256)
                ups.append(time.perf_counter() - started)
                item = {
                    "sha256": sha256,
                    "filename": "big.bin",
                    "size": len(data),
                    "content_type": "application/octet-stream",
                }
                note = {
                    "id": round_ + 2,
                    "name": "ticket.note",
                    "args": {"ticket_id": ticket, "body": "file", "attachments": [item]},
                }
                pushed = http.post("/v1/push", json={"client_id": client_id, "schema_version": 1, "mutations": [note]})
                assert pushed.json()["results"][0]["ok"], pushed.text
                store = BlobStore(tmp / f"cache-{round_}")
                started = time.perf_counter()
                stored = download(client, store, sha256)
                downs.append(time.perf_counter() - started)
                assert stored.size == len(data)
            http.close()
    size = options.mb
    print(
        f"upload   {size} MB: median {statistics.median(ups):.2f} s = {size / statistics.median(ups):.1f} MB/s "
        f"(runs: {', '.join(f'{t:.2f}' for t in ups)})"
    )
    print(
        f"download {size} MB: median {statistics.median(downs):.2f} s = {size / statistics.median(downs):.1f} MB/s "
        f"(runs: {', '.join(f'{t:.2f}' for t in downs)})"
    )


if __name__ == "__main__":
    main()
