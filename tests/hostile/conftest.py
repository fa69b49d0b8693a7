"""Fixtures of the hostile-input list: one live server per module (the cases share it and each
uses its own client ids and tickets, so they stay independent and fast), and the CLI fixtures of
``tests/cli`` (the real entry point in-process, on a copy of the demo workspace)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.conftest import cli, ws
from tests.live import Deployment, deploy

__all__ = ["cli", "live", "ws"]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """A real ``supportdesk serve`` on SQLite with the two-group team of ``tests/live.py``."""
    with deploy("sqlite", tmp_path_factory.mktemp("hostile-server")) as running:
        yield running
