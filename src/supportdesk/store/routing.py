"""Routing rules on the read path: what ``supportdesk rules list`` and the console's rules screen
show, read with plain ``sqlite3`` from ``trigger_rule`` (editing is the CLI's, by mutations)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def routing_rules(connection: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every rule in the order the rules run: position, then name; empty conditions left out."""
    rules = []
    for rule_id, name, description, position, active, events, conditions, actions in connection.execute(
        "SELECT id, name, description, position, active, events, conditions, actions FROM trigger_rule "
        "ORDER BY position, name"
    ):
        rule: dict[str, Any] = {
            "id": rule_id,
            "name": name,
            "description": description,
            "position": position,
            "active": bool(active),
            "when": json.loads(events),
            "conditions": {key: value for key, value in json.loads(conditions).items() if value},
            "actions": json.loads(actions),
        }
        if not description:
            del rule["description"]
        rules.append(rule)
    return rules


def summary(value: Any) -> str:
    """A condition or action as one short line: ``words: refund, chargeback; channel: email``."""
    if isinstance(value, dict):
        return "; ".join(f"{key}: {summary(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(summary(item) for item in value)
    return str(value).replace("\n", " ")[:60]
