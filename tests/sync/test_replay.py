"""Replay mode (the rebase re-running pending mutations): inserts become upserts, nothing audited."""

from __future__ import annotations

from supportdesk.domain import write
from supportdesk.domain.catalog import get
from supportdesk.domain.context import MutationContext
from supportdesk.store.workspace import Workspace
from tests.conftest import Team


def test_replaying_a_creation_over_its_own_rows_is_harmless(team: Team) -> None:
    workspace: Workspace = team.workspace
    outcome = team.as_(
        team.agent,
        "ticket.create",
        {"subject": "Again", "body": "once", "requester": {"value": "r@example.com"}, "tags": ["vip", "bug"]},
    )
    with workspace.reading() as connection:
        audit_before = connection.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    spec = get("ticket.create")
    with workspace.engine.begin() as connection:
        context = MutationContext(actor=team.agent, mode="replay", authority=False, mutation_ref="local:1")
        write.run_one(connection, spec, write.validate_args(spec, outcome.args), context)
    with workspace.reading() as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 1
        assert connection.execute("SELECT count(*) FROM message").fetchone()[0] == 1
        tags = [r[0] for r in connection.execute("SELECT tag FROM ticket_tag ORDER BY tag")]
        assert tags == ["bug", "vip"]
        assert connection.execute("SELECT count(*) FROM audit_event").fetchone()[0] == audit_before
