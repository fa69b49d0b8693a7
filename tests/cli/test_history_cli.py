"""``tickets history``: every change of a ticket with who, when and from where."""

from __future__ import annotations

import json

from supportdesk.domain import write
from supportdesk.domain.context import SYSTEM
from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI


def _one(ws: Workspace, sql: str, *params: object) -> object:
    with ws.reading() as connection:
        return connection.execute(sql, params).fetchone()[0]


def test_history_names_the_source_of_each_change(cli: CLI, ws: Workspace) -> None:
    number = _one(ws, "SELECT number FROM ticket WHERE status = 'open' AND channel = 'email' ORDER BY number LIMIT 1")
    ticket_id = _one(ws, "SELECT id FROM ticket WHERE number = ?", number)
    query = f"number:{number},{number + 1}"  # two tickets: a bulk run
    assert cli("tickets", "update", "--query", query, "--set", "priority=urgent", "--yes").code == 0
    assert cli("tickets", "tag", str(number), "vip").code == 0
    write.apply(ws, "ticket.receive", {"ticket_id": ticket_id, "body": "Any news? \x1b[2J"}, actor=SYSTEM)
    result = cli("tickets", "history", str(number), "--json")
    assert result.code == 0, result.stderr
    changes = json.loads(result.stdout)
    by_field = {(c["field"], c["source"]) for c in changes}
    assert ("priority", "bulk") in by_field
    assert ("tag.added", "cli") in by_field
    assert ("message.inbound", "mail") in by_field
    tagged = next(c for c in changes if c["field"] == "tag.added" and c["after"] == "vip")
    assert tagged["mutation"] == "ticket.tag" and tagged["who"] and tagged["at"].endswith("Z")
    text = cli("tickets", "history", str(number)).stdout.splitlines()
    assert any(" cli " in line and "tag.added vip" in line for line in text)
    assert any(" mail " in line and "customer message" in line and "the customer" in line for line in text)
    assert all("\x1b" not in line for line in text)
    assert cli("tickets", "history", "999999").code == 3


def test_a_rules_change_names_the_rule(cli: CLI, ws: Workspace, tmp_path: object) -> None:
    rule = _one(ws, "SELECT count(*) FROM trigger_rule")
    assert isinstance(rule, int)
    changes = []
    with ws.reading() as connection:
        refs = connection.execute(
            "SELECT entity_id FROM audit_event WHERE entity = 'ticket' AND mutation_ref LIKE '%/rule:%' LIMIT 1"
        ).fetchall()
    if refs:
        number = _one(ws, "SELECT number FROM ticket WHERE id = ?", refs[0][0])
        changes = json.loads(cli("tickets", "history", str(number), "--json").stdout)
    else:  # make one: a rule that tags every new ticket, then a new ticket
        import textwrap
        from pathlib import Path

        path = Path(str(tmp_path)) / "rules.yaml"
        path.write_text(
            textwrap.dedent(
                """\
                - name: Tag everything new
                  when: [created]
                  conditions: {channel: [email, web]}
                  actions:
                  - add_tags: [seen-by-rule]
                """
            )
        )
        imported = cli("rules", "import", str(path))
        assert imported.code == 0, imported.stderr
        created = cli("tickets", "create", "-s", "Hello", "-r", "rule@example.com", "--body", "hi")
        assert created.code == 0, created.stderr
        changes = json.loads(cli("tickets", "history", created.stdout.strip(), "--json").stdout)
    ruled = [c for c in changes if c["source"] == "rule"]
    assert ruled and all(c["rule"] and c["who"].startswith("rule ") for c in ruled)
