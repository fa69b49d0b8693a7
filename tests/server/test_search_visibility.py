"""Attack on server search (issue 13): an agent's search never counts, ranks or pages through
tickets of a group they are not in — newest first or ranked, through forged or borrowed cursors,
and (PostgreSQL) in the bounded pool that ``sort:relevance`` ranks."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from tests.live import Deployment
from tests.server.test_api import create_ticket
from tests.server.test_search_backends import page_through


def subjects_and_next(client: httpx.Client, query: str, after: str | None = None) -> tuple[set[str], str | None]:
    params: dict[str, Any] = {"query": query, "limit": 1, **({"after": after} if after else {})}
    response = client.get("/v1/tickets", params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    return {t["subject"] for t in page["tickets"]}, page["next"]


def plant(deployment: Deployment) -> tuple[set[str], set[str]]:
    """Tier 1's tickets (newer, ranked higher: the word in the subject) and Billing's."""
    team = deployment.team
    billing, tier1 = set(), set()
    with deployment.api("bea") as bea, deployment.api("sam") as sam:
        for n in range(2):
            subject = f"Billing {n}"
            create_ticket(bea, "bea-client", n + 1, group_id=team.billing, subject=subject, body="a quokka invoice")
            billing.add(subject)
        for n in range(3):
            subject = f"Quokka tier {n}"
            create_ticket(sam, "sam-client", n + 1, group_id=team.tier1, subject=subject, body="quokka quokka")
            tier1.add(subject)
    return billing, tier1


def test_searches_page_through_what_the_caller_may_see_only(deployment: Deployment) -> None:
    billing, tier1 = plant(deployment)
    with deployment.api("bea") as bea, deployment.api("sam") as sam:
        for query in ("quokka", "quokka sort:relevance", "quok*", "quokka -nothing sort:relevance"):
            assert set(page_through(bea, query, 1)[0]) == billing, query
            assert set(page_through(sam, query, 1)[0]) == tier1, query
        # Sam's cursor (pointing at one of Tier 1's tickets) handed to Bea pages through Billing only
        _, sams = subjects_and_next(sam, "quokka sort:relevance")
        assert sams is not None
        seen, _ = subjects_and_next(bea, "quokka sort:relevance", sams)
        assert seen <= billing
        # a forged cursor above every rank, or naming another group's ticket, reveals nothing more
        _, ticket_id = orjson.loads(base64.urlsafe_b64decode(sams))
        for key in (1e29, -1e29, 0.0):
            forged = base64.urlsafe_b64encode(orjson.dumps([key, ticket_id])).decode()
            response = bea.get("/v1/tickets", params={"query": "quokka sort:relevance", "after": forged})
            if deployment.backend == "postgresql":
                assert response.status_code == 200, response.text
                assert {t["subject"] for t in response.json()["tickets"]} <= billing
            else:  # a SQLite server pages text newest first: a number is no cursor there
                assert response.status_code == 422


@pytest.mark.integration
def test_the_ranked_pool_holds_the_callers_matches_not_anothers(pg_deployment: Deployment) -> None:
    """The pool is the newest matches the caller may see: three newer Tier 1 matches do not push
    Billing's two out of a pool of two when Bea searches."""
    from sqlalchemy import text

    from supportdesk.domain.context import Actor
    from supportdesk.server.routes.tickets import page_sql
    from supportdesk.server.visibility import ticket_condition
    from supportdesk.store.query import compile_query

    billing, _ = plant(pg_deployment)
    team = pg_deployment.team
    bea = Actor(id=team.ids["bea"], name="Bea Billing", group_ids=frozenset({team.billing}))
    visible, params = ticket_condition(bea)
    compiled = compile_query("quokka sort:relevance", me=bea.id, dialect="postgresql")
    sql, params, sort = page_sql(compiled, visible, params, None, 50, "postgresql", pool=2)
    assert sort == "relevance"
    with team.db.engine.connect() as connection:
        assert {row.subject for row in connection.execute(text(sql), params)} == billing
