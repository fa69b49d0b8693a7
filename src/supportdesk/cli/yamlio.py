"""The YAML files admins keep rules and SLA policies in (``rules`` and ``sla`` import/export).

Writing goes through :func:`supportdesk.cli.documents.dump_yaml` (safe text, templates as
blocks), reading through :func:`supportdesk.cli.options.read_text`; a file here is one document
that may also be a plain list (of rules).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def load(path: str) -> Any:
    """A YAML file (``-`` for stdin) as plain data; a bad file is one readable error."""
    import yaml  # type: ignore[import-untyped]

    from supportdesk.cli.errors import fail
    from supportdesk.cli.options import read_text

    text = read_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        fail(f"{path}: {problem}{where}")


def dump(document: dict[str, Any]) -> str:
    from supportdesk.cli.documents import dump_yaml

    return dump_yaml(document)


def write(text: str, output: str | None) -> None:
    if output in (None, "-"):
        sys.stdout.write(text)
        return
    Path(str(output)).write_text(text, encoding="utf-8")
