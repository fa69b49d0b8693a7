"""Mutations of satisfaction surveys: a customer's answer (issuing one is automation's job)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from supportdesk.domain import feedback
from supportdesk.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.mutations.common import system_message
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.text_safety import sanitize_text
from supportdesk.domain.tx import Tx
from supportdesk.store.ids import uuid7

Csat = Literal["good", "bad"]


class AnswerSurvey(Args):
    token: str = Field(max_length=100)
    csat: Csat | None = None
    comment: str = Field(default="", max_length=5000)
    ces: int | None = Field(default=None, ge=1, le=7)
    nps: int | None = Field(default=None, ge=0, le=10)
    message_id: str = Field(default_factory=uuid7)


@mutation("survey.answer", AnswerSurvey, roles=ADMINS)
def answer_survey(tx: Tx, args: AnswerSurvey) -> dict[str, Any]:
    """Record a customer's survey answer (the authority only: it alone can check the token)."""
    if not tx.context.authority:
        raise PermissionDenied("survey answers are recorded by the server", field="token")
    survey_id = feedback.verify_token(feedback.secret_from(tx.connection), args.token)
    survey = feedback.lock_survey(tx, survey_id)
    if survey is None:
        raise NotFound("this survey no longer exists", field="token")
    if survey["answered_at"] is not None:
        raise Conflict("this survey was already answered", field="token")
    if args.csat is None and args.ces is None and args.nps is None:
        raise ValidationFailed("the answer needs a rating (csat, ces or nps)", field="csat")
    ticket = tx.require("ticket", survey["ticket_id"])
    comment = sanitize_text(args.comment, cap=5000).strip()
    parts = []
    if args.csat:
        parts.append(f"rated the support {args.csat}")
    if args.ces is not None:
        parts.append(f"effort {args.ces}/7")
    if args.nps is not None:
        parts.append(f"would recommend {args.nps}/10")
    body = "The customer " + ", ".join(parts) + "." + (f"\n\n{comment}" if comment else "")
    tx.update(
        "survey",
        survey_id,
        {
            "answered_at": tx.now,
            "csat": args.csat,
            "comment": comment,
            "ces": args.ces,
            "nps": args.nps,
            "message_id": args.message_id,
        },
        current=survey,
    )
    rating = {"csat": args.csat, "ces": args.ces, "nps": args.nps}
    system_message(tx, ticket, args.message_id, body, public=False, meta={"survey": {"id": survey_id, **rating}})
    tx.audit("ticket", ticket["id"], "survey.answered", None, rating)
    return {"ticket_id": ticket["id"], "survey_id": survey_id, "message_id": args.message_id}
