"""What screens, widgets and helpers may use of the running console, named once.

:class:`SupportDeskApp <supportdesk.tui.app.SupportDeskApp>` is the one implementation. Screens
import this module, never the app: the app imports its screens (to push them), so a screen that
imported the app back would close a circle. The same goes for the few objects the app owns that
screens talk to (the sync link, the ticket pane, the queue): each appears here as the small
protocol a screen needs, not as its class.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import App
from textual.screen import Screen

if TYPE_CHECKING:
    from supportdesk.config import Settings
    from supportdesk.store.workspace import Workspace
    from supportdesk.tui.db import ConsoleDB
    from supportdesk.tui.handle_time import HandleClock
    from supportdesk.tui.keymap import UserKeys
    from supportdesk.tui.sync_status import SyncStatus
    from supportdesk.tui.writes import Mutation, Writer


class Presence(Protocol):
    """The sync link as a screen sees it: where this agent is and whether they type."""

    def entered(self, ticket_id: str) -> None: ...
    def left(self) -> None: ...
    def typed(self, ticket_id: str) -> None: ...
    def stopped_typing(self) -> None: ...
    def push_soon(self) -> None: ...


class TicketPane(Protocol):
    """The ticket pane as the sync link sees it: a refused reply comes back into its draft."""

    def take_back(self, ticket_id: str, kind: str, body: str) -> None: ...


class TicketList(Protocol):
    """The queue as the ticket pane sees it (``J`` / ``ctrl+k``): move and say which ticket."""

    def step(self, step: int) -> str | None:
        """Move the queue's cursor by ``step`` rows; the ticket there, or None while it loads."""
        ...


class Console(App[None]):
    """The console application: its store, its agent, its write path, its keys."""

    db: ConsoleDB
    workspace: Workspace
    settings: Settings
    me: str | None
    me_name: str
    user_keys: UserKeys
    writer: Writer
    handle_time: HandleClock
    sync_link: Presence
    presence: dict[str, list[str]]
    sync_status: SyncStatus
    kb_url: str

    def now(self) -> datetime:
        raise NotImplementedError

    def write(
        self,
        mutations: list[Mutation],
        *,
        done: Callable[[list[Any]], None] | None = None,
        failed: Callable[[str, list[Any]], None] | None = None,
        sequential: bool = False,
        quiet: bool = False,
        source: str | None = None,
    ) -> None:
        """Run mutations in a worker; refusals become notifications, ``done`` gets the outcomes."""
        raise NotImplementedError

    def record_handle_time(self) -> None:
        raise NotImplementedError

    def ticket_screen(self, ticket_id: str, *, mode: str | None = None, queue: TicketList | None = None) -> Screen[Any]:
        """The ticket pane pointed at ``ticket_id`` (opening with ``mode``: reply, note, macros, kb)."""
        raise NotImplementedError

    def ticket_screen_if_open(self) -> TicketPane | None:
        raise NotImplementedError
