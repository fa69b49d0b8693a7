"""Routing rules (triggers): when a ticket arrives or changes and the conditions hold, act.

A rule, as written in YAML (``supportdesk rules import``)::

    name: Refunds go to Billing
    when: [created]                 # created, updated, triaged (any of them)
    conditions:
      all:                          # every entry must hold …
        channel: [email, web]
        words: [refund, chargeback] # in the subject or the customer's latest message
      any:                          # … and at least one of these (if given)
        priority: [high, urgent]
        tags: [vip]
    actions:
      - set_group: Billing
      - set_priority: high
      - add_tags: [refund]
      - assign: round_robin         # least_loaded, or an agent's email
      - auto_reply: |
          Hi {{ ticket.requester.first_name }}, we got your message about a refund.

Conditions: ``channel``, ``priority``, ``status``, ``type``, ``group`` (name or ``none``),
``requester`` (an address or an exact name), ``organization`` (name or domain), ``tags`` (has
any), ``not_tags`` (has none), ``words`` / ``subject_words`` / ``body_words`` (any of the words,
whole words, any case), and the fields triage fills (``store.ticket_fields.TRIAGED``):
``language``, ``sentiment``, ``intent`` (a value, or ``none`` for empty) and
``sentiment_score_below`` (one number from -1 to 1: "very negative" is ``-0.5``). Each takes one
value or a list meaning "any of".

``query`` holds a query of the query language (``outage tag:vip -status:solved``), checked when
the rule is saved (searching by meaning and ``assignee:me`` refused: rules run on the server).
``set_status`` sets a status (not ``new``).

``when: [scheduled]`` makes the rule an **automation**: the clock runs it, not a change
(:mod:`supportdesk.domain.automations`); it needs a ``query`` with a condition on time
(``status:pending updated>3d``).

``when: [triaged]`` runs a rule after triage wrote a ticket's fields on arrival
(``ticket.triage``), which is when ``language``, ``sentiment`` and ``intent`` are known: route
German tickets to a group, raise the priority of a very negative one.

This module reads rules and decides: which conditions hold, and which mutation carries out
each action (:func:`action_mutation`). It writes nothing itself; the pass that runs rules after
a mutation is the loop in :mod:`supportdesk.domain.automation`, which runs each action as an
ordinary mutation that can start no pass of its own — so no rule can make itself (or any rule)
fire again. Each firing is audited as ``rule.fired``; a rule whose actions fail is rolled back
alone and audited as ``rule.failed``, and the change that started the pass stands.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticValidationError

from supportdesk.domain.errors import NotFound, ValidationFailed
from supportdesk.store import ticket_fields
from supportdesk.store.enums import UNSOLVED, Channel, Priority, Status, TicketType

if TYPE_CHECKING:
    from supportdesk.domain.tx import Tx

Event = Literal["created", "updated", "triaged", "scheduled"]
#: The ``when`` of an automation: run by the clock (:mod:`supportdesk.domain.automations`).
SCHEDULED = "scheduled"
#: The condition holding a query of the query language (``status:pending updated>3d``).
QUERY = "query"
#: The mutation whose changes are the ``triaged`` event (not ``updated``: no person acted).
TRIAGE = "ticket.triage"
#: Conditions on the fields triage fills, by the field table.
TRIAGE_KEYS = tuple(f.name for f in ticket_fields.TRIAGED)
SCORE_BELOW = "sentiment_score_below"
CONDITION_KEYS = (
    "channel",
    "priority",
    "status",
    "type",
    "group",
    "requester",
    "organization",
    "tags",
    "not_tags",
    "words",
    "subject_words",
    "body_words",
    *TRIAGE_KEYS,
    SCORE_BELOW,
    QUERY,
)
ACTION_KEYS = ("set_group", "set_priority", "set_status", "add_tags", "remove_tags", "assign", "auto_reply")
#: Statuses an action may set (``new`` is only ever the first one).
ACTION_STATUSES = tuple(s.value for s in Status if s != Status.NEW)
_ENUMS: dict[str, type[Any]] = {"channel": Channel, "priority": Priority, "status": Status, "type": TicketType}
#: Audit fields that are not a change of the ticket (they never start a rule pass). An import
#: brings history that already happened elsewhere: an auto-reply or a routing rule must not run
#: on a years-old ticket because it was copied in.
QUIET_FIELDS = frozenset(
    {"rule.fired", "rule.failed", "automation.fired", "survey.issued", "survey.answered"}
    | {"time.logged", "time.corrected", "time.deleted", "ticket.imported"}
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Conditions(_Strict):
    all: dict[str, list[str]] = Field(default_factory=dict)
    any: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("all", "any", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError("give a mapping of condition: value(s)")
        cleaned: dict[str, list[str]] = {}
        for key, item in value.items():
            if key not in CONDITION_KEYS:
                raise ValueError(f"{key!r} is not a condition: use one of {', '.join(CONDITION_KEYS)}")
            items = item if isinstance(item, list) else [item]
            if not items:
                raise ValueError(f"{key} needs at least one value")
            cleaned[key] = [str(i).strip() for i in items]
            if key in _ENUMS:
                choices = {m.value for m in _ENUMS[key]}
                for one in cleaned[key]:
                    if one.lower() not in choices:
                        raise ValueError(f"{one!r} is not a {key}: use one of {', '.join(sorted(choices))}")
                cleaned[key] = [one.lower() for one in cleaned[key]]
            if key in TRIAGE_KEYS:
                field = ticket_fields.field(key)
                cleaned[key] = [one.lower() if one.lower() == "none" else field.clean(one) for one in cleaned[key]]
            if key == SCORE_BELOW and (len(cleaned[key]) != 1 or not _is_score(cleaned[key][0])):
                raise ValueError(f"{key} takes one number from -1 to 1, such as -0.5")
            if key == QUERY:
                cleaned[key] = [check_query(one) for one in cleaned[key]]
        return cleaned


class RuleDefinition(_Strict):
    """A rule as people write it; ``actions`` is a list of one-key mappings."""

    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    position: int = 0
    active: bool = True
    when: list[Event] = Field(default_factory=lambda: list[Event](["created"]), min_length=1)
    conditions: Conditions = Field(default_factory=Conditions)
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _automation(self) -> RuleDefinition:
        if SCHEDULED not in self.when:
            return self
        if len(self.when) > 1:
            raise ValueError("when: scheduled runs by the clock and cannot be mixed with created/updated/triaged")
        queries = self.conditions.all.get(QUERY, [])
        if len(queries) != 1:
            raise ValueError(
                "an automation (when: [scheduled]) needs one query under conditions (all), "
                "such as 'status:pending updated>3d'"
            )
        if not has_time_term(queries[0]):
            raise ValueError(
                f"the query {queries[0]!r} has no condition on time (updated>3d, created>1w, sla:due<1h …): "
                "an automation acts when time has passed"
            )
        return self

    @field_validator("conditions", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, Mapping) and not set(value) <= {"all", "any"}:
            return {"all": dict(value)}
        return value

    @field_validator("actions")
    @classmethod
    def _actions(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for action in value:
            if len(action) != 1:
                raise ValueError("each action is one 'name: value' entry")
            ((key, item),) = action.items()
            if key not in ACTION_KEYS:
                raise ValueError(f"{key!r} is not an action: use one of {', '.join(ACTION_KEYS)}")
            if key in ("add_tags", "remove_tags"):
                action[key] = item if isinstance(item, list) else [t for t in str(item).split(",") if t.strip()]
            elif key == "set_priority":
                if str(item).lower() not in {p.value for p in Priority}:
                    raise ValueError(f"{item!r} is not a priority")
                action[key] = str(item).lower()
            elif key == "set_status":
                if str(item).lower() not in ACTION_STATUSES:
                    raise ValueError(f"{item!r} is not a status to set: use one of {', '.join(ACTION_STATUSES)}")
                action[key] = str(item).lower()
            elif not isinstance(item, str) or not item.strip():
                raise ValueError(f"{key} takes one text value")
        return value


#: The longest query a rule may hold.
MAX_QUERY = 500


def check_query(text: str) -> str:
    """A condition's query, parsed now so a bad one is refused when the rule is saved.

    Refused: searching by meaning (``~"…"``: it needs an agent's local vectors, and rules run on
    the server), ``assignee:me`` (a rule has no "me") and a NUL character (PostgreSQL's text
    cannot hold one).
    """
    from supportdesk.store.query import QueryError, parse
    from supportdesk.store.query.parser import SEMANTIC

    text = text.strip()
    if not text or len(text) > MAX_QUERY:
        raise ValueError(f"a query holds 1 to {MAX_QUERY} characters")
    if "\x00" in text:
        # kept in the rule's JSON, it reached PostgreSQL as a bound value (``tag:x\0y``) at every
        # write the rule was checked on, which refused each of them: no ticket could be created
        raise ValueError("a query cannot hold a NUL character")
    try:
        parsed = parse(text)
    except QueryError as error:
        raise ValueError(f"query {text!r}: {error}") from None
    for term in parsed.terms:
        if term.field == SEMANTIC:
            raise ValueError('a rule\'s query cannot search by meaning (~"…"): use words or fields')
        if term.field in ("assignee", "assigned") and "me" in term.values:
            raise ValueError("a rule's query cannot say assignee:me (a rule has no 'me'): name the agent")
    return text


def has_time_term(text: str) -> bool:
    """Whether a query says something about time (``updated>3d``, ``sla:due<1h``, ``is:snoozed``)."""
    from supportdesk.store.query import parse
    from supportdesk.store.query.parser import FIELDS

    for term in parse(text).terms:
        if term.field == "sla" or (term.field == "is" and "snoozed" in term.values):
            return True
        spec = FIELDS.get(term.field or "")
        if spec is not None and spec.kind == "time" and not term.negated:
            return True
    return False


def query_sql(connection: Any, text: str, now: Any) -> tuple[str, dict[str, Any]]:
    """The SQL condition on ``ticket t`` of a rule's query, free text included, and its parameters.

    A query holding a NUL matches no ticket, so its rule is inert until an admin edits it:
    :func:`check_query` refuses one now, but a rule saved before kept it, and on PostgreSQL (whose
    text cannot hold a NUL) the bound value made every write the rule was checked on fail.
    """
    from supportdesk.store.query import compile_query

    if "\x00" in text:
        return "1 = 0", {}
    dialect = "sqlite" if connection.dialect.name == "sqlite" else "postgresql"
    compiled = compile_query(text, me=None, now=now, dialect=dialect)
    where, params = compiled.where, dict(compiled.params)
    if compiled.fts:
        where = f"({where}) AND t.rowid IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH :q_fts)"
        params["q_fts"] = compiled.fts
    return where, params


def parse_definition(data: Any) -> RuleDefinition:
    """A :class:`RuleDefinition` from plain data; a bad one is a :class:`ValidationFailed`."""
    try:
        return RuleDefinition.model_validate(data)
    except PydanticValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "rule"
        name = data.get("name") if isinstance(data, Mapping) else None
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "is not a field of a rule (name, description, position, active, when, conditions, actions)"
        raise ValidationFailed(f"rule {name or '?'}: {where}: {message}", field=where) from None


def check_references(tx: Tx, rule: RuleDefinition) -> None:
    """Refuse a rule naming a group or agent that does not exist, or a broken template."""
    from supportdesk.domain.macros import check_template

    for key in ("all", "any"):
        for name in getattr(rule.conditions, key).get("group", []):
            if name.lower() != "none":
                _group(tx, name)
    for action in rule.actions:
        ((key, value),) = action.items()
        if key == "set_group":
            _group(tx, value)
        elif key == "assign" and value not in ("round_robin", "least_loaded"):
            _agent(tx, value)
        elif key == "auto_reply":
            check_template(value)


def _group(tx: Tx, name: str) -> dict[str, Any]:
    from sqlalchemy import func, or_, select

    from supportdesk.domain.tx import table

    groups = table("groups")
    found = (
        tx.connection.execute(select(groups).where(or_(groups.c.id == name, func.lower(groups.c.name) == name.lower())))
        .mappings()
        .first()
    )
    if found is None:
        raise NotFound(f"no group called {name}", field="actions")
    return dict(found)


def _agent(tx: Tx, email: str) -> dict[str, Any]:
    agent = tx.find("agent", email=email.strip().lower()) or tx.row("agent", email)
    if agent is None:
        raise NotFound(f"no agent {email}", field="actions")
    return agent


# --- evaluating ---------------------------------------------------------------------------------


class TicketFacts:
    """What conditions look at, read lazily from the transaction."""

    def __init__(self, tx: Tx, ticket: dict[str, Any]) -> None:
        self.tx = tx
        self.ticket = ticket
        self._cache: dict[str, Any] = {}

    def _get(self, key: str, load: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    def tags(self) -> set[str]:
        from supportdesk.domain.mutations.common import ticket_tags

        return set(self._get("tags", lambda: ticket_tags(self.tx, self.ticket["id"])))

    def group_name(self) -> str | None:
        def load() -> str | None:
            group = self.tx.row("groups", self.ticket["group_id"]) if self.ticket["group_id"] else None
            return group["name"] if group else None

        return self._get("group", load)  # type: ignore[no-any-return]

    def requester(self) -> tuple[set[str], dict[str, Any] | None]:
        def load() -> tuple[set[str], dict[str, Any] | None]:
            customer = self.tx.row("customer", self.ticket["requester_id"])
            names = {
                i["value"].lower() for i in self.tx.select_all("identity", customer_id=self.ticket["requester_id"])
            }
            if customer:
                names.add(customer["name"].lower())
            organization = (
                self.tx.row("organization", customer["organization_id"])
                if customer and customer["organization_id"]
                else None
            )
            return names, organization

        return self._get("requester", load)  # type: ignore[no-any-return]

    def query_holds(self, text: str) -> bool:
        """Whether the ticket matches a query of the query language, as of the rule's clock."""
        from sqlalchemy import text as sql

        where, params = query_sql(self.tx.connection, text, self.tx.now)
        found = self.tx.connection.execute(
            sql(f"SELECT 1 FROM ticket t WHERE t.id = :q_ticket AND ({where})"),
            {**params, "q_ticket": self.ticket["id"]},
        ).first()
        return found is not None

    def body(self) -> str:
        def load() -> str:
            from sqlalchemy import select

            from supportdesk.domain.tx import table

            messages = table("message")
            row = self.tx.connection.execute(
                select(messages.c.body)
                .where(messages.c.ticket_id == self.ticket["id"], messages.c.author_kind == "customer")
                .order_by(messages.c.created_at.desc(), messages.c.id.desc())
                .limit(1)
            ).first()
            return str(row[0]) if row else ""

        return self._get("body", load)  # type: ignore[no-any-return]


