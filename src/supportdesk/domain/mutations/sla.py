"""Mutations of service levels: business-hours calendars, SLA policies, and rebuilding clocks."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from supportdesk.domain import timing
from supportdesk.domain.business_hours import Calendar, CalendarError
from supportdesk.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.mutations.common import KEEP, DeleteById, unique_name
from supportdesk.domain.registry import ADMINS, Args, mutation
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import Priority
from supportdesk.store.ids import uuid7

Minutes = int | None
TEN_YEARS = 10 * 366 * 24 * 60


# --- calendars ----------------------------------------------------------------------------------


def _checked_calendar(timezone: str, hours: dict[str, Any], holidays: list[str]) -> None:
    try:
        Calendar.from_definition(timezone, hours, holidays)
    except CalendarError as error:
        raise ValidationFailed(str(error), field="hours") from None


class CreateCalendar(Args):
    calendar_id: str = Field(default_factory=uuid7)
    name: str
    timezone: str
    hours: dict[str, list[list[str]]]
    holidays: list[str] = Field(default_factory=list, max_length=2000)


@mutation("sla.calendar.create", CreateCalendar, roles=ADMINS)
def create_calendar(tx: Tx, args: CreateCalendar) -> dict[str, Any]:
    """Add business hours (weekly hours in an IANA time zone, with holidays)."""
    name = unique_name(tx, "sla_calendar", "calendar", args.name)
    _checked_calendar(args.timezone, args.hours, args.holidays)
    tx.insert(
        "sla_calendar",
        {
            "id": args.calendar_id,
            "name": name,
            "timezone": args.timezone,
            "hours": args.hours,
            "holidays": sorted(set(args.holidays)),
            "created_at": tx.now,
            "updated_at": tx.now,
        },
        audit_entity=("sla_calendar", args.calendar_id),
    )
    return {"calendar_id": args.calendar_id}


class UpdateCalendar(Args):
    calendar_id: str
    name: str | None = None
    timezone: str | None = None
    hours: dict[str, list[list[str]]] | None = None
    holidays: list[str] | None = Field(default=None, max_length=2000)


@mutation("sla.calendar.update", UpdateCalendar, roles=ADMINS)
def update_calendar(tx: Tx, args: UpdateCalendar) -> dict[str, Any]:
    """Change business hours or holidays; every unsolved ticket is re-timed at once."""
    calendar = tx.require("sla_calendar", args.calendar_id, field="calendar_id")
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = unique_name(tx, "sla_calendar", "calendar", args.name, calendar["id"])
    for name in ("timezone", "hours"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.holidays is not None:
        changes["holidays"] = sorted(set(args.holidays))
    merged = {**calendar, **changes}
    _checked_calendar(merged["timezone"], merged["hours"], merged["holidays"])
    changed = tx.update("sla_calendar", calendar["id"], changes, current=calendar)
    retimed = timing.retime_all(tx) if changed else 0
    return {"calendar_id": calendar["id"], "changed": sorted(changed), "retimed": retimed}


@mutation("sla.calendar.delete", DeleteById, roles=ADMINS)
def delete_calendar(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a calendar no policy uses."""
    calendar = tx.require("sla_calendar", args.id, field="id")
    users = tx.select_all("sla_policy", calendar_id=calendar["id"])
    if users:
        raise Conflict(f"policy {users[0]['name']} uses calendar {calendar['name']}", field="id")
    tx.delete("sla_calendar", calendar["id"], audit_entity=("sla_calendar", calendar["id"]))
    return {"calendar_id": calendar["id"]}


# --- policies -----------------------------------------------------------------------------------


class CreatePolicy(Args):
    policy_id: str = Field(default_factory=uuid7)
    name: str
    priority: Priority
    group_id: str | None = None
    calendar_id: str | None = None
    first_reply_minutes: Minutes = Field(default=None, ge=1, le=TEN_YEARS)
    next_reply_minutes: Minutes = Field(default=None, ge=1, le=TEN_YEARS)
    resolution_minutes: Minutes = Field(default=None, ge=1, le=TEN_YEARS)


