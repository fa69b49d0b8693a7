"""The first CLI commands: demo, tickets list, tickets show; exit codes and safe output."""

from __future__ import annotations

import json
from pathlib import Path

from supportdesk.store.workspace import Workspace
from tests.cli.helpers import supportdesk

LIST_KEYS = {
    "number",
    "subject",
    "status",
    "priority",
    "type",
    "group",
    "assignee",
    "requester",
    "channel",
    "tags",
    "created_at",
    "updated_at",
}


def test_demo_builds_then_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    built = supportdesk("demo", "--tickets", "150", "--seed", "3", workspace=root)
    assert built.returncode == 0, built.stderr
    assert "156 tickets" in built.stdout  # 150 plus the hostile ones
    again = supportdesk("demo", "--tickets", "150", workspace=root)
    assert again.returncode == 2
    assert again.stderr.startswith("supportdesk: error:") and "--force" in again.stderr
    assert again.stderr.count("\n") == 1
    forced = supportdesk("demo", "--tickets", "100", "--force", workspace=root)
    assert forced.returncode == 0, forced.stderr
    listed = supportdesk("tickets", "list", "--json", workspace=root)
    assert len(json.loads(listed.stdout)) == 106


def test_demo_now_builds_the_history_up_to_that_instant(tmp_path: Path) -> None:
    built = supportdesk("demo", "-n", "60", "--now", "2025-01-01T10:00:00Z", workspace=tmp_path / "ws")
    assert built.returncode == 0, built.stderr
    newest = supportdesk(
        "tickets", "list", "--jsonl", "--fields", "created_at", "-q", "sort:created-desc", workspace=tmp_path / "ws"
    )
    assert newest.stdout.splitlines()[0] <= '{"created_at": "2025-01-01T10:00:00Z"}'
    assert newest.stdout.splitlines()[0] > '{"created_at": "2024-12-31'
    refused = supportdesk("demo", "--now", "tomorrow", workspace=tmp_path / "other")
    assert refused.returncode == 2
    assert (
        refused.stderr
        == "supportdesk: error: --now: 'tomorrow' is not an ISO 8601 instant such as 2026-11-25T12:00:00Z\n"
    )


def test_list_json_has_the_documented_fields(demo_workspace: Workspace) -> None:
    result = supportdesk(
        "tickets", "list", "--query", "status:open,pending tag:billing", "--json", workspace=demo_workspace.root
    )
    assert result.returncode == 0, result.stderr
    tickets = json.loads(result.stdout)
    assert tickets
    for ticket in tickets:
        assert set(ticket) >= LIST_KEYS
        assert ticket["status"] in ("open", "pending")
        assert "billing" in ticket["tags"]
    updated = [t["updated_at"] for t in tickets]
    assert updated == sorted(updated, reverse=True)


def test_show_json_has_the_messages(demo_workspace: Workspace) -> None:
    result = supportdesk("tickets", "show", "#12", "--json", workspace=demo_workspace.root)
    assert result.returncode == 0, result.stderr
    ticket = json.loads(result.stdout)
    assert set(ticket) >= LIST_KEYS
    assert ticket["number"] == 12
    assert ticket["messages"]
    for message in ticket["messages"]:
        assert {"channel", "direction", "visibility", "author", "body", "created_at"} <= set(message)


def test_exit_codes_and_one_line_errors(demo_workspace: Workspace, tmp_path: Path) -> None:
    bad_query = supportdesk("tickets", "list", "--query", "status:nope", workspace=demo_workspace.root)
    assert bad_query.returncode == 2
    assert "at position 8" in bad_query.stderr and bad_query.stdout == ""
    missing = supportdesk("tickets", "show", "999999", workspace=demo_workspace.root)
    assert missing.returncode == 3
    assert missing.stderr.strip() == "supportdesk: error: no ticket 999999"
    no_workspace = supportdesk("tickets", "list", workspace=tmp_path / "nowhere")
    assert no_workspace.returncode == 3
    assert "supportdesk demo" in no_workspace.stderr
    usage = supportdesk("tickets", "list", "--limit", "zero", workspace=demo_workspace.root)
    assert usage.returncode == 2
    for result in (bad_query, missing, no_workspace):
        assert "Traceback" not in result.stderr


def test_hostile_text_never_puts_an_escape_byte_on_stdout(demo_workspace: Workspace) -> None:
    for fmt in ("--json", "--plain", "--csv", "--jsonl"):
        result = supportdesk(
            "tickets", "list", "--query", "requester:mallory@evil.example", fmt, workspace=demo_workspace.root
        )
        assert result.returncode == 0, result.stderr
        assert "[@click=app.quit]" in result.stdout
        assert "\x1b" not in result.stdout and "\x9b" not in result.stdout and "\u202e" not in result.stdout
    shown = supportdesk("tickets", "show", "605", workspace=demo_workspace.root)
    assert "\x1b" not in shown.stdout and "⟨U+001B⟩" in shown.stdout


def test_workspace_from_the_environment(demo_workspace: Workspace) -> None:
    result = supportdesk(
        "tickets",
        "list",
        "-n",
        "3",
        "--plain",
        "--no-headers",
        "--fields",
        "number",
        env={"SUPPORTDESK_WORKSPACE": str(demo_workspace.root)},
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.split()) == 3
