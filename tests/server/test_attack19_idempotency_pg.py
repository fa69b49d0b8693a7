"""The idempotency attacks of ``test_idempotency_hostile`` (written against SQLite) on
PostgreSQL too (attack19): there the replay is read in a read transaction of its own on the
write's connection (rest20c), a path of its own that must keep a key to the agent and the
restriction that stored it."""

from __future__ import annotations

import pytest

from tests.live import Deployment
from tests.server import test_idempotency_hostile as hostile

pytestmark = [pytest.mark.integration]


def test_a_restricted_token_gets_nothing_of_the_first_answer_on_postgresql(pg_deployment: Deployment) -> None:
    hostile.test_a_key_sent_again_by_a_token_restricted_to_other_groups_gets_nothing_of_the_first_answer(pg_deployment)


def test_a_key_sent_again_by_another_agent_runs_as_their_own_request_on_postgresql(
    pg_deployment: Deployment,
) -> None:
    hostile.test_a_key_sent_again_by_another_agent_runs_as_their_own_request(pg_deployment)