def _check_policy(tx: Tx, values: dict[str, Any], policy_id: str) -> None:
    if values["group_id"] is not None and tx.row("groups", values["group_id"]) is None:
        raise NotFound(f"no group with id {values['group_id']}", field="group_id")
    if values["calendar_id"] is not None and tx.row("sla_calendar", values["calendar_id"]) is None:
        raise NotFound(f"no calendar with id {values['calendar_id']}", field="calendar_id")
    for other in tx.select_all("sla_policy", priority=str(values["priority"])):
        if other["group_id"] == values["group_id"] and other["id"] != policy_id:
            raise Conflict(f"policy {other['name']} already covers these tickets", field="priority")
    if all(values[f"{m}_minutes"] is None for m in timing.METRICS):
        raise ValidationFailed("a policy needs at least one target", field="first_reply_minutes")


@mutation("sla.policy.create", CreatePolicy, roles=ADMINS)
def create_policy(tx: Tx, args: CreatePolicy) -> dict[str, Any]:
    """Add SLA targets for one priority (and optionally one group); unsolved tickets are re-timed."""
    name = unique_name(tx, "sla_policy", "policy", args.name)
    values = args.model_dump(exclude={"policy_id", "name"})
    values["priority"] = args.priority.value
    _check_policy(tx, values, args.policy_id)
    tx.insert(
        "sla_policy",
        {"id": args.policy_id, "name": name, **values, "created_at": tx.now, "updated_at": tx.now},
        audit_entity=("sla_policy", args.policy_id),
    )
    return {"policy_id": args.policy_id, "retimed": timing.retime_all(tx)}


class UpdatePolicy(Args):
    """Fields left out stay; ``group_id`` / ``calendar_id`` take ``"keep"`` (default) or a value
    (None: any group / round the clock); a ``*_minutes`` of 0 removes that target."""

    policy_id: str
    name: str | None = None
    priority: Priority | None = None
    group_id: str | None = KEEP
    calendar_id: str | None = KEEP
    first_reply_minutes: Minutes = Field(default=None, ge=0, le=TEN_YEARS)
    next_reply_minutes: Minutes = Field(default=None, ge=0, le=TEN_YEARS)
    resolution_minutes: Minutes = Field(default=None, ge=0, le=TEN_YEARS)


@mutation("sla.policy.update", UpdatePolicy, roles=ADMINS)
def update_policy(tx: Tx, args: UpdatePolicy) -> dict[str, Any]:
    """Change a policy's targets or scope; unsolved tickets are re-timed."""
    policy = tx.require("sla_policy", args.policy_id, field="policy_id")
    changes: dict[str, Any] = {}
    if args.name is not None:
        changes["name"] = unique_name(tx, "sla_policy", "policy", args.name, policy["id"])
    if args.priority is not None:
        changes["priority"] = args.priority.value
    for name in ("group_id", "calendar_id"):
        if getattr(args, name) != KEEP:
            changes[name] = getattr(args, name)
    for metric in timing.METRICS:
        minutes = getattr(args, f"{metric}_minutes")
        if minutes is not None:
            changes[f"{metric}_minutes"] = minutes or None
    _check_policy(tx, {**policy, **changes}, policy["id"])
    changed = tx.update("sla_policy", policy["id"], changes, current=policy)
    retimed = timing.retime_all(tx) if changed else 0
    return {"policy_id": policy["id"], "changed": sorted(changed), "retimed": retimed}


@mutation("sla.policy.delete", DeleteById, roles=ADMINS)
def delete_policy(tx: Tx, args: DeleteById) -> dict[str, Any]:
    """Delete a policy; its unsolved tickets lose their clocks."""
    tx.require("sla_policy", args.id, field="id")
    tx.delete("sla_policy", args.id, audit_entity=("sla_policy", args.id))
    return {"policy_id": args.id, "retimed": timing.retime_all(tx)}


class RebuildTimings(Args):
    ticket_ids: list[str] = Field(min_length=1, max_length=1000)


@mutation("sla.rebuild", RebuildTimings, roles=ADMINS)
def rebuild_timings(tx: Tx, args: RebuildTimings) -> dict[str, Any]:
    """Derive tickets' clocks and report facts again from the audit trail (the authority only:
    a synced workspace holds just its own part of the trail, and takes the server's rows)."""
    if not tx.context.authority:
        raise PermissionDenied("clocks are rebuilt where the whole audit trail is: on the server", field="ticket_ids")
    return {"rebuilt": timing.rebuild_tickets(tx, args.ticket_ids)}
