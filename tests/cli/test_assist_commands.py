"""The assist engine from the command line: suggestions, similar tickets, triage, summaries and
trends, with ``--json``, their errors and exit codes, and another group's tickets not found."""

from __future__ import annotations

import json

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI


def _numbers(ws: Workspace, sql: str, *params: object) -> list[int]:
    with ws.reading() as connection:
        return [row[0] for row in connection.execute(sql, params)]


def _refund_ticket(ws: Workspace) -> int:
    return _numbers(
        ws,
        "SELECT number FROM ticket WHERE subject LIKE '%refund%' OR subject LIKE '%charged%' ORDER BY number LIMIT 1",
    )[0]


def test_kb_and_macros_suggest_rank_for_a_ticket(cli: CLI, ws: Workspace) -> None:
    number = _refund_ticket(ws)
    result = cli("kb", "suggest", str(number), "--json")
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["articles"] and document["articles"][0]["rank"] == 1
    assert all(set(a) == {"rank", "title", "score", "similarity", "id"} for a in document["articles"])
    plain = cli("macros", "suggest", f"#{number}", "-n", "2", "--plain", "--no-headers", "--fields", "rank,title")
    assert plain.code == 0, plain.stderr
    assert len(plain.stdout.strip().splitlines()) == 2


def test_similar_tickets_solved_first_with_their_solution(cli: CLI, ws: Workspace) -> None:
    number = _refund_ticket(ws)
    result = cli("tickets", "similar", str(number), "--json", "-n", "5")
    assert result.code == 0, result.stderr
    similar = json.loads(result.stdout)["similar"]
    assert similar and number not in [s["number"] for s in similar]
    solved = [s["status"] in ("solved", "closed") for s in similar]
    assert solved == sorted(solved, reverse=True)  # solved ones first
    assert all(s["solution"] for s in similar if s["status"] in ("solved", "closed"))


def test_unknown_and_other_groups_tickets_are_not_found(cli: CLI, ws: Workspace) -> None:
    for command in (("kb", "suggest"), ("macros", "suggest"), ("tickets", "similar"), ("tickets", "triage")):
        result = cli(*command, "999999")
        assert result.code == 3 and "no ticket 999999" in result.stderr, (command, result)
    with ws.reading() as connection:
        agent, group = connection.execute(
            "SELECT a.id, ag.group_id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id "
            "WHERE a.role = 'agent' ORDER BY a.email LIMIT 1"
        ).fetchone()
        other = connection.execute(
            "SELECT number FROM ticket WHERE group_id IS NOT NULL AND group_id != ? AND (assignee_id IS NULL "
            "OR assignee_id != ?) ORDER BY number LIMIT 1",
            (group, agent),
        ).fetchone()[0]
    ws.set_setting("me", agent)
    for command in (("kb", "suggest"), ("macros", "suggest"), ("tickets", "similar"), ("tickets", "triage")):
        result = cli(*command, str(other))
        assert result.code == 3 and f"no ticket {other}" in result.stderr, (command, result)
    result = cli("tickets", "show", str(other), "--summary")
    assert result.code == 3
    assert cli("kb", "suggest", "1", "-n", "0").code == 2


def test_show_summary_and_triage(cli: CLI, ws: Workspace) -> None:
    long = _numbers(
        ws,
        "SELECT t.number FROM ticket t WHERE (SELECT count(*) FROM message m WHERE m.ticket_id = t.id) >= 4 "
        "AND t.status NOT IN ('closed') ORDER BY t.number LIMIT 1",
    )[0]
    result = cli("tickets", "show", str(long), "--summary", "--json")
    assert result.code == 0, result.stderr
    summary = json.loads(result.stdout)["summary"]
    assert summary["messages"] >= 4 and summary["text"].startswith("Asks:")
    assert "Summary" in cli("tickets", "show", str(long), "--summary").stdout
    triaged = cli("tickets", "triage", str(long), "--json")
    assert triaged.code == 0, triaged.stderr
    (row,) = json.loads(triaged.stdout)
    assert row["sentiment"] in ("negative", "neutral", "positive") and row["language"]
    shown = json.loads(cli("tickets", "show", str(long), "--json").stdout)
    assert shown["intent"] == row["intent"] and shown["intent_confidence"] is not None


