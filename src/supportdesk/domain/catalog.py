"""Every named mutation, found by name: the lookup the write path, the server and a replay use.

The registry (:mod:`supportdesk.domain.registry`) is a leaf that each mutator module imports
to register itself. This module finds the module that defines a name and imports **only that
one**: a ``tickets create`` process used to import every mutator module (and every argument
model in them) to run one, more than half of its start-up (issue 19).

Where a name lives is read from the mutator modules' source, not from a list kept by hand: each
``@mutation("ticket.create", …)`` line (or ``@mutation(CONSTANT, …)`` with ``CONSTANT = "…"``
in the same module) maps the name to its module. Every module of the ``domain.mutations``
package counts, so a new noun's module is found by being there. Should a name still be missing
from that index (a name built some other way), :func:`get` imports every mutator module before
saying it is unknown, so the index can only cost time, never a mutation.
:func:`names` and :func:`specs` (help, docs, the server's catalogue) load them all.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from importlib import resources

from supportdesk.domain.errors import UnknownMutation
from supportdesk.domain.registry import MutationSpec, registered

PACKAGE = "supportdesk.domain.mutations"

_DECORATOR = re.compile(r"^@mutation\(\s*(?:\"([^\"]+)\"|([A-Za-z_][A-Za-z0-9_]*))", re.MULTILINE)
_CONSTANT = r"^{}\s*(?::\s*[A-Za-z_\[\], ]+)?=\s*\"([^\"]+)\""


@cache
def modules() -> tuple[str, ...]:
    """The mutator modules' names (``tickets``, ``customers`` …): every module of the package."""
    found = []
    for entry in resources.files(PACKAGE).iterdir():
        name = entry.name
        if name.endswith(".py") and not name.startswith("_"):
            found.append(name.removesuffix(".py"))
    return tuple(sorted(found))


@cache
def index() -> dict[str, str]:
    """Mutation name → the module that registers it, read from the modules' source."""
    where: dict[str, str] = {}
    package = resources.files(PACKAGE)
    for module in modules():
        source = package.joinpath(f"{module}.py").read_text(encoding="utf-8")
        for literal, constant in _DECORATOR.findall(source):
            name = literal
            if constant:
                assigned = re.search(_CONSTANT.format(re.escape(constant)), source, re.MULTILINE)
                if assigned is None:
                    continue  # found by get()'s full load
                name = assigned.group(1)
            where.setdefault(name, module)
    return where


def load(module: str) -> None:
    """Import one mutator module (registering its mutations)."""
    importlib.import_module(f"{PACKAGE}.{module}")


def load_all() -> dict[str, MutationSpec]:
    """Import every mutator module: what help, docs and the server's catalogue list."""
    for module in modules():
        load(module)
    return registered()


def get(name: str) -> MutationSpec:
    """The mutation called ``name``, importing only the module that defines it."""
    found = registered()
    spec = found.get(name)
    if spec is None:
        module = index().get(name)
        if module is not None:
            load(module)
            spec = found.get(name)
    if spec is None:
        spec = load_all().get(name)
    if spec is None:
        raise UnknownMutation(f"unknown mutation {name!r}", field="name")
    return spec


def names() -> list[str]:
    return sorted(load_all())


def specs() -> list[MutationSpec]:
    found = load_all()
    return [found[name] for name in sorted(found)]
