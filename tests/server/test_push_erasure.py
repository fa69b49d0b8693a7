"""Review of "a push is one transaction": an erasure in a push and the stored outcomes.

``customer.erase`` blanks the person's words in ``mutation_result`` (``scrub_stored_results``: "a
refusal may quote an address an agent mistyped"), so a replay never hands them out again. In a
push the outcomes are inserted in bulk after the last mutation, so those of the mutations *before*
the erasure in the same push are written after it scrubbed, and keep the words. Only the log's
records are flushed before an erasure (``apply_push``: ``if mutation.name == ERASE``), not the
outcomes. Pushed one at a time, the same mutations leave nothing.
"""

from __future__ import annotations

import pytest

from supportdesk.server.db import ServerDatabase
from supportdesk.store.ids import uuid7
from tests.server.test_push_batch import Pusher

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("one_push", [False, True], ids=["two-pushes", "one-push"])
def test_an_erasure_scrubs_the_outcomes_of_its_own_push(database: ServerDatabase, one_push: bool) -> None:
    pusher = Pusher(database)
    kept, duplicate = uuid7(), uuid7()
    for customer_id in (kept, duplicate):
        assert pusher.push(("customer.create", {"customer_id": customer_id, "name": "Xavier Quimby"}))[0].ok
    assert pusher.push(("customer.merge", {"source_id": duplicate, "target_id": kept}))[0].ok

    again = ("customer.merge", {"source_id": duplicate, "target_id": kept})  # refused, quoting the name
    erase = ("customer.erase", {"customer_id": kept})
    outcomes = pusher.push(again, erase) if one_push else [*pusher.push(again), *pusher.push(erase)]
    assert [o.ok for o in outcomes] == [False, True], outcomes
    assert "quimby" in str(outcomes[0].error).lower()  # what the pusher was told at the time

    stored = pusher.rows("SELECT mutation_id, result FROM mutation_result WHERE client_id = 'admin-client'")
    assert not [row for row in stored if "quimby" in str(row[1]).lower()]
