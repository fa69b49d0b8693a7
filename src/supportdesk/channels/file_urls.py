"""Short-lived signed download links for the files of a reply sent to a chat or social platform.

A platform cannot hold an agent's token, so a reply posted to its webhook names each file by a
link that carries its own permission: ``<public_url>/v1/files/<sha256>?name=…&expires=…&sig=…``.
The signature is an HMAC-SHA256 under a key derived from ``[channels] secret`` over the hash,
the name and the expiry; it is minted when the reply is *sent* (each attempt, so a retry hours
later still carries a live link) and lives ``[channels] file_url_minutes`` (30 by default).

``GET /v1/files/…`` (:mod:`supportdesk.server.routes.files`) answers the bytes without a token
when the signature checks out and has not expired, and 404 otherwise — a forged, altered,
expired link, or one for another file, reads like a file that does not exist. A link cannot be
widened: the name is signed too, so it cannot be swapped for one that a browser would render.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from supportdesk.store.times import iso

PATH = "/v1/files/"
DEFAULT_MINUTES = 30
_CONTEXT = b"supportdesk signed file url v1"


class LinkRefused(Exception):
    """A link whose signature is wrong or whose time is up (the message says which, for logs)."""


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def signature(secret: str, sha256: str, name: str, expires: int) -> str:
    payload = f"{sha256}\n{expires}\n{name}".encode()
    return hmac.new(_key(secret), payload, hashlib.sha256).hexdigest()


def make_link(public_url: str, secret: str, sha256: str, name: str, now: datetime, minutes: int) -> tuple[str, str]:
    """``(url, expires_at)`` for one file."""
    expires_at = now + timedelta(minutes=minutes)
    expires = int(expires_at.timestamp())
    query = urlencode({"name": name, "expires": expires, "sig": signature(secret, sha256, name, expires)})
    return f"{public_url.rstrip('/')}{PATH}{quote(sha256)}?{query}", iso(expires_at) or ""


def check_link(secret: str, sha256: str, name: str, expires: int, given: str, now: datetime) -> None:
    """Raise :class:`LinkRefused` unless the link is ours, for this file and name, and still live."""
    expected = signature(secret, sha256, name, expires)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise LinkRefused("the link's signature does not match")
    if now.timestamp() > expires:
        raise LinkRefused("the link has expired")
