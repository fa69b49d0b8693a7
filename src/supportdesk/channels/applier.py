"""How a channel writes: through an *applier*, never on its own.

An applier runs one named mutation through the one write path and returns its result: in tests
``lambda name, args: write.apply(workspace, name, args, actor=SYSTEM).result``, on the team
server its own server-side apply (with the change log). Lookups and the channels' own
bookkeeping tables go through the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from supportdesk.channels.settings import ChannelSettings
from supportdesk.store.times import utcnow

Applier = Callable[[str, dict[str, Any]], dict[str, Any]]


class ChannelIngest:
    """What every inbound channel holds: the database, the write path, the settings, a clock."""

    def __init__(
        self,
        engine: Engine,
        applier: Applier,
        settings: ChannelSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.applier = applier
        self.settings = settings
        self.clock = clock
