"""Files: ``PUT /v1/blobs/{sha256}`` (resumable upload), ``GET /v1/blobs/{sha256}`` (download),
``GET /v1/blobs/{sha256}/upload`` (how far an upload got) and
``GET /v1/blobs/limits`` (what a workspace checks before it stages a file).

**Uploading.** A file is named by the SHA-256 of its bytes. ``PUT`` with the whole body stores
it; a body that does not hash to the name is refused (422 ``hash_mismatch``) and nothing is
kept. To resume after a cut connection, a client asks ``GET …/upload`` for the ``offset`` the
server holds of *its* upload and sends the rest with ``Content-Range: bytes START-END/TOTAL``
(``START`` must be that offset, else 409 ``offset_mismatch`` with the right one); every byte that
arrived before a cut is kept. The answer is 201 with the file's size and sniffed type once all
``TOTAL`` bytes are there and hash right, 202 with the new ``offset`` while some are missing.
Uploading is idempotent: the same bytes again answer 201 and change nothing; the server keeps
one copy however many agents upload it. Every upload must carry the bytes — the server never says
whether it already holds a hash someone names, so nobody can probe for another group's file.

**Downloading** needs a token whose agent may see a ticket whose messages name the file; anyone
else gets 404, also for a file that exists (on another group's ticket, or not yet sent). Files are
served as ``application/octet-stream`` with ``Content-Disposition: attachment``, ``nosniff`` and
a sandboxing Content-Security-Policy (a browser never renders a customer's HTML from here), and
with byte ranges, so a cut download resumes.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Header, Path, Request
from fastapi.responses import FileResponse, Response

from supportdesk.server.auth import Caller
from supportdesk.server.blobs import NOT_KEPT, UPLOAD_PREFIX, BlobOptions, ServerBlobs
from supportdesk.server.errors import ApiError
from supportdesk.server.handlers import ORJSONResponse
from supportdesk.server.reads import snapshot
from supportdesk.server.state import ServerState, State
from supportdesk.store.blobs import BlobError, BlobStore, HashMismatch, TooLarge, UploadBusy
from supportdesk.store.file_names import sanitize_filename

router = APIRouter(prefix="/v1/blobs", tags=["attachments"])

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The SHA-256 of the file's bytes, in hex.")]
_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15})$")
#: Headers every file answer carries: never rendered, never sniffed, never cached by a proxy.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=0, no-transform",
}


def _blobs(state: ServerState) -> ServerBlobs:
    blobs = state.extensions.get("blobs")
    if not isinstance(blobs, ServerBlobs):
        raise ApiError(404, "not_configured", "this server keeps no attachments")
    return blobs


def _store(blobs: ServerBlobs) -> BlobStore:
    if blobs.store is None:
        raise ApiError(404, "not_configured", NOT_KEPT)
    return blobs.store


@router.get("/limits")
def limits(actor: Caller, state: State) -> dict[str, Any]:
    """The server's limits: bytes per file, per message, files per ticket (workspaces check early)."""
    blobs = _blobs(state)
    return {**blobs.limits.as_dict(), "kept": blobs.store is not None}


@router.get("/{sha256}/upload")
def upload_state(sha256: Sha256, actor: Caller, state: State) -> dict[str, Any]:
    """How much of the caller's upload of this file arrived; ``complete`` when nothing is missing
    (the caller uploaded it before, or may already see a ticket that names it)."""
    blobs = _blobs(state)
    store = _store(blobs)
    if store.has(sha256):
        with snapshot(state.database) as connection:
            done = blobs.holds(connection, actor, sha256) or blobs.visible(connection, actor, sha256)
        if done:
            return {"sha256": sha256, "offset": store.size(sha256), "complete": True}
    assert actor.id is not None
    return {"sha256": sha256, "offset": store.upload_offset(sha256, actor.id), "complete": False}


def _range(content_range: str | None, content_length: str | None) -> tuple[int, int | None, int | None]:
    """``(start, end, total)`` of a request body (``end`` inclusive; None when unknown)."""
    if content_range is None:
        total = int(content_length) if content_length and content_length.isdigit() else None
        return 0, None if total is None else total - 1, total
    found = _RANGE.match(content_range.strip())
    if not found:
        raise ApiError(422, "invalid", "Content-Range must be 'bytes START-END/TOTAL'", field="Content-Range")
    start, end, total = (int(part) for part in found.groups())
    if not start <= end < total:
        raise ApiError(422, "invalid", "Content-Range must have START <= END < TOTAL", field="Content-Range")
    return start, end, total


