"""A real team server with an ``[attachments]`` table of small limits, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import Deployment, Replica, deploy

MIB = 1024 * 1024
#: Small limits, so the tests cross them with little data.
LIMITS = {"max_file_mb": 1, "max_message_mb": 2, "max_per_ticket": 4}


@dataclass
class Running:
    deployment: Deployment
    blobs: Path

    def replica(self, who: str, name: str | None = None) -> Replica:
        return self.deployment.replica(who, name)


def write_attachments_config(folder: Path) -> None:
    import json
    import os

    config = Path(os.environ["SUPPORTDESK_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[attachments]", f"dir = {json.dumps(str(folder))}", *(f"{k} = {v}" for k, v in LIMITS.items())]
    config.write_text("\n".join(lines) + "\n")


def running_server(backend: str, tmp_path: Path) -> Iterator[Running]:
    folder = tmp_path / "blobs"
    write_attachments_config(folder)
    with deploy(backend, tmp_path) as deployment:
        yield Running(deployment, folder)


@pytest.fixture(params=["sqlite", "postgresql"])
def blob_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    yield from running_server(request.param, tmp_path)


@pytest.fixture
def sqlite_blob_server(tmp_path: Path) -> Iterator[Running]:
    yield from running_server("sqlite", tmp_path)


from tests.cli.conftest import cli, ws  # noqa: E402  (the CLI run in-process on a demo copy)

__all__ = ["cli", "ws"]
