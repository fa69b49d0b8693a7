"""Wire a command body to typer: its session comes in as a parameter, its output flags as one object.

A body is a plain function of what it needs::

    @app.command("list")
    @command(LISTING)
    def list_tickets(session: Session, out: Output, query: QueryOpt = "") -> None: ...

:func:`command` shows typer the body's own options plus the flags asked for (``LISTING``: the
six output flags, ``DOCUMENT``: ``--json``), and at run time passes the root command's
:class:`~supportdesk.cli.session.Session` as ``session`` and the flags as one
:class:`~supportdesk.cli.output.Output` as ``out``. So the six flags are declared once
(:mod:`supportdesk.cli.options`), every listing spells them the same, and a body reads no
module global: a test calls it with a session and an ``Output`` of its own.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import typer

from supportdesk.cli.options import OUTPUT_FLAGS
from supportdesk.cli.session import Session

Body = TypeVar("Body", bound=Callable[..., Any])
_CONTEXT = "_supportdesk_context"
_INJECTED = ("session", "out")


def session_of(context: typer.Context) -> Session:
    """The session the root command made (the process's one when called outside a command line)."""
    found = context.find_root().obj
    if isinstance(found, Session):
        return found
    from supportdesk.cli.state import STATE

    return STATE


class _Wired:
    """A command body as typer sees it: the body's signature with the session and output taken
    out and the flags put in. The signature is worked out when typer first asks for it — only
    for the command being run (``startup.only_invoked``), not for all fifty at every start."""

    def __init__(self, body: Callable[..., Any], flags: list[tuple[str, object, object]]) -> None:
        self.__wrapped__ = body
        self.__name__ = body.__name__
        self.__qualname__ = body.__qualname__
        self.__module__ = body.__module__
        self.__doc__ = body.__doc__
        self._flags = flags
        self._signature: inspect.Signature | None = None
        self._wanted: frozenset[str] = frozenset()

    @property
    def __signature__(self) -> inspect.Signature:
        if self._signature is None:
            signature = inspect.signature(self.__wrapped__, eval_str=True)
            self._wanted = frozenset(signature.parameters)
            if "out" in self._wanted and not self._flags:
                raise TypeError(f"{self.__name__} takes 'out' but asks for no output flags")
            own = [p for name, p in signature.parameters.items() if name not in _INJECTED]
            added = [
                inspect.Parameter(_CONTEXT, inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context),
                *(
                    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=declared)
                    for name, default, declared in self._flags
                ),
            ]
            self._signature = signature.replace(parameters=[*own, *added])
        return self._signature

    @property
    def __annotations__(self) -> dict[str, Any]:  # type: ignore[override]
        signature = self.__signature__
        hints = {p.name: p.annotation for p in signature.parameters.values()}
        return hints | {"return": signature.return_annotation}

    def __call__(self, **values: Any) -> Any:
        self.__signature__  # noqa: B018 (knows which of session and out the body takes)
        context = values.pop(_CONTEXT)
        given = {name: values.pop(name) for name, _, _ in self._flags}
        if "out" in self._wanted:
            from supportdesk.cli.options import Output

            values["out"] = Output.from_flags(**given)
        if "session" in self._wanted:
            values["session"] = session_of(context)
        return self.__wrapped__(**values)


def command(output: Sequence[str] = ()) -> Callable[[Body], Body]:
    """Give a body its session and the output flags named in ``output`` (see the module doc)."""
    unknown = set(output) - set(OUTPUT_FLAGS)
    if unknown:
        raise ValueError(f"unknown output flags {sorted(unknown)}")
    flags = [OUTPUT_FLAGS[name] for name in output]

    def wire(body: Body) -> Body:
        return _Wired(body, flags)  # type: ignore[return-value]

    return wire
