"""Macros, the knowledge base and saved views from the command line, and their files."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import yaml

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI


def scalar(ws: Workspace, sql: str, *params: object) -> object:
    with ws.reading() as connection:
        return connection.execute(sql, params).fetchone()[0]


def test_macros_list_and_show(cli: CLI) -> None:
    listed = json.loads(cli("macros", "list", "--json").stdout)
    names = [m["name"] for m in listed]
    assert "Greeting" in names and names == sorted(names, key=str.lower)
    declined = next(m for m in listed if m["name"] == "Card declined: first answer")
    assert {"field": "status", "value": "pending"} in declined["actions"]
    shown = cli("macros", "show", "Card declined: first answer")
    document = yaml.safe_load(shown.stdout)
    assert document["actions"]["status"] == "pending"
    assert "{{ ticket.requester.first_name }}" in document["body"]
    assert cli("macros", "show", "No such macro").code == 3


def test_macro_preview_on_a_ticket_changes_nothing(cli: CLI, ws: Workspace) -> None:
    number = scalar(ws, "SELECT number FROM ticket WHERE status = 'open' ORDER BY number LIMIT 1")
    before = scalar(ws, "SELECT count(*) FROM message")
    preview = json.loads(cli("macros", "show", "Card declined: first answer", "--ticket", str(number), "--json").stdout)
    first_name = str(
        scalar(ws, "SELECT c.name FROM ticket t JOIN customer c ON c.id = t.requester_id WHERE number = ?", number)
    ).split()[0]
    assert preview["comment"].startswith(f"Hi {first_name},")
    assert {"field": "status", "before": "open", "after": "pending"} in preview["changes"]
    assert scalar(ws, "SELECT count(*) FROM message") == before


def test_macro_create_edit_and_editor(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    created = cli("macros", "create", "--name", "Chase up", "-a", "status=pending", "-a", "add_tags=chased,followup",
                  "--body", "Hi {{ ticket.requester.first_name }}, any news?")  # fmt: skip
    assert created.code == 0, created.stderr
    bad = cli("macros", "create", "--name", "Broken", "--body", "Hi {{ ticket.nmber }}")
    assert bad.code == 2 and "ticket.nmber" in bad.stderr
    assert cli("macros", "edit", "Chase up", "--inactive", "--description", "Nudge").code == 0
    assert scalar(ws, "SELECT active FROM macro WHERE name = 'Chase up'") == 0
    unchanged = cli("macros", "edit", "Chase up", "--inactive")
    assert "nothing to change" in unchanged.stdout
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
        "p.write_text(p.read_text().replace('any news?', 'any news at all?'))\n"
    )
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    os.environ["SUPPORTDESK_EDITOR"] = f"{sys.executable} {editor}"
    try:
        edited = cli("macros", "edit", "Chase up")
    finally:
        del os.environ["SUPPORTDESK_EDITOR"]
    assert edited.code == 0, edited.stderr
    assert "any news at all?" in str(scalar(ws, "SELECT body FROM macro WHERE name = 'Chase up'"))


def test_macros_export_import_round_trip(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "macros"
    assert cli("macros", "export", str(folder)).code == 0
    files = sorted(folder.glob("*.yaml"))
    assert len(files) == scalar(ws, "SELECT count(*) FROM macro")
    unchanged = cli("macros", "import", str(folder))
    assert unchanged.stdout.strip() == f"created 0, updated 0, unchanged {len(files)}"
    greeting = folder / "greeting.yaml"
    greeting.write_text(greeting.read_text().replace("active: true", "active: false"))
    (folder / "new.yaml").write_text("name: Brand new\nactions:\n  priority: high\nbody: |\n  Thanks!\n")
    changed = cli("macros", "import", str(folder))
    assert changed.stdout.strip() == f"created 1, updated 1, unchanged {len(files) - 1}", changed.stderr
    assert scalar(ws, "SELECT active FROM macro WHERE name = 'Greeting'") == 0
    assert scalar(ws, "SELECT body FROM macro WHERE name = 'Brand new'") == "Thanks!\n"
    again = cli("macros", "import", str(folder))
    assert again.stdout.strip() == f"created 0, updated 0, unchanged {len(files) + 1}"
    single = tmp_path / "all.yaml"
    assert cli("macros", "export", str(single)).code == 0
    assert len(list(yaml.safe_load_all(single.read_text()))) == len(files) + 1


def test_macro_import_refuses_bad_files(cli: CLI, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    result = cli("macros", "import", str(broken))
    assert result.code == 2 and "not valid YAML" in result.stderr
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("name: X\ncolour: red\n")
    assert cli("macros", "import", str(unknown)).code == 2
    assert cli("macros", "import", str(tmp_path / "missing.yaml")).code == 3
    refused = tmp_path / "refused.yaml"
    refused.write_text("name: Bad action\nactions:\n  status: sideways\n")
    partial = cli("macros", "import", str(refused))
    assert partial.code == 1 and "sideways" in partial.stderr


def test_kb_search_show_export_import(cli: CLI, ws: Workspace, tmp_path: Path) -> None:
    hits = json.loads(cli("kb", "search", "password", "--json").stdout)
    assert hits and all({"slug", "title", "snippet", "tags"} <= set(h) for h in hits)
    slug = hits[0]["slug"]
    shown = cli("kb", "show", slug)
    assert shown.stdout.startswith("---\n") and f"slug: {slug}" in shown.stdout
    assert cli("kb", "show", "no-such-article").code == 3
    folder = tmp_path / "kb"
    assert cli("kb", "export", str(folder)).code == 0
    count = scalar(ws, "SELECT count(*) FROM kb_article")
    assert len(list(folder.glob("*.md"))) == count
    assert cli("kb", "import", str(folder)).stdout.strip() == f"created 0, updated 0, unchanged {count}"
    page = folder / f"{slug}.md"
    page.write_text(page.read_text() + "\nOne more line.\n")
    (folder / "fresh.md").write_text("---\ntitle: Fresh article\ntags: [Billing, refund]\n---\nBody *here*.\n")
    changed = cli("kb", "import", str(folder))
    assert changed.stdout.strip() == f"created 1, updated 1, unchanged {count - 1}", changed.stderr
    assert str(scalar(ws, "SELECT body FROM kb_article WHERE slug = ?", slug)).endswith("\nOne more line.\n")
    assert scalar(ws, "SELECT body FROM kb_article WHERE slug = 'fresh'") == "Body *here*.\n"
    assert scalar(ws, "SELECT tags FROM kb_article WHERE slug = 'fresh'") == "billing,refund"
    assert cli("kb", "import", str(folder)).stdout.strip() == f"created 0, updated 0, unchanged {count + 1}"
    untitled = tmp_path / "untitled.md"
    untitled.write_text("no front matter\n")
    assert cli("kb", "import", str(untitled)).code == 2


def test_views_list_create_delete(cli: CLI, ws: Workspace) -> None:
    created = cli("views", "create", "VIP waiting", "-q", "tag:vip status:open,pending", "--sort", "priority-desc")
    assert created.code == 0, created.stderr
    listed = json.loads(cli("views", "list", "--json", "--counts").stdout)
    view = next(v for v in listed if v["name"] == "VIP waiting")
    assert view["shared"] is False and view["sort"] == "priority-desc"
    assert view["count"] == scalar(
        ws,
        "SELECT count(*) FROM ticket WHERE status IN ('open','pending') "
        "AND id IN (SELECT ticket_id FROM ticket_tag WHERE tag = 'vip')",
    )
    same = cli("views", "create", "VIP waiting", "-q", "tag:vip status:open,pending", "--sort", "priority-desc")
    assert same.code == 0 and "already exists" in same.stdout
    assert cli("views", "create", "VIP waiting", "-q", "tag:vip").code == 2
    assert cli("views", "create", "Bad", "-q", "status:nope").code == 2
    assert cli("views", "create", "Bad sort", "-q", "tag:vip", "--sort", "sideways").code == 2
    assert cli("views", "delete", "VIP waiting").code == 0
    assert cli("views", "delete", "VIP waiting").code == 3


def test_a_plain_agent_cannot_share_a_view(cli: CLI) -> None:
    assert cli("config", "set", "me", "marcus.oyelaran@brightline.example").code == 0
    refused = cli("views", "create", "Team view", "-q", "tag:vip", "--shared")
    assert refused.code == 4 and "only admins" in refused.stderr
