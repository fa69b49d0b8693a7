"""What one run of ``supportdesk`` shares: the settings and the workspace, opened when first asked.

The root command makes the session from the global options and hands it to every command body
as a parameter (see :mod:`supportdesk.cli.wiring`), the way gh hands each command its factory:
a body never reaches for a module global, and a test can call it with a session of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportdesk.config import Settings
    from supportdesk.domain.context import Actor
    from supportdesk.store.viewer import Viewer
    from supportdesk.store.workspace import Workspace


@dataclass
class Session:
    workspace_flag: str | None = None
    profile_flag: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _workspace: Workspace | None = field(default=None, repr=False)

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
        """Whose tickets the read commands show: the workspace's agent, read anew each time (a
        ``batch`` line may have changed the agent's groups)."""
        from supportdesk.store.viewer import workspace_viewer

        with self.workspace().reading() as connection:
            return workspace_viewer(connection)

    def actor(self) -> Actor:
        from supportdesk.domain.write import workspace_actor

        return workspace_actor(self.workspace())

    def close(self) -> None:
        """Close the workspace if this session opened it (the next use opens it again)."""
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None
