"""The server's notices for admins (``GET /v1/me``: a webhook endpoint disabled after a day of
failures) reach the admin's workspace with each sync and ``supportdesk status``; agents get none,
enabling the endpoint ends the notice, and a hostile server's text arrives as one safe line."""

from __future__ import annotations

import json
from typing import Any

from supportdesk.server.webhook_sender import disabled_message
from supportdesk.server.webhooks import add_endpoint, enable_endpoint
from supportdesk.store.times import utcnow
from supportdesk.sync.notices import cleaned, remembered
from tests.cli.helpers import supportdesk
from tests.live import Deployment


def _disable(deployment: Deployment, url: str) -> str:
    """An endpoint the sender gave up on, as it leaves one (``webhook_sender._record``)."""
    from sqlalchemy import text

    database = deployment.team.db
    with database.engine.connect() as connection, connection.begin():
        endpoint_id, _secret = add_endpoint(connection, "https://hooks.example.com/desk", ["ticket.created"])
        connection.execute(
            text(
                "UPDATE webhook_endpoint SET url = :url, active = :f, disabled_at = :now, disabled_reason = :why "
                "WHERE id = :id"
            ),
            {"url": url, "f": False, "now": utcnow(), "why": "its deliveries failed for 24 hours", "id": endpoint_id},
        )
    return str(endpoint_id)


def _status(root: Any) -> dict[str, Any]:
    done = supportdesk("status", "--json", workspace=root)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_an_admin_sees_a_disabled_endpoint_after_sync_until_it_is_enabled(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    endpoint_id = _disable(deployment, "https://hooks.example.com/desk")
    with deployment.replicas("ada", "sam") as (ada, sam):
        (notice,) = remembered(ada.workspace)
        assert notice.kind == "webhook_disabled"
        assert notice.message == disabled_message(endpoint_id, "https://hooks.example.com/desk")
        assert remembered(sam.workspace) == []  # an agent is not asked to act

        document = _status(ada.workspace.root)
        (kept,) = document["notices"]
        assert kept["endpoint_id"] == endpoint_id and kept["kind"] == "webhook_disabled"
        assert f"webhook enable {endpoint_id}" in kept["message"]
        assert _status(sam.workspace.root)["notices"] == []
        shown = supportdesk("status", workspace=ada.workspace.root)
        assert shown.returncode == 0
        (line,) = [line for line in shown.stdout.splitlines() if line.startswith("notice")]
        assert f"webhook endpoint {endpoint_id}" in line and "was disabled" in line

        with deployment.team.db.engine.connect() as connection, connection.begin():
            enable_endpoint(connection, endpoint_id)
        ada.sync()
        assert remembered(ada.workspace) == []
        assert _status(ada.workspace.root)["notices"] == []
        assert "notice" not in supportdesk("status", workspace=ada.workspace.root).stdout


def test_a_notice_with_escape_sequences_arrives_as_one_safe_line(sqlite_deployment: Deployment) -> None:
    deployment = sqlite_deployment
    _disable(deployment, "https://evil.example.com/\x1b[2J\x1b]0;owned\x07\nsecond line")
    ada = deployment.replica("ada")
    try:
        (notice,) = remembered(ada.workspace)
        assert "\x1b" not in notice.message and "\x07" not in notice.message and "\n" not in notice.message
        shown = supportdesk("status", workspace=ada.workspace.root)
        assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
        assert len([line for line in shown.stdout.splitlines() if line.startswith("notice")]) == 1
    finally:
        ada.close()


def test_malformed_notices_are_ignored() -> None:
    assert cleaned({}) == []
    assert cleaned({"notices": "disable everything"}) == []
    assert cleaned({"notices": [1, None, {"kind": "x"}, {"message": ["a"]}]}) == []
    (kept,) = cleaned({"notices": [{"message": "m" * 5000, "kind": {"nested": 1}, "extra": "dropped"}] * 1})
    assert kept == {"kind": "notice", "message": "m" * 499 + "…"}
    assert len(cleaned({"notices": [{"message": "m"}] * 500})) == 20