def _is_score(value: str) -> bool:
    try:
        return -1.0 <= float(value) <= 1.0
    except ValueError:
        return False


def _words(text: str) -> set[str]:
    return set(re.findall(r"[^\W_]+", text.lower()))


def _holds(facts: TicketFacts, key: str, values: list[str]) -> bool:
    ticket = facts.ticket
    wanted = {v.lower() for v in values}
    if key in _ENUMS:
        return str(ticket[key]) in wanted
    if key == "group":
        name = facts.group_name()
        return (name is None and "none" in wanted) or (name is not None and name.lower() in wanted)
    if key == "requester":
        names, _organization = facts.requester()
        return bool(names & wanted)
    if key == "organization":
        _names, organization = facts.requester()
        return organization is not None and bool(
            {organization["name"].lower(), (organization["domain"] or "").lower()} & wanted
        )
    if key in TRIAGE_KEYS:
        value = ticket.get(ticket_fields.field(key).store_column)
        return ("none" in wanted) if value is None else str(value).lower() in wanted
    if key == SCORE_BELOW:
        score = ticket.get("sentiment_score")
        return score is not None and float(score) < float(values[0])
    if key == QUERY:
        return any(facts.query_holds(one) for one in values)
    if key == "tags":
        return bool(facts.tags() & wanted)
    if key == "not_tags":
        return not facts.tags() & wanted
    words = {w for v in wanted for w in _words(v)}
    if key == "subject_words":
        return bool(_words(ticket["subject"]) & words)
    if key == "body_words":
        return bool(_words(facts.body()) & words)
    return bool((_words(ticket["subject"]) | _words(facts.body())) & words)


