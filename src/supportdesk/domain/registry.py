"""The registry of named mutations: the one way shared data changes.

A mutation is a name, a pydantic model of its arguments and a function over a :class:`Tx`.
Argument models forbid unknown fields (so a request cannot smuggle in server-owned fields) and
generate the ids of the rows they will create, so the client and the server create the very
same rows from the same arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from supportdesk.domain.errors import UnknownMutation
from supportdesk.store.enums import Role

ALL_ROLES = frozenset(Role)
FULL_AGENTS = frozenset({Role.ADMIN, Role.AGENT})
ADMINS = frozenset({Role.ADMIN})


class Args(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1_000_000, frozen=False)


A = TypeVar("A", bound=Args)
Mutator = Callable[[Any, Any], dict[str, Any] | None]


@dataclass(frozen=True)
class MutationSpec:
    name: str
    args: type[Args]
    run: Mutator
    roles: frozenset[Role]
    summary: str


_REGISTRY: dict[str, MutationSpec] = {}


def mutation(
    name: str, args: type[A], *, roles: frozenset[Role] = FULL_AGENTS
) -> Callable[[Callable[[Any, A], dict[str, Any] | None]], Callable[[Any, A], dict[str, Any] | None]]:
    """Register ``fn`` as the mutator called ``name``; its docstring's first line is its summary."""

    def register(
        fn: Callable[[Any, A], dict[str, Any] | None],
    ) -> Callable[[Any, A], dict[str, Any] | None]:
        if name in _REGISTRY:
            raise RuntimeError(f"mutation {name} registered twice")
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else name
        _REGISTRY[name] = MutationSpec(name, args, fn, roles, summary)
        return fn

    return register


def _load() -> None:
    import supportdesk.domain.mutations  # noqa: F401  (registers every mutator)


def get(name: str) -> MutationSpec:
    _load()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownMutation(f"unknown mutation {name!r}", field="name") from None


def names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def specs() -> list[MutationSpec]:
    _load()
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]
