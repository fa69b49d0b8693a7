"""Review of "a push is one transaction": hide / reveal computed "as at commit".

``changes._visibility_moves`` now takes each mutation's ``from`` side from its own audit but the
``to`` side — and the ``from`` of every field the mutation did not change — from the ticket as it
stands at the end of the push. When one mutation moves a ticket to a group and a later one of the
same push assigns it to an agent of that group, each mutation's ``from`` already shows the agent
one of the two ways (group from the end, or assignee from the end), so no ``reveal`` is written
for them: they get the ticket's row, but never its earlier messages (the reveal's bundle), and no
later pull sends them (their scope did not change). Pushed one at a time, the same two mutations
do reveal it.
"""

from __future__ import annotations

import pytest

from supportdesk.server import admin
from supportdesk.server.db import ServerDatabase
from supportdesk.server.reads import pull
from supportdesk.server.tokens import load_actor
from tests.server.test_push_batch import Pusher, new_ticket

pytestmark = [pytest.mark.integration, pytest.mark.parametrize("database", ["sqlite"], indirect=True)]


@pytest.mark.parametrize("one_push", [False, True], ids=["two-pushes", "one-push"])
def test_an_agent_who_gains_a_ticket_gets_its_history(database: ServerDatabase, one_push: bool) -> None:
    pusher = Pusher(database)
    first = admin.add_group(database, "First line")
    second = admin.add_group(database, "Second line")
    pia = admin.add_agent(database, "Pia", "pia@example.com", "agent", [second])
    ticket = new_ticket(pusher, subject="Printer on fire")
    assert pusher.push(("ticket.assign", {"ticket_id": ticket, "group_id": first}))[0].ok
    (start,) = pusher.rows("SELECT value FROM counter WHERE name = 'seq'")[0]

    moves = (
        ("ticket.assign", {"ticket_id": ticket, "group_id": second}),
        ("ticket.assign", {"ticket_id": ticket, "assignee_id": pia}),
    )
    outcomes = pusher.push(*moves) if one_push else [o for move in moves for o in pusher.push(move)]
    assert all(o.ok for o in outcomes), outcomes

    with database.engine.connect() as connection:
        actor = load_actor(connection, pia)
    assert actor is not None
    changes = pull(database, actor, cursor=start, limit=1000, client_id=None).changes
    reveals = [c for c in changes if c.op == "reveal" and c.data["ticket_id"] == ticket]
    # Pia could not see the ticket before and sees it now: its messages must reach her replica
    assert reveals, [(c.entity, c.op) for c in changes]
    assert reveals[-1].data["rows"]["message"], "the ticket's first message never reaches Pia"
