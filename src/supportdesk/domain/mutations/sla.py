"""Mutations of SLAs and what is measured around them: business-hours calendars, SLA policies,
routing rules, rule auto-replies, handle time and survey answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from supportdesk.domain import feedback, templates, timing
from supportdesk.domain.business_hours import Calendar, CalendarError
from supportdesk.domain.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from supportdesk.domain.mutations.common import KEEP, add_message, label, load_ticket, touch
from supportdesk.domain.registry import ADMINS, ALL_ROLES, Args, mutation
from supportdesk.domain.text_safety import sanitize_line, sanitize_text
from supportdesk.domain.triggers import check_references, parse_definition
from supportdesk.domain.tx import Tx
from supportdesk.store.enums import AuthorKind, Priority, Status
from supportdesk.store.ids import uuid7

Minutes = int | None
TEN_YEARS = 10 * 366 * 24 * 60


def _unique_name(tx: Tx, table_name: str, what: str, name: str, own_id: str | None = None) -> str:
    """The cleaned name, refused when empty or when another row of ``table_name`` has it."""
    clean = sanitize_line(name, cap=120)
    if not clean:
        raise ValidationFailed(f"the {what} needs a name", field="name")
    other = tx.find(table_name, name=clean)
    if other is not None and other["id"] != own_id:
        raise Conflict(f"a {what} called {clean} already exists", field="name")
    return clean


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
    name = _unique_name(tx, "sla_calendar", "calendar", args.name)
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
        changes["name"] = _unique_name(tx, "sla_calendar", "calendar", args.name, calendar["id"])
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


class DeleteSLAThing(Args):
    id: str


@mutation("sla.calendar.delete", DeleteSLAThing, roles=ADMINS)
def delete_calendar(tx: Tx, args: DeleteSLAThing) -> dict[str, Any]:
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
    name = _unique_name(tx, "sla_policy", "policy", args.name)
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
        changes["name"] = _unique_name(tx, "sla_policy", "policy", args.name, policy["id"])
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


@mutation("sla.policy.delete", DeleteSLAThing, roles=ADMINS)
def delete_policy(tx: Tx, args: DeleteSLAThing) -> dict[str, Any]:
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


# --- routing rules ------------------------------------------------------------------------------


class SaveRule(Args):
    rule_id: str = Field(default_factory=uuid7)
    definition: dict[str, Any]


def _rule_values(tx: Tx, data: dict[str, Any]) -> dict[str, Any]:
    rule = parse_definition(data)
    check_references(tx, rule)
    return {
        "name": sanitize_line(rule.name, cap=120),
        "description": sanitize_text(rule.description, cap=2000),
        "position": rule.position,
        "active": rule.active,
        "events": sorted(set(rule.when)),
        "conditions": rule.conditions.model_dump(),
        "actions": [
            {k: sanitize_text(v, cap=20_000) if k == "auto_reply" else v for k, v in a.items()} for a in rule.actions
        ],
    }


@mutation("rule.create", SaveRule, roles=ADMINS)
def create_rule(tx: Tx, args: SaveRule) -> dict[str, Any]:
    """Add a routing rule (validated, every group, agent and template checked now)."""
    values = _rule_values(tx, args.definition)
    _unique_name(tx, "trigger_rule", "rule", values["name"])
    tx.insert(
        "trigger_rule",
        {"id": args.rule_id, **values, "created_at": tx.now, "updated_at": tx.now},
        audit_entity=("trigger_rule", args.rule_id),
    )
    return {"rule_id": args.rule_id, "name": values["name"]}


@mutation("rule.update", SaveRule, roles=ADMINS)
def update_rule(tx: Tx, args: SaveRule) -> dict[str, Any]:
    """Replace a rule's definition."""
    rule = tx.require("trigger_rule", args.rule_id, field="rule_id")
    values = _rule_values(tx, args.definition)
    _unique_name(tx, "trigger_rule", "rule", values["name"], rule["id"])
    changed = tx.update("trigger_rule", rule["id"], values, current=rule)
    return {"rule_id": rule["id"], "name": values["name"], "changed": sorted(changed)}


@mutation("rule.delete", DeleteSLAThing, roles=ADMINS)
def delete_rule(tx: Tx, args: DeleteSLAThing) -> dict[str, Any]:
    """Delete a routing rule."""
    rule = tx.require("trigger_rule", args.id, field="id")
    tx.delete("trigger_rule", rule["id"], audit_entity=("trigger_rule", rule["id"]))
    return {"rule_id": rule["id"], "name": rule["name"]}


def _system_message(
    tx: Tx, ticket: dict[str, Any], message_id: str, body: str, *, public: bool, meta: dict[str, Any]
) -> None:
    """A timeline entry written by supportdesk itself (an auto-reply, a survey answer)."""
    add_message(
        tx,
        ticket,
        message_id=message_id,
        body=body,
        channel=ticket["channel"],
        public=public,
        author_kind=AuthorKind.SYSTEM,
        meta=meta,
    )


class AutoReply(Args):
    ticket_id: str
    rule_id: str
    template: str
    message_id: str = Field(default_factory=uuid7)


@mutation("ticket.auto_reply", AutoReply, roles=ADMINS)
def auto_reply(tx: Tx, args: AutoReply) -> dict[str, Any]:
    """Send a rule's automatic public reply (the system's, so it stops no SLA clock)."""
    from supportdesk.domain.mutations.library import macro_context

    ticket = load_ticket(tx, args.ticket_id)
    if ticket["status"] == Status.CLOSED:
        raise InvalidTransition(f"{label(ticket)} is closed, and closed is final", field="ticket_id")
    body = templates.render(args.template, macro_context(tx, ticket)).strip("\n")
    if not body.strip():
        raise ValidationFailed("the auto-reply is empty", field="template")
    _system_message(tx, ticket, args.message_id, body, public=True, meta={"rule_id": args.rule_id, "auto_reply": True})
    touch(tx, ticket)
    return {"ticket_id": ticket["id"], "message_id": args.message_id}


# --- handle time and surveys ----------------------------------------------------------------------


class RecordHandleTime(Args):
    ticket_id: str
    seconds: int = Field(ge=1, le=86_400)
    record_id: str = Field(default_factory=uuid7)


@mutation("ticket.record_handle_time", RecordHandleTime, roles=ALL_ROLES)
def record_handle_time(tx: Tx, args: RecordHandleTime) -> dict[str, Any]:
    """Record time the agent spent focused on a ticket (the console measures it)."""
    ticket = load_ticket(tx, args.ticket_id)
    agent_id = tx.context.actor.id
    if agent_id is None:
        raise ValidationFailed("handle time is an agent's: the system has none", field="seconds")
    tx.insert(
        "handle_time",
        {"id": args.record_id, "ticket_id": ticket["id"], "agent_id": agent_id, "seconds": args.seconds, "at": tx.now},
    )
    tx.audit("agent", agent_id, "handle_time", None, {"ticket_id": ticket["id"], "seconds": args.seconds})
    row = tx.row("ticket_timing", ticket["id"])
    if row is not None:
        tx.write_quietly("ticket_timing", ticket["id"], {"handle_s": row["handle_s"] + args.seconds})
    return {"ticket_id": ticket["id"], "record_id": args.record_id}


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
    _system_message(tx, ticket, args.message_id, body, public=False, meta={"survey": {"id": survey_id, **rating}})
    tx.audit("ticket", ticket["id"], "survey.answered", None, rating)
    return {"ticket_id": ticket["id"], "survey_id": survey_id, "message_id": args.message_id}