def matches(facts: TicketFacts, conditions: Mapping[str, Any]) -> bool:
    every = conditions.get("all") or {}
    some = conditions.get("any") or {}
    if not all(_holds(facts, key, values) for key, values in every.items()):
        return False
    return not some or any(_holds(facts, key, values) for key, values in some.items())


# --- acting -------------------------------------------------------------------------------------


def _group_agents(tx: Tx, group_id: str) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    agents, members = table("agent"), table("agent_group")
    rows = tx.connection.execute(
        select(agents)
        .join(members, members.c.agent_id == agents.c.id)
        .where(members.c.group_id == group_id, agents.c.active.is_(True), agents.c.role != "light_agent")
        .order_by(agents.c.name, agents.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def pick_round_robin(tx: Tx, group_id: str) -> str:
    """The group's next agent after the one it last gave a ticket to (by name order).

    The cursor row stays locked until the write commits, so two tickets arriving at once on
    PostgreSQL go to two agents (SQLite writers are serial already).
    """
    from sqlalchemy import select

    from supportdesk.domain.tx import table

    agents = _group_agents(tx, group_id)
    if not agents:
        raise ValidationFailed("the group has no agents to assign to", field="assign")
    cursors = table("assignment_cursor")
    locked = select(cursors).where(cursors.c.group_id == group_id).with_for_update()
    cursor = tx.connection.execute(locked).mappings().first()
    ids = [a["id"] for a in agents]
    chosen = ids[0]
    if cursor is not None and cursor["agent_id"] in ids:
        chosen = ids[(ids.index(cursor["agent_id"]) + 1) % len(ids)]
    if cursor is None:
        tx.insert("assignment_cursor", {"group_id": group_id, "agent_id": chosen, "updated_at": tx.now})
    else:
        tx.write_quietly("assignment_cursor", group_id, {"agent_id": chosen, "updated_at": tx.now})
    return str(chosen)


def pick_least_loaded(tx: Tx, group_id: str) -> str:
    """The group's agent with the fewest unsolved tickets (ties: name order)."""
    from sqlalchemy import func, select

    from supportdesk.domain.tx import table

    agents = _group_agents(tx, group_id)
    if not agents:
        raise ValidationFailed("the group has no agents to assign to", field="assign")
    tickets = table("ticket")
    loads: dict[str, int] = dict(
        tx.connection.execute(
            select(tickets.c.assignee_id, func.count())
            .where(
                tickets.c.assignee_id.in_([a["id"] for a in agents]),
                tickets.c.status.in_([s.value for s in UNSOLVED]),
            )
            .group_by(tickets.c.assignee_id)
        ).all()
    )
    return str(min(agents, key=lambda a: loads.get(a["id"], 0))["id"])


def action_mutation(tx: Tx, ticket_id: str, action: Mapping[str, Any], rule_id: str) -> tuple[str, dict[str, Any]]:
    """The mutation (name, arguments) that carries out one action of a rule on a ticket.

    Planned just before it runs, so it sees what the rule's earlier actions did (``set_group``
    then ``assign: round_robin`` picks from the new group). Running it is the automation loop's job.
    """
    from supportdesk.domain.mutations.common import KEEP

    ((key, value),) = action.items()
    if key == "set_group":
        return "ticket.assign", {"ticket_id": ticket_id, "group_id": _group(tx, value)["id"]}
    if key == "set_priority":
        return "ticket.set_priority", {"ticket_id": ticket_id, "priority": value}
    if key == "set_status":
        return "ticket.set_status", {"ticket_id": ticket_id, "status": value}
    if key == "add_tags":
        return "ticket.tag", {"ticket_id": ticket_id, "tags": list(value)}
    if key == "remove_tags":
        return "ticket.untag", {"ticket_id": ticket_id, "tags": list(value)}
    if key == "assign":
        ticket = tx.require("ticket", ticket_id)
        if value in ("round_robin", "least_loaded"):
            if ticket["group_id"] is None:
                raise ValidationFailed(f"{value} needs the ticket to be in a group", field="assign")
            pick = pick_round_robin if value == "round_robin" else pick_least_loaded
            agent_id = pick(tx, ticket["group_id"])
        else:
            agent_id = _agent(tx, value)["id"]
        return "ticket.assign", {"ticket_id": ticket_id, "assignee_id": agent_id, "group_id": KEEP}
    if key == "auto_reply":
        return "ticket.auto_reply", {"ticket_id": ticket_id, "rule_id": rule_id, "template": value}
    raise ValidationFailed(f"{key!r} is not an action", field="actions")  # pragma: no cover - parsed on save


def changed_tickets(tx: Tx) -> dict[str, str]:
    """Ticket id → ``created`` or ``updated`` for what this mutation did to tickets."""
    changed: dict[str, str] = {}
    for record in tx.audited:
        if record.entity != "ticket" or record.field in QUIET_FIELDS:
            continue
        if tx.mutation == TRIAGE:
            changed[record.entity_id] = "triaged"
        elif record.field == "ticket.created":
            changed[record.entity_id] = "created"
        else:
            changed.setdefault(record.entity_id, "updated")
    return changed


def active_rules(tx: Tx) -> list[dict[str, Any]]:
    """The active rules in the order they run: ``position``, then name (read once per push)."""
    from supportdesk.domain.config_cache import cached

    def load() -> list[dict[str, Any]]:
        rules = [r for r in tx.select_all("trigger_rule", order_by="position") if r["active"]]
        rules.sort(key=lambda r: (r["position"], r["name"]))
        return rules

    return cached(tx.connection, "trigger_rules", load, tx)


def rules_read_clocks(tx: Tx) -> bool:
    """Whether an active rule run after a change asks about the SLA (a query with ``sla:``): it
    reads ``ticket_timing``, so the clocks must be current when it runs (read once per push)."""
    from supportdesk.domain.config_cache import cached
    from supportdesk.store.query import parse

    def load() -> bool:
        for rule in active_rules(tx):
            if set(rule["events"]) <= {SCHEDULED}:
                continue
            conditions = rule["conditions"] or {}
            queries = [q for part in ("all", "any") for q in (conditions.get(part) or {}).get(QUERY, [])]
            if any(term.field == "sla" for query in queries for term in parse(query).terms):
                return True
        return False

    return cached(tx.connection, "rules_read_clocks", load, tx)
