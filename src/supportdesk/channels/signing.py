"""HMAC signatures: our outgoing Message-IDs, and webhooks in both directions.

A Message-ID we send looks like ``<TICKET.TOKEN.SIG@domain>``: the ticket's id and a token (the
reply's message id) in hex, and an HMAC of both under the team's secret. A customer's reply names
it in In-Reply-To or References; only an id whose HMAC checks out may thread a mail onto a ticket,
so nobody can attach mail to a ticket by guessing or forging a reference.

Webhooks are signed over ``"<unix time>." + body`` with HMAC-SHA256; a request whose timestamp
is more than the tolerance away from now is refused, so a captured request cannot be replayed
later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from supportdesk.channels.errors import SignatureError
from supportdesk.store.times import utcnow

SIG_HEX = 32
TIMESTAMP_HEADER = "X-Supportdesk-Timestamp"
SIGNATURE_HEADER = "X-Supportdesk-Signature"

_OURS = re.compile(r"^<?([0-9a-f]{32})\.([0-9a-z]{1,40})\.([0-9a-f]{32})@[^<>@\s]+>?$")


@dataclass(frozen=True)
class SignedRef:
    ticket_id: str
    token: str


def _hex(uuid_text: str) -> str:
    return uuid_text.replace("-", "").lower()


def _uuid(hex_text: str) -> str:
    return f"{hex_text[:8]}-{hex_text[8:12]}-{hex_text[12:16]}-{hex_text[16:20]}-{hex_text[20:]}"


def _mac(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:SIG_HEX]


def make_message_id(secret: bytes, domain: str, ticket_id: str, token: str) -> str:
    """Our Message-ID for one outgoing mail of a ticket; the same inputs give the same id."""
    ticket_hex = _hex(ticket_id)
    token = _hex(token)
    if not re.fullmatch(r"[0-9a-z]{1,40}", token):
        raise ValueError(f"token {token!r} must be 1-40 lower-case letters or digits")
    return f"<{ticket_hex}.{token}.{_mac(secret, f'{ticket_hex}.{token}')}@{domain}>"


def verify_message_id(secret: bytes, value: str) -> SignedRef | None:
    """The ticket a Message-ID names, when it is one of ours with a correct HMAC; else None."""
    match = _OURS.match(value.strip().lower())
    if match is None:
        return None
    ticket_hex, token, signature = match.groups()
    if not hmac.compare_digest(signature, _mac(secret, f"{ticket_hex}.{token}")):
        return None
    return SignedRef(ticket_id=_uuid(ticket_hex), token=token)


def looks_like_ours(value: str) -> bool:
    """Shaped like one of our ids (signed correctly or not): a wrong HMAC on it is a forgery."""
    return _OURS.match(value.strip().lower()) is not None


# --- webhooks ---------------------------------------------------------------------------------


def sign_webhook(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign ``body``: a timestamp and ``sha256=<hex>`` over both."""
    stamp = str(int(utcnow().timestamp()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, SIGNATURE_HEADER: f"sha256={digest}"}


def verify_webhook(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> None:
    """Raise :class:`SignatureError` unless ``body`` carries a fresh, correct signature."""
    lowered = {key.lower(): value for key, value in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER.lower())
    signature = lowered.get(SIGNATURE_HEADER.lower())
    if not stamp or not signature:
        raise SignatureError("the request is not signed: send X-Supportdesk-Timestamp and X-Supportdesk-Signature")
    if not stamp.isdigit() or len(stamp) > 12:
        raise SignatureError("X-Supportdesk-Timestamp must be a unix time in seconds", field=TIMESTAMP_HEADER)
    age = (utcnow().timestamp() if now is None else now) - int(stamp)
    if abs(age) > tolerance_seconds:
        raise SignatureError(
            f"the request was signed {int(abs(age))} s {'ago' if age > 0 else 'in the future'}; "
            f"at most {tolerance_seconds} s are accepted",
            field=TIMESTAMP_HEADER,
        )
    expected = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    given = signature.removeprefix("sha256=").strip().lower()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise SignatureError("the signature does not match the body", field=SIGNATURE_HEADER)
