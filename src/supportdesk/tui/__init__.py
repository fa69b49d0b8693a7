"""The Textual console. Only this package imports ``textual``.

The CLI calls :func:`run_console` inside the command that needs it, so ``supportdesk --help``
never pays for Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from supportdesk.config import Settings
    from supportdesk.store.workspace import Workspace


#: Frames a second Textual may draw (its default is 60). A frame is drawn at the screen's next
#: update tick after something changed, so at 60 a page that arrives just after a tick waits up
#: to 17 ms more; at 120, 8 ms. Frames are still only drawn when something changed.
MAX_FPS = "120"


def run_console(workspace: Workspace, settings: Settings) -> None:
    """Open the console on ``workspace`` and return when the agent quits."""
    import os

    # read by textual.constants when Textual is first imported; TEXTUAL_FPS set by the user wins
    os.environ.setdefault("TEXTUAL_FPS", MAX_FPS)
    from supportdesk.tui.app import SupportDeskApp
    from supportdesk.tui.image_support import probe

    probe(settings.section("console"))  # before Textual owns the terminal (see image_support)
    SupportDeskApp(workspace, settings).run()
