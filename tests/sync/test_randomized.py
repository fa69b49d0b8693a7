"""Several agents going on- and offline at random, with the protocol's invariants checked throughout.

Seeded, so a failure replays exactly: ``SUPPORTDESK_SYNC_SEED=… pytest tests/sync/test_randomized.py``.
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass, field
from typing import Any

from supportdesk.domain.errors import DomainError
from tests.live import Deployment, Replica
from tests.sync.compare import differences, replica_view, server_count, server_view

SEED = int(os.environ.get("SUPPORTDESK_SYNC_SEED", "20261125"))
STEPS = int(os.environ.get("SUPPORTDESK_SYNC_STEPS", "220"))


@dataclass
class Agent:
    replica: Replica
    online: bool = True
    cursors: list[int] = field(default_factory=list)
    acked: set[int] = field(default_factory=set)
    client_id: str = ""


def _tickets(replica: Replica) -> list[tuple[str, str, str | None]]:
    return [(r[0], r[1], r[2]) for r in replica.rows("SELECT id, status, assignee_id FROM ticket ORDER BY id")]


def random_mutation(
    rng: random.Random, agent: Agent, deployment: Deployment, counter: int
) -> tuple[str, dict[str, Any]]:
    team = deployment.team
    tickets = [t for t in _tickets(agent.replica) if t[1] != "closed"]
    groups = [team.tier1, team.billing, None]
    if not tickets or rng.random() < 0.15:
        return "ticket.create", {
            "subject": f"Question {counter}",
            "body": f"body {counter}",
            "requester": {"value": f"c{rng.randrange(6)}@example.com"},
            "group_id": rng.choice(groups),
        }
    ticket_id, _status, assignee = rng.choice(tickets)
    choice = rng.random()
    if choice < 0.25:
        return "ticket.note", {"ticket_id": ticket_id, "body": f"note {counter}"}
    if choice < 0.40:
        return "ticket.reply", {"ticket_id": ticket_id, "body": f"reply {counter}"}
    if choice < 0.50:
        return "ticket.tag", {"ticket_id": ticket_id, "tags": [rng.choice(["vip", "bug", "refund"])]}
    if choice < 0.58:
        return "ticket.untag", {"ticket_id": ticket_id, "tags": [rng.choice(["vip", "bug", "refund"])]}
    if choice < 0.70:
        return "ticket.set_priority", {"ticket_id": ticket_id, "priority": rng.choice(["low", "normal", "high"])}
    if choice < 0.80:
        return "ticket.assign", {
            "ticket_id": ticket_id,
            "assignee_id": agent.replica.agent_id,
            "expect_assignee": True,
            "expected_assignee_id": assignee,
        }
    if choice < 0.88:
        return "ticket.assign", {"ticket_id": ticket_id, "group_id": rng.choice(groups), "assignee_id": None}
    if choice < 0.96:
        return "ticket.set_status", {"ticket_id": ticket_id, "status": rng.choice(["open", "pending", "solved"])}
    return "ticket.set_status", {"ticket_id": ticket_id, "status": "closed"}


def sync_and_check(agent: Agent, deployment: Deployment) -> None:
    before = agent.replica.rows("SELECT id FROM outbox ORDER BY id")
    agent.replica.sync()
    cursor, last_acked = agent.replica.rows("SELECT cursor, last_acked_mutation_id FROM sync_state")[0]
    assert not agent.cursors or cursor >= agent.cursors[-1], "a cursor moved backwards"
    agent.cursors.append(cursor)
    agent.acked.update(i for (i,) in before if i <= last_acked)
    assert agent.replica.rows("SELECT count(*) FROM outbox WHERE id <= ?", last_acked) == [(0,)]


def test_agents_going_on_and_offline_keep_every_invariant(deployment: Deployment) -> None:
    rng = random.Random(SEED)
    agents = {who: Agent(deployment.replica(who)) for who in ("sam", "tom", "bea", "ada")}
    db = deployment.team.db
    try:
        for agent in agents.values():
            agent.client_id = agent.replica.rows("SELECT client_id FROM sync_state")[0][0]
        for step in range(STEPS):
            agent = agents[rng.choice(list(agents))]
            roll = rng.random()
            if roll < 0.08:
                agent.online = not agent.online
            elif roll < 0.30 and agent.online:
                sync_and_check(agent, deployment)
            else:
                name, args = random_mutation(rng, agent, deployment, step)
                with contextlib.suppress(DomainError):  # refused locally, as the console would refuse it
                    agent.replica.apply(name, args)
            if step % 40 == 39:
                _check_server_invariants(agents, db)
        for _round in range(2):
            for agent in agents.values():
                agent.online = True
                sync_and_check(agent, deployment)
        _check_server_invariants(agents, db)
        for who, agent in agents.items():
            assert agent.replica.rows("SELECT count(*) FROM outbox") == [(0,)], who
            problems = differences(server_view(db, agent.replica.agent_id), replica_view(agent.replica.workspace))
            assert not problems, f"{who}: {problems}"
    finally:
        for agent in agents.values():
            agent.replica.close()


def _check_server_invariants(agents: dict[str, Agent], db: Any) -> None:
    # no duplicate message: every body was written by exactly one mutation
    assert server_count(db, "SELECT count(*) FROM message") == server_count(
        db, "SELECT count(DISTINCT body) FROM message"
    )
    # no acknowledged mutation lost: the server holds a result for each
    for agent in agents.values():
        for mutation_id in sorted(agent.acked)[-50:]:
            found = server_count(
                db,
                "SELECT count(*) FROM mutation_result WHERE client_id = :c AND mutation_id = :m",
                c=agent.client_id,
                m=mutation_id,
            )
            assert found == 1, (agent.client_id, mutation_id)
