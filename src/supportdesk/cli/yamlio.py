"""The YAML files admins keep rules and SLA policies in (``rules`` and ``sla`` import/export).

Writing goes through :func:`supportdesk.cli.documents.dump_yaml` (safe text, templates as
blocks), reading through :func:`supportdesk.cli.options.read_text`; a file here is one document
that may also be a plain list (of rules).

Anchors and aliases (``&a`` / ``*a``) are refused with one line naming where: an alias may
repeat a list inside itself level after level (the "billion laughs"), a few hundred bytes that
expand to billions of values once a rule, a policy or a macro is checked, exported or sent —
and no rule, SLA policy or macro needs one. :func:`supportdesk.cli.yaml_loader.loader` is the
loader every admin document goes through (``rules``/``sla`` here, ``macros``/``kb`` through
``cli/documents.py``).
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
    from supportdesk.cli.yaml_loader import loader

    text = read_text(path)
    try:
        return yaml.load(text, Loader=loader())
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
