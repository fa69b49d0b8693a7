"""Every write the console makes: named mutations run in a thread worker.

``domain.write`` (and with it SQLAlchemy and pydantic) is imported inside the worker, so the
first queue frame never waits for it; :func:`warm_up` loads it in the background right after.
Results come back to the UI thread as a :class:`WriteFinished` message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from supportdesk.domain.context import Actor
    from supportdesk.domain.write import Outcome
    from supportdesk.store.workspace import Workspace

Mutation = tuple[str, dict[str, Any]]


@dataclass
class WriteRequest:
    """A batch of mutations. ``sequential`` stops at the first refusal (a reply before the
    macro it carries); otherwise the batch runs with ``apply_many`` (one refusal each)."""

    mutations: list[Mutation]
    sequential: bool = False
    done: Callable[[list[Outcome]], None] | None = None
    failed: Callable[[str, list[Outcome]], None] | None = None
    quiet: bool = False
    #: The audit's source (``console-bulk`` for ``;``); the process's (``console``) otherwise.
    source: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    error: str | None = None


class WriteFinished(Message):
    def __init__(self, request: WriteRequest) -> None:
        super().__init__()
        self.request = request


class Writer:
    """Runs write requests one at a time (the store serialises writers anyway)."""

    def __init__(self, workspace: Workspace, me: str | None) -> None:
        self.workspace = workspace
        self.me = me
        self._actor: Actor | None = None
        self._lock = threading.Lock()

    def actor(self) -> Actor:
        if self._actor is None:
            from contextlib import closing

            from supportdesk.domain.context import SYSTEM
            from supportdesk.domain.write import load_actor

            if self.me is None:
                self._actor = SYSTEM
            else:
                with closing(self.workspace.connect(readonly=True)) as reader:
                    self._actor = load_actor(reader, self.me)
        return self._actor

    def warm_up(self) -> None:
        """Import the write path and open its engine before the first key needs them."""
        import supportdesk.domain.catalog
        import supportdesk.domain.preview
        import supportdesk.domain.write

        supportdesk.domain.catalog.load_all()  # the catalog loads a mutator module on first use
        self.actor()
        self.workspace.engine.connect().close()

    def run(self, request: WriteRequest) -> WriteRequest:
        from supportdesk.domain.errors import DomainError
        from supportdesk.domain.write import apply, apply_many

        with self._lock:
            try:
                actor = self.actor()
                source = request.source or "console"
                if request.sequential:
                    for name, args in request.mutations:
                        request.outcomes.append(apply(self.workspace, name, args, actor=actor, source=source))
                else:
                    request.outcomes = apply_many(self.workspace, request.mutations, actor=actor, source=source)
            except DomainError as error:
                request.error = error.message
            except Exception as error:  # a locked or broken file: one line, never a traceback
                request.error = f"could not write to the workspace: {error}"
        return request


def refusals(outcomes: list[Outcome]) -> list[str]:
    return [outcome.error.message for outcome in outcomes if outcome.error is not None]
