"""Who a workspace reads as, and which tickets that agent may see — for the plain-sqlite3 reads.

The rule is the write path's (``domain.rules.can_access_ticket``): admins, and a workspace that
acts as nobody yet, see every ticket; other agents see their groups' tickets, tickets with no
group and tickets assigned to them. A synced workspace holds only what the server sent, but a
standalone one holds every group's tickets, so ``tickets list`` and ``tickets show`` must apply
the rule themselves. It lives here, written once as SQL and once as a check, because the store
imports no other layer and the read commands must not load the domain (and SQLAlchemy with it);
``tests/cli/test_visibility.py`` holds the two to the domain's rule on every kind of agent.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from supportdesk.store.workspace import read_setting


@dataclass(frozen=True)
class Viewer:
    """The agent reads are made for: ``sees_all`` for admins and for nobody-yet."""

    id: str | None
    sees_all: bool
    group_ids: frozenset[str] = frozenset()

    def sees(self, group_id: str | None, assignee_id: str | None) -> bool:
        """Whether a ticket of ``group_id`` assigned to ``assignee_id`` is one this agent may see."""
        if self.sees_all:
            return True
        return group_id is None or group_id in self.group_ids or (assignee_id is not None and assignee_id == self.id)

    def condition(self, alias: str = "t") -> tuple[str, dict[str, Any]]:
        """The same rule as a SQL condition on a ticket alias, with its (``vis_``-named) parameters."""
        if self.sees_all:
            return "1 = 1", {}
        params: dict[str, Any] = {"vis_me": self.id}
        names = []
        for index, group_id in enumerate(sorted(self.group_ids)):
            params[f"vis_g{index}"] = group_id
            names.append(f":vis_g{index}")
        in_groups = f" OR {alias}.group_id IN ({', '.join(names)})" if names else ""
        return f"({alias}.group_id IS NULL{in_groups} OR {alias}.assignee_id = :vis_me)", params


EVERYONE = Viewer(id=None, sees_all=True)


def workspace_viewer(connection: sqlite3.Connection) -> Viewer:
    """The workspace's agent ("me") as a :class:`Viewer`.

    An agent id that names no agent any more (removed by a sync) sees only ungrouped tickets:
    when in doubt, show less, never another group's queue.
    """
    agent_id = read_setting(connection, "me")
    if not agent_id:
        return EVERYONE
    agent_id = str(agent_id)
    row = connection.execute("SELECT role FROM agent WHERE id = ?", (agent_id,)).fetchone()
    if row is None:
        return Viewer(id=agent_id, sees_all=False)
    if row[0] == "admin":
        return Viewer(id=agent_id, sees_all=True)
    groups = frozenset(
        r[0] for r in connection.execute("SELECT group_id FROM agent_group WHERE agent_id = ?", (agent_id,))
    )
    return Viewer(id=agent_id, sees_all=False, group_ids=groups)


def ticket_visible(connection: sqlite3.Connection, viewer: Viewer, ticket_id: str) -> bool:
    """Whether ``ticket_id`` exists and ``viewer`` may see it."""
    row = connection.execute("SELECT group_id, assignee_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()
    return row is not None and viewer.sees(row[0], row[1])
