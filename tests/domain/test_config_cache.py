"""The configuration a process keeps between writes is read again whenever it changed.

The write path keeps the routing rules and the SLA policy book between transactions, and the
command line keeps who "me" is, while the database's ``config_version`` is unchanged
(:mod:`supportdesk.domain.config_cache`, :mod:`supportdesk.store.config_version`). Each test
here changes one of them in one of the ways it can change — a mutation of this process, another
connection (as another process or a pull writes), a transaction rolled back — and checks the
next write or command sees the change.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta
from typing import Any

import pytest

from supportdesk.cli.session import Session
from supportdesk.domain import write
from supportdesk.domain.config_cache import cached, config_cache
from supportdesk.domain.context import SYSTEM
from supportdesk.store.config_version import WATCHED, read_version
from supportdesk.store.workspace import DB_NAME, Workspace
from tests.conftest import Team, TestClock


def new_ticket(team: Team, subject: str = "Where is my refund?") -> str:
    args = {"subject": subject, "body": "Hi", "requester": {"value": "kim@example.com"}, "channel": "email"}
    return str(write.apply(team.workspace, "ticket.create", args, actor=SYSTEM).result["ticket_id"])


def tags(ws: Workspace, ticket_id: str) -> list[str]:
    with ws.reading() as connection:
        return [r[0] for r in connection.execute("SELECT tag FROM ticket_tag WHERE ticket_id = ?", (ticket_id,))]


def elsewhere(ws: Workspace, sql: str, params: tuple[Any, ...] = ()) -> None:
    """A write on a connection of its own, committed: what another process or a pull does."""
    with closing(sqlite3.connect(ws.root / DB_NAME)) as connection:
        connection.execute(sql, params)
        connection.commit()


def refund_rule(team: Team) -> str:
    definition = {"name": "Refunds", "when": ["created"], "conditions": {"words": ["refund"]}}
    definition["actions"] = [{"add_tags": ["refund"]}]
    return str(
        write.apply(team.workspace, "rule.create", {"definition": definition}, actor=team.admin).result["rule_id"]
    )


def test_a_rule_made_by_this_process_counts_from_the_next_write(team: Team) -> None:
    before = new_ticket(team)  # the write path has read (and kept) "no rules"
    refund_rule(team)
    after = new_ticket(team)
    assert (tags(team.workspace, before), tags(team.workspace, after)) == ([], ["refund"])


def test_a_rule_made_inside_a_bulk_change_counts_for_the_mutations_after_it(team: Team) -> None:
    """One transaction, three mutations: the rules read by the first are forgotten after the second."""
    definition = {"name": "Refunds", "when": ["created"], "conditions": {"words": ["refund"]}}
    definition["actions"] = [{"add_tags": ["refund"]}]
    args = {"subject": "Where is my refund?", "body": "Hi", "requester": {"value": "kim@example.com"}}
    outcomes = write.apply_many(
        team.workspace,
        [("ticket.create", args), ("rule.create", {"definition": definition}), ("ticket.create", args)],
        actor=team.admin,
    )
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    before, after = (str(outcomes[i].result["ticket_id"]) for i in (0, 2))
    assert (tags(team.workspace, before), tags(team.workspace, after)) == ([], ["refund"])


def test_a_rule_turned_off_by_another_process_stops_at_once(team: Team) -> None:
    rule_id = refund_rule(team)
    assert tags(team.workspace, new_ticket(team)) == ["refund"]  # the rules are kept now
    elsewhere(team.workspace, "UPDATE trigger_rule SET active = 0 WHERE id = ?", (rule_id,))
    assert tags(team.workspace, new_ticket(team)) == []


def test_a_policy_changed_by_another_process_times_the_next_ticket(team: Team, clock: TestClock) -> None:
    clock.freeze()
    write.apply(
        team.workspace,
        "sla.policy.create",
        {"name": "Normal", "priority": "normal", "first_reply_minutes": 60},
        actor=SYSTEM,
    )
    first = new_ticket(team, "Hello")  # the policy book is kept now
    elsewhere(team.workspace, "UPDATE sla_policy SET first_reply_minutes = 240")
    second = new_ticket(team, "Hello again")
    with team.workspace.reading() as connection:
        due = dict(
            connection.execute(
                "SELECT ticket_id, first_reply_due FROM ticket_timing WHERE ticket_id IN (?, ?)", (first, second)
            ).fetchall()
        )
    # made at the same instant (the clock stands still), the second with the longer target
    assert datetime.fromisoformat(due[second]) - datetime.fromisoformat(due[first]) == timedelta(minutes=180)


def test_what_a_rolled_back_transaction_read_of_its_own_change_is_not_kept(workspace: Workspace) -> None:
    """A raw write to a watched table that the write path did not see, read, then rolled back:
    kept, it would outlive the rollback (the version is back where the transaction began)."""

    def rules(connection: Any) -> list[str]:
        return [r[0] for r in connection.exec_driver_sql("SELECT name FROM trigger_rule ORDER BY name")]

    with workspace.engine.connect() as connection:
        transaction = connection.begin()
        with config_cache(connection):
            connection.exec_driver_sql(
                "INSERT INTO trigger_rule (id, name, position, active, events, conditions, actions, description, "
                "created_at, updated_at) VALUES ('r1', 'Ghost', 1, 1, '[]', '{}', '[]', '', '2026-01-01', '2026-01-01')"
            )
            assert cached(connection, "names", lambda: rules(connection)) == ["Ghost"]
        transaction.rollback()
        with connection.begin(), config_cache(connection):
            assert cached(connection, "names", lambda: rules(connection)) == []
        with connection.begin(), config_cache(connection):  # and a clean read is kept
            assert cached(connection, "names", lambda: ["not read again"]) == []


def test_every_watched_table_has_its_triggers(workspace: Workspace) -> None:
    with workspace.reading() as connection:
        names = {r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    for table in WATCHED:
        for op in ("insert", "update", "delete"):
            assert f"config_version_{table}_{op}" in names


@pytest.mark.parametrize("table", ["agent", "agent_group", "workspace_setting"])
def test_a_write_to_the_agents_or_the_settings_bumps_the_version(team: Team, table: str) -> None:
    with team.workspace.reading() as connection:
        before = read_version(connection)
        column = next(r[1] for r in connection.execute(f"PRAGMA table_info({table})"))
    elsewhere(team.workspace, f"UPDATE {table} SET {column} = {column}")
    with team.workspace.reading() as connection:
        assert read_version(connection) > before


def test_a_new_agents_group_and_a_new_me_are_seen_by_the_next_command(team: Team) -> None:
    session = Session(workspace_flag=str(team.workspace.root))
    assert session.actor().group_ids == frozenset({team.tier1})
    assert session.viewer().group_ids == frozenset({team.tier1})
    elsewhere(
        team.workspace, "INSERT INTO agent_group (agent_id, group_id) VALUES (?, ?)", (team.agent.id, team.billing)
    )
    assert session.actor().group_ids == frozenset({team.tier1, team.billing})
    assert session.viewer().group_ids == frozenset({team.tier1, team.billing})
    team.workspace.set_setting("me", team.other.id)
    assert session.actor().id == team.other.id
    assert session.viewer().id == team.other.id
    session.close()


def test_a_customer_erased_by_another_process_has_the_next_note_erased_too(team: Team) -> None:
    """While nobody is erased the write path skips its erased-text check; an erasure made
    elsewhere (a pull of the server's, another process) must turn it back on at once."""
    from supportdesk.domain.mutations.privacy import ERASED_TEXT

    ticket_id = new_ticket(team, "My address is 1 Main St")
    first = write.apply(team.workspace, "ticket.note", {"ticket_id": ticket_id, "body": "Kim lives at 1 Main St"})
    elsewhere(
        team.workspace,
        "UPDATE customer SET erased_at = '2026-01-01 00:00:00' WHERE id = "
        "(SELECT requester_id FROM ticket WHERE id = ?)",
        (ticket_id,),
    )
    second = write.apply(team.workspace, "ticket.note", {"ticket_id": ticket_id, "body": "Kim still at 1 Main St"})
    assert first.warnings == [] and second.warnings != []
    with team.workspace.reading() as connection:
        bodies = [
            r[0] for r in connection.execute("SELECT body FROM message WHERE ticket_id = ? ORDER BY id", (ticket_id,))
        ]
    assert "Kim lives at 1 Main St" in bodies and "Kim still at 1 Main St" not in bodies
    assert ERASED_TEXT in bodies


def _requester(team: Team, ticket_id: str) -> str:
    with team.workspace.reading() as connection:
        return str(connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0])


