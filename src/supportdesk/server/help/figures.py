"""``GET /v1/help/figures``: the help center's self-service figures, for admins."""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' annotations.

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from supportdesk.server.auth import current_actor
from supportdesk.server.errors import ApiError
from supportdesk.server.help import activity
from supportdesk.server.help.context import help_center

router = APIRouter(prefix="/v1/help", tags=["help center"])


@router.get("/figures", summary="Self-service figures of the help center")
async def figures(request: Request, days: Annotated[int, Query(ge=1, le=366)] = 30) -> dict[str, Any]:
    """Searches (and those that found nothing), article views, helpful and unhelpful votes,
    deflections, requests filed through the web form, and the answer bot's answers, resolutions
    and hand-overs — over the
    last ``days`` days (votes: all time). Admins only."""
    if not current_actor(request).is_admin:
        raise ApiError(403, "forbidden", "only an admin may read the help center's figures")
    center = help_center(request)
    found = await run_in_threadpool(
        activity.figures, center.database, days=days, deflection_minutes=center.settings.deflection_minutes
    )
    return asdict(found)
