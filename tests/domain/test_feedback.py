"""Satisfaction surveys: one signed link per solved ticket, forged and reused tokens refused."""

from __future__ import annotations

from typing import Any

import pytest

from supportdesk.domain import feedback, write
from supportdesk.domain.context import SYSTEM
from supportdesk.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from supportdesk.store import reads
from tests.conftest import Team


def solved_ticket(team: Team) -> str:
    ws = team.workspace
    args = {"subject": "Help", "body": "Please", "requester": {"value": "kim@example.com"}}
    ticket_id = str(write.apply(ws, "ticket.create", args, actor=SYSTEM).result["ticket_id"])
    write.apply(ws, "ticket.reply", {"ticket_id": ticket_id, "body": "Done", "status": "solved"}, actor=team.agent)
    return ticket_id


def surveys(team: Team, ticket_id: str) -> list[dict[str, Any]]:
    with team.workspace.reading() as connection:
        return [dict(r) for r in connection.execute("SELECT * FROM survey WHERE ticket_id = ?", (ticket_id,))]


def token_for(team: Team, survey_id: str) -> str:
    with team.workspace.engine.begin() as connection:
        return feedback.survey_token(connection, survey_id)


def answer(team: Team, token: str, **rating: Any) -> write.Outcome:
    return write.apply(team.workspace, "survey.answer", {"token": token, **rating}, actor=SYSTEM)


def test_solving_issues_one_survey_and_the_answer_shows_in_the_timeline(team: Team) -> None:
    ticket_id = solved_ticket(team)
    (survey,) = surveys(team, ticket_id)
    assert survey["answered_at"] is None
    token = token_for(team, survey["id"])
    assert feedback.link("https://support.example/", token) == f"https://support.example/v1/feedback/{token}"
    answer(team, token, csat="bad", comment="Slow \x1b[31mreply", ces=3, nps=4)
    (answered,) = surveys(team, ticket_id)
    assert (answered["csat"], answered["ces"], answered["nps"]) == ("bad", 3, 4)
    assert answered["comment"] == "Slow ⟨U+001B⟩[31mreply"
    with team.workspace.reading() as connection:
        detail = reads.ticket_detail(connection, ticket_id)
    assert detail is not None
    entry = detail.messages[-1]
    assert entry.body.startswith("The customer rated the support bad, effort 3/7, would recommend 4/10.")
    assert (entry.visibility, entry.author_kind, entry.meta["survey"]["csat"]) == ("internal", "system", "bad")


def test_a_reused_token_is_refused(team: Team) -> None:
    (survey,) = surveys(team, solved_ticket(team))
    token = token_for(team, survey["id"])
    answer(team, token, csat="good")
    with pytest.raises(Conflict, match="already answered"):
        answer(team, token, csat="bad")
    assert surveys(team, survey["ticket_id"])[0]["csat"] == "good"


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # one character of the signature
        lambda token: ("f" if token[0] != "f" else "e") + token[1:],  # another survey id, same signature
        lambda token: token.split(".")[0],  # no signature
        lambda token: token.split(".")[0] + "." + feedback.sign(b"not the secret", token.split(".")[0]),
        lambda token: "../../etc/passwd",
        lambda token: "",
    ],
)
def test_forged_tokens_are_refused(team: Team, forge: Any) -> None:
    (survey,) = surveys(team, solved_ticket(team))
    with pytest.raises(PermissionDenied, match="not valid"):
        answer(team, forge(token_for(team, survey["id"])), csat="good")
    assert surveys(team, survey["ticket_id"])[0]["answered_at"] is None


def test_a_genuine_token_for_a_survey_that_does_not_exist_is_refused(team: Team) -> None:
    with pytest.raises(NotFound, match="no longer exists"):
        answer(team, token_for(team, "0190c0de-0000-7000-8000-000000000000"), csat="good")


def test_erasing_the_customer_erases_their_survey_comment_and_keeps_the_rating(team: Team) -> None:
    ticket_id = solved_ticket(team)
    (survey,) = surveys(team, ticket_id)
    answer(team, token_for(team, survey["id"]), csat="bad", comment="Kim Example here, call me on 555-0100")
    with team.workspace.reading() as connection:
        customer_id = connection.execute("SELECT requester_id FROM ticket WHERE id = ?", (ticket_id,)).fetchone()[0]
    write.apply(team.workspace, "customer.erase", {"customer_id": customer_id}, actor=SYSTEM)
    (erased,) = surveys(team, ticket_id)
    assert (erased["comment"], erased["csat"]) == ("(erased)", "bad")


def test_an_answer_needs_a_rating_in_range(team: Team) -> None:
    (survey,) = surveys(team, solved_ticket(team))
    token = token_for(team, survey["id"])
    with pytest.raises(ValidationFailed, match="needs a rating"):
        answer(team, token, comment="no rating")
    with pytest.raises(ValidationFailed, match="nps"):
        answer(team, token, nps=11)


def test_reopening_and_solving_again_does_not_issue_a_second_open_survey(team: Team) -> None:
    ws = team.workspace
    ticket_id = solved_ticket(team)
    write.apply(ws, "ticket.receive", {"ticket_id": ticket_id, "body": "Broken again"}, actor=SYSTEM)
    write.apply(ws, "ticket.set_status", {"ticket_id": ticket_id, "status": "solved"}, actor=team.agent)
    assert len(surveys(team, ticket_id)) == 1
    answer(team, token_for(team, surveys(team, ticket_id)[0]["id"]), csat="good")
    write.apply(ws, "ticket.receive", {"ticket_id": ticket_id, "body": "And again"}, actor=SYSTEM)
    write.apply(ws, "ticket.set_status", {"ticket_id": ticket_id, "status": "solved"}, actor=team.agent)
    assert len(surveys(team, ticket_id)) == 2


def test_a_synced_client_neither_issues_surveys_nor_records_answers(team: Team) -> None:
    ws = team.workspace
    (survey,) = surveys(team, solved_ticket(team))
    token = token_for(team, survey["id"])
    connection = ws.connect()
    try:
        connection.execute("UPDATE sync_state SET server_url = 'https://support.example' WHERE id = 1")
    finally:
        connection.close()
    assert surveys(team, solved_ticket(team)) == []
    with pytest.raises(PermissionDenied, match="recorded by the server"):
        answer(team, token, csat="good")