@router.put("/{sha256}", status_code=201)
async def upload(
    sha256: Sha256,
    request: Request,
    actor: Caller,
    state: State,
    content_range: Annotated[str | None, Header(max_length=100)] = None,
) -> Any:
    """Store a file (whole, or the next part of a resumable upload; see the module docstring)."""
    blobs = _blobs(state)
    store = _store(blobs)
    cap = blobs.limits.max_file_bytes
    start, end, total = _range(content_range, request.headers.get("content-length"))
    if total is not None and total > cap:
        raise ApiError(413, "too_large", f"a file may be at most {cap:,} bytes", field="body")
    assert actor.id is not None
    try:
        part = store.open_upload(sha256, actor.id, start, total=total, limit=cap)
    except UploadBusy as error:
        raise ApiError(409, "busy", str(error), field="body") from None
    except BlobError:
        held = store.upload_offset(sha256, actor.id)
        raise ApiError(
            409,
            "offset_mismatch",
            f"the server holds {held} bytes of this upload: send from there",
            field="Content-Range",
            offset=held,
        ) from None
    expected_end = None if end is None else end + 1
    try:
        async for chunk in request.stream():
            if chunk:
                part.write(chunk)
                if expected_end is not None and part.held > expected_end:
                    store.discard_upload(sha256, actor.id)
                    raise ApiError(422, "invalid", "the body is longer than Content-Range says", field="body")
    except TooLarge:
        store.discard_upload(sha256, actor.id)
        raise ApiError(413, "too_large", f"a file may be at most {cap:,} bytes", field="body") from None
    finally:
        held = part.close()  # after a cut (ClientDisconnect) what arrived stays, to resume from
    if total is not None and held < total:
        return ORJSONResponse({"sha256": sha256, "offset": held, "complete": False}, status_code=202)
    try:
        stored = store.complete_upload(sha256, actor.id)
    except HashMismatch:
        raise ApiError(
            422,
            "hash_mismatch",
            "the bytes do not hash to the name they were sent under: nothing was kept",
            field="body",
        ) from None
    blobs.record_holder(state.database, actor, sha256)
    from supportdesk.store.file_types import sniff

    return {"sha256": sha256, "size": stored.size, "sniffed_type": sniff(store.head(sha256)), "complete": True}


def _file_answer(store: BlobStore, sha256: str, name: str) -> FileResponse:
    shown = sanitize_filename(name, fallback=sha256[:16])
    disposition = f"attachment; filename*=UTF-8''{quote(shown, safe='')}"
    return FileResponse(
        store.path(sha256),
        media_type="application/octet-stream",
        headers={**SAFE_HEADERS, "Content-Disposition": disposition, "ETag": f'"{sha256}"'},
    )


@router.get("/{sha256}")
def download(sha256: Sha256, actor: Caller, state: State) -> Response:
    """The file, for an agent who may see a ticket that names it (404 for anyone else)."""
    blobs = _blobs(state)
    store = _store(blobs)
    with snapshot(state.database) as connection:
        allowed = store.has(sha256) and blobs.visible(connection, actor, sha256)
    if not allowed:
        raise ApiError(404, "not_found", "no such file on a ticket you can see", field="sha256")
    return _file_answer(store, sha256, sha256[:16])


def install(app: FastAPI, options: BlobOptions | None) -> ServerBlobs:
    """Plug attachments into ``app`` (see the module docstring). Without options the server keeps
    no files: uploads are refused and so is every pushed change that names one."""
    from supportdesk.store.private_files import private_dir

    state: ServerState = app.state.server
    blobs = ServerBlobs(options or BlobOptions(root=None))
    state.extensions["blobs"] = blobs
    app.include_router(router)
    state.before_write.append(blobs.check_pushed)
    state.config.max_body_by_path[UPLOAD_PREFIX] = blobs.limits.max_file_bytes + 64 * 1024
    if blobs.store is not None:
        private_dir(blobs.store.root)
        state.after_commit.append(blobs.after_commit)
        state.workers.append(blobs.worker)
    return blobs
