"""Every named mutation, loaded: the lookup the write path, the server and a replay use.

The registry (:mod:`supportdesk.domain.registry`) is a leaf that each mutator module imports
to register itself. This module sits above them all: importing it imports every mutator module
(one per noun, listed below), so a name looked up here is found whichever module
defines it, and an unknown one is an :class:`UnknownMutation`.
"""

from __future__ import annotations

from supportdesk.domain.errors import UnknownMutation
from supportdesk.domain.mutations import (  # noqa: F401  (importing a module registers its mutators)
    articles,
    automations,
    customers,
    handle_time,
    imports,
    macros,
    organizations,
    privacy,
    routing_rules,
    sla,
    snooze,
    surveys,
    team,
    tickets,
    time_entries,
    triage,
    views,
)
from supportdesk.domain.registry import MutationSpec, registered


def get(name: str) -> MutationSpec:
    try:
        return registered()[name]
    except KeyError:
        raise UnknownMutation(f"unknown mutation {name!r}", field="name") from None


def names() -> list[str]:
    return sorted(registered())


def specs() -> list[MutationSpec]:
    found = registered()
    return [found[name] for name in sorted(found)]
