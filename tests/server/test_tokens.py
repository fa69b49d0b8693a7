"""API tokens: revoked by their exact id only, expiring when told to, and a client address that
keeps sending bad tokens is slowed down without touching anyone else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from supportdesk.server import admin
from supportdesk.store.times import utcnow
from tests.cli.helpers import supportdesk
from tests.live import Deployment, LiveServer, deploy, make_team


def works(deployment: Deployment, token: str) -> bool:
    with httpx.Client(base_url=deployment.server.url, headers={"Authorization": f"Bearer {token}"}) as client:
        return client.get("/v1/me").status_code == 200


def test_revoke_matches_one_whole_token_id_never_a_pattern(deployment: Deployment) -> None:
    team = deployment.team
    db = deployment.server.db
    tokens = admin.list_tokens(team.db)
    ids = [str(t["id"]) for t in tokens]
    for pattern in ("%", "_%", "%%", ids[0][:8], ids[0][:-1], ids[0] + "%", "*"):
        result = supportdesk("server", "token", "revoke", pattern, "--db", db)
        assert result.returncode == 3, (pattern, result.stdout, result.stderr)
        assert "no live token matched" in result.stderr
    assert all(works(deployment, token) for token in team.tokens.values()), "a pattern revoked a token"
    with deployment.api("ada") as ada:
        answer = ada.post("/v1/admin/tokens/revoke", params={"token_id": "%"})
        assert answer.status_code == 200 and answer.json() == {"revoked": 0}
    assert all(works(deployment, token) for token in team.tokens.values())

    sams = next(t for t in tokens if t["agent"] == "sam@acme.test")
    result = supportdesk("server", "token", "revoke", str(sams["id"]), "--db", db)
    assert result.returncode == 0 and "Revoked 1 token" in result.stdout
    assert not works(deployment, team.tokens["sam"])
    assert works(deployment, team.tokens["tom"])


def test_tokens_expire_when_told_and_say_so(deployment: Deployment, clock: Any) -> None:
    team, db = deployment.team, deployment.server.db
    created = supportdesk(
        "server", "token", "create", "tom@acme.test", "--name", "tablet", "--expires", "90d", "--db", db
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert "expires at" in created.stderr
    assert works(deployment, token)
    listed = supportdesk("server", "token", "list", "--db", db)
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t")[:7] == ["id", "agent", "name", "created_at", "last_used_at", "expires_at", "revoked_at"]
    tablet = next(row.split("\t") for row in rows if "\ttablet\t" in row)
    expires = tablet[5]
    assert expires.startswith((utcnow() + timedelta(days=90)).strftime("%Y-%m-%d")), tablet

    # a token made two hours ago to last one hour is refused now, saying when it expired
    clock.freeze(utcnow() - timedelta(hours=2))
    _, old = admin.new_token(team.db, "tom@acme.test", "old", expires_at=utcnow() + timedelta(hours=1))
    with httpx.Client(base_url=deployment.server.url, headers={"Authorization": f"Bearer {old}"}) as client:
        refused = client.get("/v1/pull")
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == "token_expired"
    assert error["message"].startswith("the token expired at ") and "UTC" in error["message"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2020-01-01", "is not in the future"),
        ("0d", "longer than zero"),
        ("soon", "give a lifetime such as 90d"),
        ("90 days", "give a lifetime such as 90d"),
        ("2027-13-45", "give a lifetime such as 90d"),
    ],
)
def test_a_bad_expiry_is_one_line_and_exit_2(tmp_path: Any, value: str, message: str) -> None:
    db = str(tmp_path / "server.db")
    team = make_team(db)
    team.db.dispose()
    result = supportdesk("server", "token", "create", "sam@acme.test", "--expires", value, "--db", db)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def client_from(server: LiveServer, address: str, token: str | None) -> httpx.Client:
    """A client whose connections come from ``address`` (anywhere in 127.0.0.0/8)."""
    return httpx.Client(
        base_url=server.url,
        headers={"Authorization": f"Bearer {token}"} if token else {},
        transport=httpx.HTTPTransport(local_address=address),
        timeout=30,
    )


def test_bad_tokens_from_one_address_are_throttled_and_other_addresses_are_not(tmp_path: Any) -> None:
    with deploy("sqlite", tmp_path, extra=["--auth-failures", "5"]) as running:
        good = running.team.tokens["sam"]
        with client_from(running.server, "127.0.0.3", "sdt_guess") as attacker:
            statuses = [attacker.get("/v1/me").status_code for _ in range(12)]
            assert statuses[:5] == [401] * 5
            assert set(statuses[5:]) == {429}
            limited = attacker.get("/v1/me")
            assert limited.status_code == 429
            assert int(limited.headers["Retry-After"]) >= 1
            assert limited.json()["error"]["code"] == "rate_limited"
            # the throttled address cannot slip out by claiming to be someone else
            spoofed = attacker.get("/v1/me", headers={"X-Forwarded-For": "10.9.8.7"})
            assert spoofed.status_code == 429
        with client_from(running.server, "127.0.0.3", good) as same_address:
            assert same_address.get("/v1/me").status_code == 429, "a throttled address is throttled for everyone"
        with client_from(running.server, "127.0.0.2", good) as colleague:
            assert [colleague.get("/v1/me").status_code for _ in range(20)] == [200] * 20
        with client_from(running.server, "127.0.0.4", None) as anonymous:
            assert anonymous.get("/v1/health").status_code == 200
