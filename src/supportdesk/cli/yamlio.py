"""Reading and writing the YAML files admins keep rules and SLA policies in."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def load(path: str) -> Any:
    """A YAML file (``-`` for stdin) as plain data; a bad file is one readable error."""
    import yaml

    from supportdesk.cli.errors import NOT_FOUND, fail

    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"no file {path}", NOT_FOUND)
    except (OSError, UnicodeDecodeError) as error:
        fail(f"cannot read {path}: {error}")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        fail(f"{path}: {problem}{where}")


def dump(data: Any) -> str:
    """YAML for people: block style, keys in the order given, unicode kept, text made safe."""
    import yaml

    from supportdesk.cli.output import safe

    return str(yaml.safe_dump(safe(data), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100))


def write(text: str, output: str | None) -> None:
    if output in (None, "-"):
        sys.stdout.write(text)
        return
    Path(str(output)).write_text(text, encoding="utf-8")
