"""``--help`` drawn by typer's rich mode: our plain text as written, readable metavars, and no
more imported than drawing it needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def _help(*args: str, probe: bool = False) -> tuple[str, set[str]]:
    code = (
        "import sys, json, io\n"
        f"sys.argv = ['supportdesk', *{list(args)!r}, '--help']\n"
        "out = io.StringIO(); real = sys.stdout; sys.stdout = out\n"
        "from supportdesk.cli.main import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "sys.stdout = real\n"
        "print(json.dumps([out.getvalue(), sorted(sys.modules)]))"
    )
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, timeout=120
    )
    text, modules = json.loads(done.stdout.splitlines()[-1])
    return text, set(modules)


@pytest.mark.integration
def test_help_is_rich_plain_text_with_readable_metavars() -> None:
    text, modules = _help("serve")
    assert "╭─ Options" in text
    assert "With a [channels] table in the config file" in text  # not eaten as a style tag
    assert "--smtp-port" in text and "PORT" in text and "<str>" not in text and "TEXT" not in text
    for heavy in ("markdown_it", "pygments", "attr", "textual", "sqlalchemy", "pydantic"):
        assert heavy not in modules, heavy
    listing, _ = _help("tickets", "update")
    assert "[TICKET]…" in listing and "FIELD=VALUE" in listing and "<str>" not in listing
    assert "╭─ Output" in listing and "--no-headers" in listing


def test_help_text_is_reflowed_and_escaped_for_rich() -> None:
    from supportdesk.cli.help_text import plain

    source = "Change many tickets;\n    stderr lists the refused.\n\nWith a [channels] table.\nExample: supportdesk x"
    assert plain(source) == (
        "Change many tickets; stderr lists the refused.\n\nWith a \\[channels] table.\nExample: supportdesk x"
    )
    assert plain("{rules: [...]}") == "{rules: [...]}"  # not a tag: left alone


def test_the_deferred_rich_modules_load_when_used() -> None:
    """The stand-ins for rich.markdown and rich.traceback give the real classes on first use."""
    code = (
        "import sys\n"
        "from supportdesk.cli.help_text import _defer_unused_rich_modules\n"
        "_defer_unused_rich_modules()\n"
        "import typer.rich_utils as r\n"
        "assert 'markdown_it' not in sys.modules\n"
        "from rich.markdown import Markdown as Real\n"
        "made = r.Markdown('**x**')\n"
        "import rich.markdown\n"
        "assert type(made).__name__ == 'Markdown' and isinstance(made, rich.markdown.Markdown), type(made)\n"
        "assert r.Traceback.from_exception.__qualname__ == 'Traceback.from_exception'\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def test_a_mistake_on_the_command_line_is_one_line_with_where_to_look() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "supportdesk", "tickets", "list", "--limit", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "0 is not in the range x>=1" in done.stderr
    assert "--help')" in done.stderr and "Traceback" not in done.stderr