def test_report_trends(cli: CLI) -> None:
    result = cli("report", "trends", "--json")
    assert result.code == 0, result.stderr
    trends = json.loads(result.stdout)["trends"]
    assert all(t["term"].startswith('~"') for t in trends)
    bad = cli("report", "weather")
    assert bad.code == 2 and "not a report" in bad.stderr


def test_report_trends_as_an_agent_counts_and_names_only_their_tickets(cli: CLI, ws: Workspace) -> None:
    """A standalone workspace holds every group's tickets: an agent's trends are clustered from
    the tickets they may see, so no number, label or count (this week's, the 4 weeks before)
    comes from another group's."""
    from supportdesk.store.viewer import workspace_viewer

    with ws.reading() as connection:
        agent = connection.execute(
            "SELECT a.id FROM agent a JOIN agent_group ag ON ag.agent_id = a.id WHERE a.role = 'agent' "
            "ORDER BY a.email LIMIT 1"
        ).fetchone()[0]
    ws.set_setting("me", agent)
    with ws.reading() as connection:
        viewer = workspace_viewer(connection)
        seen, params = viewer.condition("ticket")
        visible = {row[0] for row in connection.execute(f"SELECT number FROM ticket WHERE {seen}", params)}
        hidden = {row[0] for row in connection.execute(f"SELECT number FROM ticket WHERE NOT {seen}", params)}
    assert hidden  # the demo workspace holds other groups' tickets
    result = cli("report", "trends", "--json")
    assert result.code == 0, result.stderr
    trends = json.loads(result.stdout)["trends"]
    assert trends
    shown = {number for trend in trends for number in trend["numbers"]}
    assert shown <= visible and not shown & hidden
    assert all(trend["recent"] == len(trend["numbers"]) for trend in trends)


def test_a_semantic_term_in_tickets_list(cli: CLI) -> None:
    result = cli("tickets", "list", "--query", '~"money taken twice" -tag:nothing', "--json", "--fields", "number")
    assert result.code == 0, result.stderr
    numbers = [row["number"] for row in json.loads(result.stdout)]
    assert numbers
    bad = cli("tickets", "list", "--query", "~money")
    assert bad.code == 2 and "quoted phrase" in bad.stderr


def test_create_with_triage_fills_the_fields_at_once(cli: CLI, ws: Workspace) -> None:
    result = cli(
        "tickets",
        "create",
        "-s",
        "Rückerstattung",
        "-r",
        "kim@example.com",
        "--triage",
        "--json",
        stdin="Sie haben mir zweimal Geld abgebucht, das ist eine Frechheit! Bitte erstatten Sie es sofort.",
    )
    assert result.code == 0, result.stderr
    ticket_id = json.loads(result.stdout)["id"]
    with ws.reading() as connection:
        row = connection.execute(
            "SELECT language, sentiment, intent, intent_confidence FROM ticket WHERE id = ?", (ticket_id,)
        ).fetchone()
    assert (row[0], row[1]) == ("de", "negative") and row[2] and row[3] is not None


def test_customer_text_cannot_reach_the_terminal_raw(cli: CLI, ws: Workspace) -> None:
    hostile = "Charged twice \x1b[2J\x1b]0;owned\x07 [bold red]refund[/] <script>x</script>"
    first = cli("tickets", "create", "-s", hostile, "-r", "eve@example.com", "--json", stdin=hostile + "\nplease")
    second = cli("tickets", "create", "-s", hostile, "-r", "eve@example.com", "--json", stdin=hostile + "\nagain")
    assert first.code == 0 and second.code == 0, (first.stderr, second.stderr)
    number = json.loads(second.stdout)["id"]
    # solved, the first is the top similar ticket (solved ones come first), with its solution
    answer = "Refunded \x1b[31mthe[/] duplicate [link=http://x]here[/link]"
    assert cli("tickets", "reply", json.loads(first.stdout)["id"], "--status", "solved", stdin=answer).code == 0
    for flags in (("--json",), ("--plain",)):
        result = cli("tickets", "similar", number, *flags)
        assert result.code == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    top = json.loads(cli("tickets", "similar", number, "--json").stdout)["similar"][0]
    assert top["id"] == json.loads(first.stdout)["id"]
    assert "[bold red]refund[/]" in top["subject"] and "duplicate" in top["solution"]  # shown, not styled
    for _ in range(3):
        cli("tickets", "note", number, stdin=hostile)
    shown = cli("tickets", "show", number, "--summary")
    assert shown.code == 0 and "\x1b" not in shown.stdout and "Summary" in shown.stdout
