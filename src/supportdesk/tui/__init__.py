"""The Textual console. Only this package imports ``textual``.

The CLI calls :func:`run_console` inside the command that needs it, so ``supportdesk --help``
never pays for Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportdesk.config import Settings
    from supportdesk.store.workspace import Workspace


def run_console(workspace: Workspace, settings: Settings) -> None:
    """Open the console on ``workspace`` and return when the agent quits."""
    from supportdesk.tui.app import SupportDeskApp

    SupportDeskApp(workspace, settings).run()
