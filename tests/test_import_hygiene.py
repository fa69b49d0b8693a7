"""Layer boundaries and lazy imports, checked in a fresh interpreter (sys.modules)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FORBIDDEN_BELOW_UI = ("textual", "typer", "fastapi")


def loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in json.loads(output.splitlines()[-1])} | set(
        json.loads(output.splitlines()[-1])
    )


@pytest.mark.parametrize(
    "module",
    [
        "supportdesk.store.models",
        "supportdesk.store.reads",
        "supportdesk.store.workspace",
        "supportdesk.store.query",
        "supportdesk.store.fts",
        "supportdesk.domain.write",
        "supportdesk.domain.catalog",
        "supportdesk.domain.templates",
        "supportdesk.domain.preview",
        "supportdesk.store.local_state",
        "supportdesk.demo.generator",
        "supportdesk.channels.mail_ingest",
        "supportdesk.channels.smtp_in",
        "supportdesk.channels.smtp_out",
        "supportdesk.channels.webhook_ingest",
        "supportdesk.channels.webhook_out",
        "supportdesk.sync.engine",
        "supportdesk.sync.service",
        "supportdesk.sync.bootstrap",
        "supportdesk.domain.timing",
        "supportdesk.domain.triggers",
        "supportdesk.domain.feedback",
        "supportdesk.domain.metrics",
        "supportdesk.store.sla",
    ],
)
def test_store_and_domain_never_import_ui_or_web_frameworks(module: str) -> None:
    loaded = loaded_after(f"import {module}")
    assert not loaded & set(FORBIDDEN_BELOW_UI), module


def test_the_read_path_does_not_load_the_orm() -> None:
    loaded = loaded_after(
        "import supportdesk.store.reads, supportdesk.store.workspace, supportdesk.cli.output, supportdesk.store.sla, "
        "supportdesk.domain.metrics"
    )
    assert "sqlalchemy" not in loaded
    assert "sqlmodel" not in loaded


def test_help_imports_no_heavy_framework() -> None:
    loaded = loaded_after(
        "import sys\nsys.argv = ['supportdesk', '--help']\n"
        "from supportdesk.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass"
    )
    for heavy in ("textual", "fastapi", "sqlalchemy", "sqlmodel", "alembic", "httpx", "jinja2", "yaml"):
        assert heavy not in loaded, heavy


def test_cli_modules_import_nothing_heavy_up_front() -> None:
    loaded = loaded_after(
        "import supportdesk.cli.main, supportdesk.cli.bulk, supportdesk.cli.transfer, supportdesk.cli.documents"
    )
    for heavy in ("sqlalchemy", "sqlmodel", "pydantic", "yaml", "rich", "jinja2", "textual", "fastapi"):
        assert heavy not in loaded, heavy


@pytest.mark.parametrize(
    "argv",
    [
        ["tickets", "show", "12", "--json"],
        ["tickets", "list", "--query", "tag:refund status<solved", "--plain"],
        ["tickets", "list", "--query", "refund", "--jsonl", "-n", "20"],
    ],
)
def test_the_read_commands_never_load_the_orm_or_pydantic(demo_workspace: object, argv: list[str]) -> None:
    root = str(demo_workspace.root)  # type: ignore[attr-defined]
    loaded = loaded_after(
        "import sys, io\n"
        f"sys.argv = ['supportdesk', '--workspace', {root!r}, *{argv!r}]\n"
        "sys.stdout = io.StringIO()\n"
        "from supportdesk.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "sys.stdout = sys.__stdout__"
    )
    for heavy in ("sqlalchemy", "sqlmodel", "pydantic", "alembic", "rich", "yaml"):
        assert heavy not in loaded, heavy


def test_the_server_imports_neither_the_console_nor_the_cli() -> None:
    loaded = loaded_after(
        "import supportdesk.server.app, supportdesk.server.routes, supportdesk.server.admin, "
        "supportdesk.server.channels, supportdesk.server.routes.feedback, supportdesk.server.routes.sync"
    )
    assert "textual" not in loaded and "typer" not in loaded
    assert "supportdesk.tui" not in loaded and "supportdesk.cli" not in loaded


def test_the_console_start_path_waits_for_no_orm_or_template_engine() -> None:
    """Everything the first queue frame needs is imported by these modules; the write path is not."""
    loaded = loaded_after(
        "import supportdesk.tui.app, supportdesk.tui.screens.queue, supportdesk.tui.widgets.queue_view\n"
        "import supportdesk.tui.screens.ticket, supportdesk.tui.screens.help\n"
        "import supportdesk.tui.screens.dashboard, supportdesk.tui.screens.rules"
    )
    for heavy in ("sqlalchemy", "sqlmodel", "jinja2", "alembic", "pydantic", "fastapi", "typer"):
        assert heavy not in loaded, heavy


def test_only_the_console_imports_textual() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "src" / "supportdesk"
    for path in root.rglob("*.py"):
        if "tui" in path.relative_to(root).parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert "import textual" not in text and "from textual" not in text, path


def test_the_queue_never_uses_the_slow_builtin_tables() -> None:
    """DataTable takes ~20 s for 100k rows and parses cells as markup; the console draws its own."""
    from pathlib import Path

    tui = Path(__file__).resolve().parents[1] / "src" / "supportdesk" / "tui"
    for path in tui.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for banned in ("DataTable", "OptionList"):
            assert banned not in text, f"{path}: {banned}"
