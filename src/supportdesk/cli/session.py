"""What one run of ``supportdesk`` shares: the settings and the workspace, opened when first asked.

The root command makes the session from the global options and hands it to every command body
as a parameter (see :mod:`supportdesk.cli.wiring`), the way gh hands each command its factory:
a body never reaches for a module global, and a test can call it with a session of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import sqlite3

    from supportdesk.config import Settings
    from supportdesk.domain.context import Actor
    from supportdesk.store.viewer import Viewer
    from supportdesk.store.workspace import Workspace

T = TypeVar("T")


@dataclass
class Session:
    workspace_flag: str | None = None
    profile_flag: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _workspace: Workspace | None = field(default=None, repr=False)
    #: Who "me" is, read at ``config_version`` (see :meth:`_kept`).
    _known: tuple[int, dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from supportdesk.config import load_settings

            self._settings = load_settings(self.workspace_flag, self.profile_flag)
        return self._settings

    def workspace(self, *, create: bool = False) -> Workspace:
        """The selected workspace; without ``create`` a missing one is an error with a hint."""
        if self._workspace is None:
            from supportdesk.cli.errors import NOT_FOUND, fail
            from supportdesk.store.workspace import DB_NAME, Workspace

            root = self.settings.workspace
            if not create and not (root / DB_NAME).exists():
                fail(
                    f"no workspace at {root}: run 'supportdesk demo' to make a demo one, or pass --workspace",
                    NOT_FOUND,
                )
            self._workspace = Workspace.open(root, create=True)
        return self._workspace

    def me(self) -> str | None:
        """The id of the agent this workspace acts as."""
        me = self.workspace().setting("me")
        return str(me) if me else None

    def viewer(self) -> Viewer:
        """Whose tickets the read commands show: the workspace's agent, read again whenever the
        database's ``config_version`` moved (a ``batch`` line may have changed the agent's groups)."""
        from supportdesk.store.viewer import workspace_viewer

        return self._kept("viewer", workspace_viewer)

    def actor(self) -> Actor:
        """Who the writes are made as (the workspace's agent), kept as :meth:`viewer` is."""
        from supportdesk.domain.write import reader_actor

        return self._kept("actor", reader_actor)

    def _kept(self, name: str, load: Callable[[sqlite3.Connection], T]) -> T:
        """``load`` on a reader, or what it returned before while ``config_version`` is unchanged.

        The agent, its groups and the "me" setting are among the tables whose triggers bump
        ``config_version`` (:mod:`supportdesk.store.config_version`), so one read of that number
        replaces three queries per command of a ``batch`` — and a change made by a line of the
        batch, another process or a pull is seen by the next command.
        """
        from supportdesk.store.config_version import read_version

        with self.workspace().reading() as connection:
            version = read_version(connection)  # first: what is loaded after is at least this new
            if self._known is None or self._known[0] != version:
                self._known = (version, {})
            entries = self._known[1]
            if name not in entries:
                entries[name] = load(connection)
            return entries[name]  # type: ignore[no-any-return]

    def close(self) -> None:
        """Close the workspace if this session opened it (the next use opens it again)."""
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None
        self._known = None