def _bodies(team: Team, ticket_id: str) -> list[str]:
    with team.workspace.reading() as connection:
        return [r[0] for r in connection.execute("SELECT body FROM message WHERE ticket_id = ?", (ticket_id,))]


def test_an_erasure_inside_a_bulk_change_counts_for_the_notes_after_it(team: Team) -> None:
    ticket_id = new_ticket(team, "My address is 1 Main St")
    customer_id = _requester(team, ticket_id)
    outcomes = write.apply_many(
        team.workspace,
        [
            ("ticket.note", {"ticket_id": ticket_id, "body": "Kim lives at 1 Main St"}),
            ("customer.erase", {"customer_id": customer_id}),
            ("ticket.note", {"ticket_id": ticket_id, "body": "Kim still at 1 Main St"}),
        ],
        actor=team.admin,
    )
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert not any("Main St" in body for body in _bodies(team, ticket_id))


def test_a_ticket_from_a_new_requester_keeps_the_configuration_it_read(team: Team) -> None:
    """A new customer is not configuration: the rules a create from a new requester read are
    kept for the next write (they were read again after every such create)."""
    refund_rule(team)  # config_version moved: nothing kept is current
    new_ticket(team)
    args = {"subject": "Refund", "body": "Hi", "requester": {"value": "new-requester@example.com"}}
    created = write.apply(team.workspace, "ticket.create", args, actor=SYSTEM)
    with team.workspace.reading() as connection:
        assert (
            connection.execute(
                "SELECT count(*) FROM customer WHERE id = (SELECT requester_id FROM ticket WHERE id = ?)",
                (created.result["ticket_id"],),
            ).fetchone()[0]
            == 1
        )

    def read_again() -> list[Any]:
        raise AssertionError("the rules were read again after a new requester's ticket")

    with team.workspace.engine.connect() as connection, connection.begin(), config_cache(connection):
        assert [rule["name"] for rule in cached(connection, "trigger_rules", read_again)] == ["Refunds"]


def test_a_customer_erased_in_the_same_transaction_after_a_new_one_still_counts(team: Team) -> None:
    """The customer written before the erasure kept the cache; the erasure drops it."""
    ticket_id = new_ticket(team, "My address is 1 Main St")
    customer_id = _requester(team, ticket_id)
    args = {"subject": "Hello", "body": "Hi", "requester": {"value": "someone-new@example.com"}}
    outcomes = write.apply_many(
        team.workspace,
        [
            ("ticket.create", args),
            ("customer.erase", {"customer_id": customer_id}),
            ("ticket.note", {"ticket_id": ticket_id, "body": "Kim still at 1 Main St"}),
        ],
        actor=team.admin,
    )
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    assert not any("Main St" in body for body in _bodies(team, ticket_id))
