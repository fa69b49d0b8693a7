"""A ticket's change history: who changed what, when, and from where.

Read from the audit trail (``audit_event``, one row per changed field, written by every
mutation; see ``domain.tx``). The *source* says where a change came from:

- ``console``, ``cli``: an agent's change, by the client that recorded it (the audit's
  ``source``); ``console-bulk`` / ``cli-bulk`` a change to many tickets at once (``;``,
  ``tickets update``), ``bulk`` for short;
- ``rule``: a routing rule, named (its ``mutation_ref`` carries the rule's id);
- ``mail``, ``chat``, ``web``, ``social``, ``phone``, ``sms``: a customer's message that came in
  on that channel, and what it did (a reopen, a snooze ended);
- ``bot``: the system's own work without an agent (an auto-reply, triage, a survey);
- ``agent``: an agent's change whose client was not recorded (older rows, or one made on the
  team server's copy).

Bounded: at most :data:`LIMIT` rows, newest last, through ``ix_audit_entity``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from supportdesk.store.times import from_db, iso

LIMIT = 1000
#: Channels of an incoming message as a source name (mail is what agents call email).
CHANNEL_SOURCES = {"email": "mail"}
#: What the system does on its own, without an agent or a customer.
BOT_MUTATIONS = frozenset({"ticket.auto_reply", "survey.answer", "survey.send", "ticket.triage"})


@dataclass(frozen=True)
class Change:
    at: datetime
    who: str
    source: str
    mutation: str
    field: str
    before: Any
    after: Any
    rule: str | None = None
    #: Names for the ids in ``before`` / ``after`` (agents, groups), for people to read.
    names: tuple[tuple[str, str], ...] = ()

    def text(self) -> str:
        """``status open → solved``, ``tag.added refund``, ``reply`` — one line, for people."""
        if self.field.startswith("message."):
            return {"message.inbound": "customer message", "message.reply": "public reply"}.get(
                self.field, self.field.removeprefix("message.")
            )
        names = dict(self.names)

        def shown(value: Any) -> str:
            if value is None or value == "":
                return "—"
            if isinstance(value, list):
                return ", ".join(str(v) for v in value)
            return names.get(str(value), str(value))

        if self.field.startswith("time.") and isinstance(self.after or self.before, dict):
            entry = self.after if isinstance(self.after, dict) else self.before
            parts = [self.field.replace(".", " ")]
            if entry.get("seconds"):
                hours, minutes = divmod(int(entry["seconds"]) // 60, 60)
                parts.append(f"{hours}h {minutes}m" if hours and minutes else f"{hours}h" if hours else f"{minutes}m")
            if entry.get("note"):
                parts.append(f"({entry['note']})")
            return " ".join(parts)
        field = self.field.removesuffix("_id")
        if self.field.startswith("tag."):
            return f"{self.field} {shown(self.after if self.after is not None else self.before)}"
        return f"{field} {shown(self.before)} → {shown(self.after)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "who": self.who,
            "source": self.source,
            "mutation": self.mutation,
            "field": self.field,
            "before": self.before,
            "after": self.after,
            "rule": self.rule,
        }


def _value(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def ticket_history(connection: sqlite3.Connection, ticket_id: str, *, limit: int = LIMIT) -> list[Change]:
    """The ticket's changes, oldest first (the latest ``limit`` of them)."""
    rows = connection.execute(
        "SELECT a.at, a.actor_id, a.mutation, a.mutation_ref, a.field, a.before, a.after, a.source, "
        "ag.name AS agent FROM audit_event a LEFT JOIN agent ag ON ag.id = a.actor_id "
        "WHERE a.entity = 'ticket' AND a.entity_id = ? ORDER BY a.id DESC LIMIT ?",
        (ticket_id, limit),
    ).fetchall()
    rules = {str(r[0]): str(r[1]) for r in connection.execute("SELECT id, name FROM trigger_rule")}
    inbound = _inbound_channels(connection, ticket_id)
    # the channel of the customer's message each mutation brought in: its other changes (a
    # reopen, a snooze ended) came from that channel too
    channel_of_ref = {r[3]: inbound.get(str(_value(r[6])), "") for r in rows if r[4] == "message.inbound"}
    names = tuple(
        (str(i), str(n))
        for i, n in connection.execute("SELECT id, name FROM agent UNION ALL SELECT id, name FROM groups")
    )
    changes = []
    for at, actor_id, mutation, ref, field, before, after, source, agent in reversed(rows):
        rule_id = ref.rsplit("/rule:", 1)[1] if ref and "/rule:" in ref else None
        changes.append(
            Change(
                at=from_db(at) or datetime.min,
                who=_who(agent, actor_id, rule_id, rules, customer=bool(channel_of_ref.get(ref)) and not source),
                source=_source(source, actor_id, mutation, rule_id, channel_of_ref.get(ref)),
                mutation=mutation,
                field=field,
                before=_value(before),
                after=_value(after),
                rule=rules.get(rule_id, rule_id) if rule_id else None,
                names=names,
            )
        )
    return changes


def _inbound_channels(connection: sqlite3.Connection, ticket_id: str) -> dict[str, str]:
    """The channel of each customer message of the ticket, by message id."""
    return {
        str(message_id): str(channel)
        for message_id, channel in connection.execute(
            "SELECT id, channel FROM message WHERE ticket_id = ? AND author_kind = 'customer'", (ticket_id,)
        )
    }


def _who(agent: str | None, actor_id: str | None, rule_id: str | None, rules: dict[str, str], *, customer: bool) -> str:
    if rule_id:
        return f"rule {rules.get(rule_id, rule_id)}"
    if customer:
        return "the customer"
    if agent:
        return agent
    return "agent (removed)" if actor_id else "supportdesk"


def _source(recorded: str | None, actor_id: str | None, mutation: str, rule_id: str | None, channel: str | None) -> str:
    if rule_id or recorded == "rule":
        return "rule"
    if recorded in ("console-bulk", "cli-bulk"):
        return "bulk"
    if recorded and actor_id:  # an agent's client said (a ticket an agent opened for a caller)
        return recorded
    if channel:
        return CHANNEL_SOURCES.get(channel, channel)
    if mutation in BOT_MUTATIONS or actor_id is None:
        return "bot"
    return recorded or "agent"
