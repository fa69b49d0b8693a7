"""``supportdesk import --from rt --url URL``: a running Request Tracker read over REST2.

The credentials: an auth token (``--token`` or ``SUPPORTDESK_RT_TOKEN``; RT makes them under
Logged in as → Settings → Auth Tokens), or ``--user`` with the password from
``SUPPORTDESK_RT_PASSWORD`` or asked at the terminal, never taken from the command line (it
would sit in the shell's history and the process list). The records go to the same import as
a database file's (:func:`supportdesk.cli.transfer._import_records`).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TypeVar

from supportdesk.cli.session import Session

if TYPE_CHECKING:
    from collections.abc import Callable

    from supportdesk.domain.request_tracker_rest import Credentials

Run = TypeVar("Run")

PASSWORD_ENV = "SUPPORTDESK_RT_PASSWORD"


def credentials(token: str | None, user: str | None) -> Credentials:
    """The token, or the user with a password from the environment or a prompt."""
    import typer

    from supportdesk.cli.errors import fail
    from supportdesk.domain.request_tracker_rest import Credentials

    if token and token.strip():
        return Credentials(token=token.strip())
    if not user:
        fail("--url needs RT credentials: --token (or SUPPORTDESK_RT_TOKEN), or --user with a password")
    password = os.environ.get(PASSWORD_ENV)
    if password is None:
        if not sys.stdin.isatty():
            fail(f"no password for RT user {user}: set {PASSWORD_ENV} or run at a terminal to be asked")
        password = str(typer.prompt(f"RT password for {user}", hide_input=True))
    return Credentials(user=user, password=password)


def import_over_rest(
    session: Session,
    url: str,
    token: str | None,
    user: str | None,
    *,
    dry_run: bool,
    into: Callable[..., Run],
) -> Run:
    """Tickets from RT's REST2 API, attachments into the blob store; a rerun skips what is here.
    ``into`` is the import every source's records go through (``transfer._import_records``,
    handed in: this module is the one ``transfer`` loads for ``--url``, not the other way)."""
    from supportdesk.domain.request_tracker import mapped
    from supportdesk.domain.request_tracker_rest import RestSource, RTClient, api_base
    from supportdesk.store.blobs import BlobStore

    api_base(url)  # a wrong --url is one line before anything else is asked
    login = credentials(token, user)
    store = None if dry_run else BlobStore(session.workspace().attachments_dir)

    def put(data: bytes) -> str:
        assert store is not None
        return store.put_bytes(data).sha256

    with RTClient(url, login) as client:
        source = RestSource(client)
        total = source.count()  # also the first check of the address and the credentials
        found = mapped(source, put if store is not None else None)
        return into(session, found, dry_run=dry_run, total=total)
