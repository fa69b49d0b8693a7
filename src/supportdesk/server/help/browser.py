"""The anonymous browser: one random cookie, and what is derived from it with the help secret.

Nobody signs in to the help center, yet a vote must count once per browser and a form post must
come from our own page. Both hang off the ``help_browser`` cookie (random, HttpOnly,
SameSite=Lax): the CSRF token of a page is an HMAC of that cookie, so another site can neither
read nor forge it (and a Lax cookie is not even sent with its cross-site POST); a voter is
another HMAC of it, so the votes table holds no cookie a reader could replay.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE = "help_browser"
_VALID = re.compile(r"[A-Za-z0-9_-]{32,64}")
_FORM_ID = re.compile(r"[0-9a-f]{32}")


def new_browser() -> str:
    return secrets.token_urlsafe(32)


def valid_browser(value: str | None) -> str | None:
    return value if value and _VALID.fullmatch(value) else None


def _mac(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def csrf_token(secret: str, browser: str) -> str:
    return _mac(secret, "csrf", browser)


def csrf_ok(secret: str, browser: str | None, token: str | None) -> bool:
    if not browser or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, browser), token)


def voter(secret: str, browser: str) -> str:
    return _mac(secret, "voter", browser)


def new_form_id() -> str:
    return secrets.token_hex(16)


def valid_form_id(value: str | None) -> str | None:
    return value if value and _FORM_ID.fullmatch(value) else None
