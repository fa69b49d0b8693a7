"""Macro templates: Jinja2 in a sandbox, every placeholder checked before anything is sent.

Templates see two plain dicts, ``ticket`` and ``agent`` (see :func:`ticket_context`). Each
placeholder is resolved against them up front, so a misspelt one is an error that names it
(``unknown placeholder {{ ticket.requester.frist_name }}``) instead of a blank in a customer's
inbox. Values missing for one ticket (no organization, say) render as empty text.

Rendering runs in :mod:`supportdesk.domain.sandbox`, with limits on steps, characters written,
value sizes and time; whatever goes wrong in a template — a limit, a sandbox refusal, a division
by zero, a macro calling itself — is one :class:`TemplateError` line, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from supportdesk.domain import sandbox
from supportdesk.domain.errors import TemplateError
from supportdesk.domain.text_safety import sanitize_text


def _placeholders(node: Any) -> Iterator[tuple[str, ...]]:
    """Every dotted name (``ticket.requester.name``) read by a template, outermost first."""
    from jinja2 import nodes

    if isinstance(node, nodes.Getattr):
        path = _dotted(node)
        if path is not None:
            yield path
            return
    if isinstance(node, nodes.Name) and node.ctx == "load":
        yield (node.name,)
        return
    for child in node.iter_child_nodes():
        yield from _placeholders(child)


def _dotted(node: Any) -> tuple[str, ...] | None:
    from jinja2 import nodes

    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name):
        parts.append(node.name)
        return tuple(reversed(parts))
    return None


def _resolves(context: Mapping[str, Any], path: tuple[str, ...], local_names: frozenset[str]) -> bool:
    if path[0] in local_names:
        return True
    value: Any = context
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def _local_names(tree: Any) -> set[str]:
    from jinja2 import nodes

    names: set[str] = {"loop"}
    for node in tree.find_all((nodes.Name,)):
        if node.ctx in ("store", "param"):
            names.add(node.name)
    return names


@lru_cache(maxsize=256)
def _read(template: str) -> tuple[tuple[tuple[str, ...], ...], frozenset[str]] | str:
    """The placeholders a template reads and the names it sets itself, or its syntax error."""
    from jinja2 import TemplateSyntaxError

    try:
        tree = sandbox.environment().parse(template)
    except TemplateSyntaxError as error:
        return f"template error on line {error.lineno}: {error.message}"
    return tuple(_placeholders(tree)), frozenset(_local_names(tree))


def check(template: str, context: Mapping[str, Any]) -> None:
    """Raise :class:`TemplateError` for a syntax error or a placeholder the context lacks."""
    found = _read(template)
    if isinstance(found, str):
        raise TemplateError(found, field="body")
    paths, local = found
    for path in paths:
        if not _resolves(context, path, local):
            raise TemplateError(f"unknown placeholder {{{{ {'.'.join(path)} }}}}", field="body")


def render(template: str, context: Mapping[str, Any]) -> str:
    """Render ``template`` safely; the result is sanitized like any text that enters the store."""
    from jinja2 import TemplateError as JinjaError
    from jinja2.exceptions import SecurityError

    check(template, context)
    try:
        text = sandbox.run(template, dict(context))
    except TemplateError:
        raise
    except SecurityError as error:
        raise TemplateError(f"template refused by the sandbox: {error}", field="body") from None
    except JinjaError as error:
        raise TemplateError(f"template error: {error}", field="body") from None
    except RecursionError:
        raise TemplateError("the macro calls itself too deeply", field="body") from None
    except MemoryError:
        raise TemplateError("the macro needs more memory than a macro may use", field="body") from None
    except Exception as error:  # a template's own mistake (1 / 0, int("x") …): still the user's
        raise TemplateError(f"template error: {type(error).__name__}: {error}", field="body") from None
    return sanitize_text(text)


def _person(name: str | None, email: str | None = None, **extra: str) -> dict[str, str]:
    name = (name or "").strip()
    parts = name.split()
    return {
        "name": name,
        "first_name": parts[0] if parts else "",
        "last_name": parts[-1] if len(parts) > 1 else "",
        "email": email or "",
        **extra,
    }


def ticket_context(
    ticket: Mapping[str, Any],
    *,
    requester: Mapping[str, Any] | None,
    requester_email: str | None,
    requester_phone: str | None,
    organization: str | None,
    group: str | None,
    assignee: Mapping[str, Any] | None,
    tags: list[str],
    agent: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The variables a macro can use, as plain strings so templates never see ORM objects."""
    number = ticket.get("number")
    return {
        "ticket": {
            "id": str(ticket.get("id", "")),
            "number": str(number) if number is not None else "",
            "subject": ticket.get("subject") or "",
            "status": str(ticket.get("status") or ""),
            "priority": str(ticket.get("priority") or ""),
            "type": str(ticket.get("type") or ""),
            "channel": str(ticket.get("channel") or ""),
            "tags": list(tags),
            "group": {"name": group or ""},
            "assignee": _person(assignee.get("name") if assignee else "", assignee.get("email") if assignee else ""),
            "requester": _person(
                requester.get("name") if requester else "",
                requester_email,
                phone=requester_phone or "",
            ),
            "organization": {"name": organization or ""},
        },
        "agent": _person(agent.get("name") if agent else "", agent.get("email") if agent else ""),
    }
