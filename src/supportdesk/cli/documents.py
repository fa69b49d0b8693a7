"""Files people keep in git and edit by hand: YAML (macros) and Markdown with front matter (KB).

Everything written passes :func:`supportdesk.cli.output.safe` first (no escape byte reaches a
file either), multi-line text is written as a YAML block so a template reads like the reply it
makes, and reading back gives exactly the text that was written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

FRONT = "---\n"


def _yaml() -> Any:
    import yaml  # type: ignore[import-untyped]

    return yaml


def dump_yaml(document: dict[str, Any]) -> str:
    """One YAML document, keys in the given order, multi-line strings as ``|`` blocks."""
    from supportdesk.cli.output import safe

    yaml = _yaml()

    class Dumper(yaml.SafeDumper):  # type: ignore[misc, name-defined]
        pass

    def text(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return str(yaml.dump(safe(document), Dumper=Dumper, allow_unicode=True, sort_keys=False, width=100))


def load_yaml_documents(text: str, source: str) -> list[dict[str, Any]]:
    """Every document of a YAML stream; anything but mappings is a usage error naming ``source``."""
    from supportdesk.cli.errors import fail

    yaml = _yaml()
    try:
        from supportdesk.cli.yaml_loader import loader

        # no anchors or aliases: an alias bomb expands to billions of values (cli/yamlio.py)
        documents = [d for d in yaml.load_all(text, Loader=loader()) if d is not None]
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        fail(f"{source}:{where} is not valid YAML: {getattr(error, 'problem', None) or error}")
    for document in documents:
        if not isinstance(document, dict):
            fail(f"{source}: each document must be a mapping of fields")
    return documents


def join_front_matter(fields: dict[str, Any], body: str) -> str:
    """Markdown with a YAML front-matter block; the body is kept byte for byte."""
    from supportdesk.cli.output import safe

    return FRONT + dump_yaml(fields) + FRONT + str(safe(body))


def split_front_matter(text: str, source: str) -> tuple[dict[str, Any], str]:
    """``(fields, body)`` of a Markdown file; a file without front matter is all body."""
    from supportdesk.cli.errors import fail

    if not text.startswith(FRONT):
        return {}, text
    end = text.find("\n" + FRONT, len(FRONT) - 1)
    if end < 0:
        fail(f"{source}: the front matter has no closing '---' line")
    documents = load_yaml_documents(text[len(FRONT) : end + 1], source)
    return (documents[0] if documents else {}), text[end + 1 + len(FRONT) :]


def files_under(paths: list[str], suffixes: tuple[str, ...]) -> Iterator[Path]:
    """The files named, and the files with one of ``suffixes`` in the folders named, sorted."""
    from supportdesk.cli.errors import NOT_FOUND, fail

    for name in paths:
        path = Path(name).expanduser()
        if path.is_dir():
            yield from sorted(p for p in path.iterdir() if p.suffix.lower() in suffixes and p.is_file())
        elif path.is_file():
            yield path
        else:
            fail(f"no file or folder {name}", NOT_FOUND)


def file_name(text: str) -> str:
    """A safe file name made from a title or slug."""
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:100] or "untitled"
