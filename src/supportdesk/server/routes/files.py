"""``GET /v1/files/{sha256}?name=…&expires=…&sig=…``: a file by a signed link, without a token.

The links are minted for the files of replies posted to chat and social platforms
(:mod:`supportdesk.channels.file_urls`): the platform fetches the file by its link, which is
its only permission. A link whose signature is wrong, whose time is up, or that names another
file or another name is answered 404 exactly like a file that does not exist, so a link cannot
be used to probe for files. Files go out as the blob download does: ``octet-stream``,
``Content-Disposition: attachment``, ``nosniff`` and a sandboxing Content-Security-Policy.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

import logging
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse

from supportdesk.channels.file_urls import LinkRefused, check_link
from supportdesk.channels.settings import ChannelSettings
from supportdesk.server.errors import ApiError
from supportdesk.server.routes.blobs import _file_answer
from supportdesk.server.state import server_state
from supportdesk.store.blobs import BlobStore
from supportdesk.store.times import utcnow

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/files", tags=["attachments"])

Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="The SHA-256 of the file's bytes, in hex.")]


def _missing() -> ApiError:
    return ApiError(404, "not_found", "no such file, or the link has expired", field="sha256")


@router.get("/{sha256}")
def signed_download(
    sha256: Sha256,
    request: Request,
    name: Annotated[str, Query(max_length=1000)],
    expires: Annotated[int, Query(ge=0, le=10**12)],
    sig: Annotated[str, Query(min_length=64, max_length=64, pattern=r"^[0-9a-fA-F]{64}$")],
) -> FileResponse:
    """The file a signed link names, while the link lives (404 otherwise; see the module)."""
    settings = server_state(request).extensions.get("signed_files")
    if not isinstance(settings, ChannelSettings):
        raise _missing()
    try:
        check_link(settings.secret, sha256, name, expires, sig, utcnow())
    except LinkRefused as error:
        log.info("signed file link refused for %s…: %s", sha256[:12], error)
        raise _missing() from None
    store = BlobStore(FilePath(settings.attachments_dir))
    if not store.has(sha256):  # erased since the link was made
        raise _missing()
    return _file_answer(store, sha256, name)


def install(app: FastAPI, settings: ChannelSettings) -> None:
    """Answer signed links for the files of ``settings``' store (called by the channels' install)."""
    app.state.server.extensions["signed_files"] = settings
    app.include_router(router)
