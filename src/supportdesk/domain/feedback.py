"""Customer satisfaction surveys: signed single-use links, and recording the answer.

When a ticket is solved the authority issues a survey (one row, its id a UUIDv7) and the link
``…/v1/feedback/{token}`` carries ``token = survey id + "." + HMAC-SHA256(secret, survey id)``
(base64url, 128 bits kept). The secret lives only on the authority (``workspace_setting``
``survey_secret``, made on first use), so nobody else can make a valid token; a token whose
signature does not match is refused before the store is even read, and an answered survey
refuses every later answer. The HTTP endpoint is a thin wrapper around :func:`verify_token` and
the ``survey.answer`` mutation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from supportdesk.domain.errors import PermissionDenied

if TYPE_CHECKING:
    from supportdesk.domain.tx import Tx

SECRET_KEY = "survey_secret"
SIGNATURE_CHARS = 22  # 128 bits of base64url


class InvalidToken(PermissionDenied):
    """A survey token that was not made by this authority (or was altered)."""


def sign(secret: bytes, survey_id: str) -> str:
    digest = hmac.new(secret, b"survey:" + survey_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:SIGNATURE_CHARS]


def make_token(secret: bytes, survey_id: str) -> str:
    return f"{survey_id}.{sign(secret, survey_id)}"


def verify_token(secret: bytes, token: str) -> str:
    """The survey id a genuine token names; :class:`InvalidToken` for anything else."""
    survey_id, dot, signature = token.strip().partition(".")
    if not dot or len(survey_id) != 36 or len(signature) != SIGNATURE_CHARS:
        raise InvalidToken("this survey link is not valid", field="token")
    if not hmac.compare_digest(sign(secret, survey_id), signature):
        raise InvalidToken("this survey link is not valid", field="token")
    return survey_id


def link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/v1/feedback/{token}"


def stored_secret(connection: Any) -> bytes | None:
    """The authority's signing secret (SQLAlchemy connection), None before the first survey link."""
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    settings = table("workspace_setting")
    value = connection.execute(select(settings.c.value).where(settings.c.key == SECRET_KEY)).scalar()
    return bytes.fromhex(str(value)) if value else None


def secret_from(connection: Any) -> bytes:
    """The authority's signing secret (SQLAlchemy connection), made on first use."""
    from sqlalchemy import insert

    from supportdesk.domain.tx import table

    secret = stored_secret(connection)
    if secret is None:
        secret = secrets.token_bytes(32)
        connection.execute(insert(table("workspace_setting")).values(key=SECRET_KEY, value=secret.hex()))
    return secret


def lock_survey(tx: Tx, survey_id: str) -> dict[str, Any] | None:
    """The survey row, locked until the answer commits.

    On PostgreSQL two answers to one link may race: the second waits here for the first to
    commit and then sees it answered. SQLite writers are serial already (no FOR UPDATE there).
    """
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    surveys = table("survey")
    statement = select(surveys).where(surveys.c.id == survey_id).with_for_update()
    found = tx.connection.execute(statement).mappings().first()
    return dict(found) if found else None


def issue_surveys(tx: Tx, ticket_ids: Iterable[str]) -> list[str]:
    """A survey for each ticket solved in this transaction that has none waiting for an answer."""
    from supportdesk.store.ids import uuid7

    issued = []
    for ticket_id in sorted(set(ticket_ids)):
        ticket = tx.row("ticket", ticket_id)
        if ticket is None or str(ticket["status"]) != "solved":
            continue
        waiting = [s for s in tx.select_all("survey", ticket_id=ticket_id) if s["answered_at"] is None]
        if waiting:
            continue
        survey_id = uuid7()
        tx.insert(
            "survey",
            {"id": survey_id, "ticket_id": ticket_id, "issued_at": tx.now, "comment": ""},
        )
        tx.audit("ticket", ticket_id, "survey.issued", None, survey_id)
        issued.append(survey_id)
    return issued


def survey_token(connection: Any, survey_id: str) -> str:
    """The token for a survey (SQLAlchemy connection); the authority re-makes it whenever it sends
    the link, so tokens are never stored."""
    return make_token(secret_from(connection), survey_id)
