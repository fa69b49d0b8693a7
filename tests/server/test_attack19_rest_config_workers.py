"""Attack on REST writes run with the configuration cache open (rest20c; attack19): two server
processes on one PostgreSQL database (``serve --workers 2``), each keeping the rules it read.
A rule switched off and on again — by another process's connection, and by an admin's push
that lands on either worker — counts from the next REST write on both workers: eight creates
over fresh connections after each change (the kernel spreads them over the two processes)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from supportdesk.domain.context import SYSTEM
from supportdesk.protocol import SCHEMA_VERSION
from supportdesk.server.apply import apply_as
from tests.live import Deployment, deploy
from tests.server.test_rest_config_cache import REFUND_RULE, create

pytestmark = [pytest.mark.integration]


def tags_of_creates(running: Deployment, count: int = 8) -> list[list[str]]:
    return [create(running, f"Refund {uuid.uuid4()}")["tags"] for _ in range(count)]


def push_as_ada(running: Deployment, client_id: str, mutation_id: int, name: str, args: dict[str, Any]) -> None:
    with running.api("ada") as ada:
        pushed = ada.post(
            "/v1/push",
            json={
                "client_id": client_id,
                "schema_version": SCHEMA_VERSION,
                "mutations": [{"id": mutation_id, "name": name, "args": args}],
            },
        )
    assert pushed.status_code == 200 and pushed.json()["results"][0]["ok"], pushed.text


def test_a_rule_changed_anywhere_counts_on_both_workers_from_the_next_write(tmp_path: Path) -> None:
    with deploy("postgresql", tmp_path, extra=["--workers", "2"]) as running:
        result, _ = apply_as(running.team.db, SYSTEM, "rule.create", {"definition": REFUND_RULE})
        rule_id = str(result["rule_id"])
        assert tags_of_creates(running) == [["refund"]] * 8
        with running.team.db.engine.begin() as other:  # another process's commit
            other.execute(text("UPDATE trigger_rule SET active = :off"), {"off": False})
        assert tags_of_creates(running) == [[]] * 8
        with running.team.db.engine.begin() as other:
            other.execute(text("UPDATE trigger_rule SET active = :on"), {"on": True})
        assert tags_of_creates(running) == [["refund"]] * 8
        # an admin's push, served by one of the two workers
        off = {"rule_id": rule_id, "definition": {**REFUND_RULE, "active": False}}
        push_as_ada(running, str(uuid.uuid4()), 1, "rule.update", off)
        assert tags_of_creates(running) == [[]] * 8
