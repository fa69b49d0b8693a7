"""Moving files between a workspace and its server: resumable uploads, verified downloads.

**Upload** (:func:`upload`): ask the server how much of this agent's upload of the hash it holds
(``GET /v1/blobs/{sha256}/upload``), then send the rest in parts of :data:`PART_BYTES` with
``Content-Range``. A cut connection loses at most the part in flight: the next attempt — in the
same call, or the next sync after a restart — starts from the server's offset. The server checks
the hash of the whole; a file it says is complete (this agent sent it before, or may already see
it) is not sent again.

**Download** (:func:`download`): ``GET /v1/blobs/{sha256}`` into a temporary file beside the
cache, hashed while it arrives; only bytes that hash to the name are kept. A server that sends
other bytes (a bug, a proxy, an attacker) never gets them into a workspace.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from supportdesk.store.blobs import CHUNK, BlobStore, HashMismatch, StoredBlob, named_hashes
from supportdesk.sync.client import Offline, ServerClient, ServerRefused, check

#: Bytes per upload request: a cut costs at most this much again.
PART_BYTES = 4 * 1024 * 1024
#: Attempts of one upload within one call (each resumes where the last stopped).
ATTEMPTS = 3

Progress = Callable[[int, int], None]


class BlobMissing(Exception):
    """The workspace no longer holds a file it attached (the message names it)."""


def _transport(client: ServerClient, what: str, error: httpx.TransportError) -> Offline:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return Offline(f"{what} {client.url} was cut: {text}")


def upload_state(client: ServerClient, sha256: str) -> dict[str, Any]:
    try:
        response = client.http.get(f"/v1/blobs/{sha256}/upload")
    except httpx.TransportError as error:
        raise _transport(client, "asking", error) from None
    check(response, client.url)
    result: dict[str, Any] = orjson.loads(response.content)
    return result


def limits(client: ServerClient) -> dict[str, Any]:
    """The server's attachment limits (``max_file_bytes``, ``max_message_bytes``, ``max_per_ticket``)."""
    try:
        response = client.http.get("/v1/blobs/limits")
    except httpx.TransportError as error:
        raise _transport(client, "asking", error) from None
    check(response, client.url)
    result: dict[str, Any] = orjson.loads(response.content)
    return result


def upload(
    client: ServerClient, path: Path, sha256: str, *, part_bytes: int = PART_BYTES, progress: Progress | None = None
) -> None:
    """Make sure the server holds this file for this agent (see the module docstring)."""
    if not path.is_file():
        raise BlobMissing(f"the attached file {sha256[:12]}… is not in this workspace, so it cannot be uploaded")
    size = path.stat().st_size
    for attempt in range(ATTEMPTS):
        state = upload_state(client, sha256)
        if state.get("complete"):
            return
        offset = int(state.get("offset") or 0)
        if offset > size:
            offset = 0
        try:
            _send_from(client, path, sha256, size, offset, part_bytes, progress)
            return
        except Offline:
            if attempt == ATTEMPTS - 1:
                raise
        except ServerRefused as error:
            if error.code != "offset_mismatch" or attempt == ATTEMPTS - 1:
                raise


def _send_from(
    client: ServerClient, path: Path, sha256: str, size: int, offset: int, part_bytes: int, progress: Progress | None
) -> None:
    with path.open("rb") as file:
        if size == 0:
            _put(client, sha256, b"", None)
            return
        file.seek(offset)
        while offset < size:
            data = file.read(part_bytes)
            end = offset + len(data) - 1
            answer = _put(client, sha256, data, f"bytes {offset}-{end}/{size}")
            offset = int(answer.get("offset", end + 1)) if not answer.get("complete") else size
            if progress:
                progress(offset, size)


def _put(client: ServerClient, sha256: str, data: bytes, content_range: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/octet-stream"}
    if content_range:
        headers["Content-Range"] = content_range
    try:
        response = client.http.put(f"/v1/blobs/{sha256}", content=data, headers=headers)
    except httpx.TransportError as error:
        raise _transport(client, "uploading to", error) from None
    check(response, client.url)
    result: dict[str, Any] = orjson.loads(response.content)
    return result


def download(client: ServerClient, store: BlobStore, sha256: str, *, progress: Progress | None = None) -> StoredBlob:
    """Fetch a file into ``store``; raises :class:`ServerRefused` (404: not on a ticket the agent
    may see), :class:`Offline`, or :class:`HashMismatch` when the bytes are not the file."""
    received = 0

    def chunks(response: httpx.Response) -> Any:
        nonlocal received
        total = int(response.headers.get("content-length") or 0)
        for chunk in response.iter_bytes(CHUNK):
            received += len(chunk)
            if progress:
                progress(received, total)
            yield chunk

    try:
        with client.http.stream("GET", f"/v1/blobs/{sha256}", timeout=httpx.Timeout(60.0, connect=10.0)) as response:
            if response.status_code >= 400:
                response.read()
                check(response, client.url)
            try:
                return store.put_stream(chunks(response), expected=sha256)
            except HashMismatch:
                raise HashMismatch(f"{client.url} sent bytes that are not the file {sha256[:12]}…: not kept") from None
    except httpx.TransportError as error:
        raise _transport(client, "downloading from", error) from None


def upload_pending(client: ServerClient, store: BlobStore, batch: list[Any], done: set[str]) -> dict[int, str]:
    """Upload the files a batch of outbox entries names, before the batch is pushed.

    Returns, per entry whose files could not go up, the reason (a missing local copy, a file
    over the server's limit): the server then refuses that change, and the agent reads this
    reason rather than the server's "not uploaded". ``done`` holds the hashes already sent
    this round. A cut connection raises :class:`Offline` like any sync step.
    """
    problems: dict[int, str] = {}
    for entry in batch:
        for sha256 in named_hashes(entry.args):
            if sha256 in done:
                continue
            try:
                upload(client, store.path(sha256), sha256)
            except BlobMissing as error:
                problems[entry.id] = str(error)
                continue
            except ServerRefused as error:
                if error.status in (401, 403):
                    raise
                problems[entry.id] = str(error)
                continue
            done.add(sha256)
    return problems
