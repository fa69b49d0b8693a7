"""The registry of named mutations: the one way shared data changes.

A mutation is a name, a pydantic model of its arguments and a function over a :class:`Tx`.
Argument models forbid unknown fields (so a request cannot smuggle in server-owned fields) and
generate the ids of the rows they will create, so the client and the server create the very
same rows from the same arguments.

This module is a leaf: mutator modules import it to register themselves, and it imports none
of them (nor anything of the domain but its errors). Looking a mutation up by name is
:mod:`supportdesk.domain.catalog`'s job, which loads every mutator first.

A mutation may also name a ``prepare`` step: work done on a *read* snapshot before the write
transaction begins, whose result travels in the arguments (``macro.apply`` renders its comment
there, so no template ever runs while the write lock is held).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from supportdesk.domain.errors import ValidationFailed
from supportdesk.store.enums import Role

ALL_ROLES = frozenset(Role)
FULL_AGENTS = frozenset({Role.ADMIN, Role.AGENT})
ADMINS = frozenset({Role.ADMIN})


class Args(BaseModel):
    # defer_build: a model's validator is built when it first validates, not when its module is
    # imported — a mutator module declares a dozen models and a CLI process runs one (issue 19).
    model_config = ConfigDict(extra="forbid", str_max_length=1_000_000, frozen=False, defer_build=True)


A = TypeVar("A", bound=Args)
Mutator = Callable[[Any, Any], dict[str, Any] | None]
#: Runs on a read-only transaction before the write one; fills in the arguments (see above).
Preparer = Callable[[Any, Any], None]


@dataclass(frozen=True)
class MutationSpec:
    name: str
    args: type[Args]
    run: Mutator
    roles: frozenset[Role]
    summary: str
    prepare: Preparer | None = None


_REGISTRY: dict[str, MutationSpec] = {}


def mutation(
    name: str,
    args: type[A],
    *,
    roles: frozenset[Role] = FULL_AGENTS,
    prepare: Callable[[Any, A], None] | None = None,
) -> Callable[[Callable[[Any, A], dict[str, Any] | None]], Callable[[Any, A], dict[str, Any] | None]]:
    """Register ``fn`` as the mutator called ``name``; its docstring's first line is its summary."""

    def register(
        fn: Callable[[Any, A], dict[str, Any] | None],
    ) -> Callable[[Any, A], dict[str, Any] | None]:
        if name in _REGISTRY:
            raise RuntimeError(f"mutation {name} registered twice")
        summary = (fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else name
        _REGISTRY[name] = MutationSpec(name, args, fn, roles, summary, prepare)
        return fn

    return register


def registered() -> dict[str, MutationSpec]:
    """The mutations registered so far (the catalog makes sure that is all of them)."""
    return _REGISTRY


def validate_args(spec: MutationSpec, args: dict[str, Any] | BaseModel) -> Args:
    """Parse arguments into the mutation's model; a bad field is a :class:`ValidationFailed`."""
    if isinstance(args, spec.args):
        return args
    raw = args.model_dump() if isinstance(args, BaseModel) else args
    try:
        return spec.args.model_validate(raw)
    except PydanticValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "args"
        if first["type"] == "extra_forbidden":
            message = f"{where} is not an argument of {spec.name}"
        elif first["type"] == "missing":
            message = f"{spec.name} needs {where}"
        else:
            message = f"{spec.name}: {where}: {first['msg']}"
        raise ValidationFailed(message, field=where) from None
