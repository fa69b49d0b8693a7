"""Webhook files through a real server: a chat file into the blob store over HTTP, and a
reply's file fetched by the platform through its signed link without a token — refused when
the link is forged, expired, altered or pointed at another file."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from supportdesk.channels.file_urls import make_link, signature
from supportdesk.store.blobs import AttachmentLimits
from supportdesk.store.times import utcnow
from supportdesk.sync.blob_cache import stage
from tests.channels.server_helpers import CHAT_SECRET, SECRET, channel_server, wait_for
from tests.channels.test_server_webhooks import signed
from tests.channels.test_webhooks import CHAT

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 200


def test_files_come_in_by_webhook_and_go_out_by_signed_link(tmp_path: Path) -> None:
    with channel_server("sqlite", tmp_path, channels={"public_url": "http://placeholder.invalid"}) as running:
        deployment = running.deployment
        inbound = {
            **CHAT,
            "messages": [
                {
                    "id": "l1",
                    "text": "see attached",
                    "attachments": [{"filename": "../shot\x07.png", "data_base64": base64.b64encode(PNG).decode()}],
                }
            ],
        }
        opened = signed(running, "chat", inbound, CHAT_SECRET)
        assert opened.status_code == 200, opened.text
        ticket_id = opened.json()["ticket_id"]
        [(name, sha256)] = running.server_rows(
            "SELECT x.filename, x.sha256 FROM attachment x JOIN message m ON m.id = x.message_id "
            "WHERE m.ticket_id = :t",
            t=ticket_id,
        )
        assert name == "shot.png" and sha256 == hashlib.sha256(PNG).hexdigest()
        assert (running.attachments / sha256[:2] / sha256).read_bytes() == PNG

        broken = {
            **inbound,
            "messages": [{"id": "l2", "text": "x", "attachments": [{"filename": "a", "data_base64": "%%"}]}],
        }
        refused = signed(running, "chat", broken, CHAT_SECRET)
        assert refused.status_code == 422 and refused.json()["error"]["field"].endswith("data_base64")

        sam = deployment.replica("sam")
        try:
            sam.sync()
            source = tmp_path / "label.txt"
            source.write_bytes(b"return label 4411\n")
            [item] = stage(sam.workspace, [source], AttachmentLimits())
            sam.apply("ticket.reply", {"ticket_id": ticket_id, "body": "Label attached.", "attachments": [item]})
            assert not sam.sync().refused
        finally:
            sam.close()
        [request] = wait_for(lambda: running.receiver.requests, "the reply at the platform")
        [listed] = json.loads(request["body"])["attachments"]
        assert listed["filename"] == "label.txt" and listed["sha256"] == item["sha256"]
        parts = urlsplit(listed["url"])
        assert parts.netloc == "placeholder.invalid"
        base = deployment.server.url
        with httpx.Client(base_url=base, timeout=30) as anonymous:
            good = anonymous.get(f"{parts.path}?{parts.query}")
            assert good.status_code == 200 and good.content == b"return label 4411\n"
            assert good.headers["content-type"] == "application/octet-stream"
            assert good.headers["x-content-type-options"] == "nosniff"
            assert "label.txt" in good.headers["content-disposition"]

            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            expires = int(query["expires"])
            hostile: list[tuple[str, dict[str, Any]]] = [
                (item["sha256"], {**query, "sig": "0" * 64}),  # forged
                (sha256, query),  # the link of one file for another (the customer's screenshot)
                (item["sha256"], {**query, "name": "label.html"}),  # the name altered
                (item["sha256"], {**query, "expires": expires + 86400}),  # the expiry pushed back
                (item["sha256"], {**query, "sig": query["sig"][:-1]}),  # malformed
                (item["sha256"], {"name": "label.txt", "expires": expires}),  # no signature
            ]
            past = utcnow().replace(year=utcnow().year - 1)
            stale = urlsplit(make_link(base, SECRET, item["sha256"], "label.txt", past, 30)[0])
            hostile.append((item["sha256"], {k: v[0] for k, v in parse_qs(stale.query).items()}))
            other_secret = signature("another-server-secret-000", item["sha256"], "label.txt", expires)
            hostile.append((item["sha256"], {**query, "sig": other_secret}))
            for file, params in hostile:
                answer = anonymous.get(f"/v1/files/{file}?{urlencode(params)}")
                assert answer.status_code in (404, 422), (params, answer.status_code)
                assert b"label 4411" not in answer.content and PNG not in answer.content
            # the blob endpoint still needs a token
            assert anonymous.get(f"/v1/blobs/{item['sha256']}").status_code == 401
