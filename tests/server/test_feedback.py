"""``/v1/feedback/{token}``: the customer answers a survey over real HTTP, once, with no API token."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from supportdesk.domain import feedback
from supportdesk.store.ids import uuid7
from tests.live import Deployment, LiveServer, make_team
from tests.server.test_api import create_ticket, error_of, push
from tests.sync.compare import server_count


def solved_ticket(deployment: Deployment, client_id: str = "sam-survey") -> tuple[str, int, str]:
    """A Tier 1 ticket Sam answered and solved through a push: (ticket id, number, survey token)."""
    with deployment.api("sam") as sam:
        ticket = create_ticket(sam, client_id, 1, group_id=deployment.team.tier1, subject="Login fails")
        reply = {"ticket_id": ticket["ticket_id"], "body": "Reset it for you.", "status": "solved"}
        outcome = push(sam, client_id, [{"id": 2, "name": "ticket.reply", "args": reply}]).json()["results"][0]
        assert outcome["ok"], outcome
    return ticket["ticket_id"], ticket["number"], token_of(deployment, ticket["ticket_id"])


def token_of(deployment: Deployment, ticket_id: str) -> str:
    with deployment.team.db.engine.begin() as connection:
        survey_id = connection.execute(text("SELECT id FROM survey WHERE ticket_id = :t"), {"t": ticket_id}).scalar()
        assert survey_id is not None, "solving the ticket issues a survey"
        return feedback.survey_token(connection, survey_id)


def survey_row(deployment: Deployment, ticket_id: str) -> dict[str, Any]:
    with deployment.team.db.engine.connect() as connection:
        found = connection.execute(text("SELECT * FROM survey WHERE ticket_id = :t"), {"t": ticket_id}).mappings()
        return dict(found.one())


def test_a_survey_link_records_the_answer_once_and_it_reaches_the_replicas(deployment: Deployment) -> None:
    ticket_id, number, token = solved_ticket(deployment)
    sam = deployment.replica("sam")
    try:
        with deployment.api(None) as customer:
            asked = customer.get(f"/v1/feedback/{token}")
            assert asked.status_code == 200
            assert asked.json()["ticket"] == number and set(asked.json()["questions"]) == {
                "csat",
                "ces",
                "nps",
                "comment",
            }
            page = customer.get(f"/v1/feedback/{token}", headers={"Accept": "text/html"})
            assert page.headers["content-type"].startswith("text/html")
            assert f"request #{number}" in page.text and '<form method="post">' in page.text
            assert page.headers["Referrer-Policy"] == "no-referrer"
            answer = {"csat": "bad", "comment": "Slow \x1b[31mreply", "ces": 3, "nps": 4}
            recorded = customer.post(f"/v1/feedback/{token}", json=answer)
            assert recorded.status_code == 200, recorded.text
            assert recorded.json() == {"recorded": True}
            again = customer.post(f"/v1/feedback/{token}", json={"csat": "good"})
            assert again.status_code == 409
            assert error_of(again) == {
                "code": "conflict",
                "message": "this survey was already answered",
                "field": "token",
            }
            assert customer.get(f"/v1/feedback/{token}").status_code == 409
        stored = survey_row(deployment, ticket_id)
        assert (stored["csat"], stored["ces"], stored["nps"]) == ("bad", 3, 4)
        assert stored["comment"] == "Slow ⟨U+001B⟩[31mreply"
        # through the write path: in the change log, so the next pull brings it to Sam
        sam.sync()
        assert sam.rows(
            "SELECT csat, ces, nps, answered_at IS NOT NULL FROM survey WHERE ticket_id = ?", ticket_id
        ) == [("bad", 3, 4, 1)]
        notes = sam.rows(
            "SELECT body, public, author_kind FROM message WHERE ticket_id = ? AND author_kind = 'system'", ticket_id
        )
        assert len(notes) == 1 and notes[0][1:] == (0, "system")
        assert notes[0][0].startswith("The customer rated the support bad, effort 3/7, would recommend 4/10.")
        with deployment.api("bea") as billing:
            pulled = billing.get("/v1/pull", params={"cursor": 0}).json()["changes"]
        assert not [c for c in pulled if c["entity"] == "survey"], "Billing never sees Tier 1's surveys"
    finally:
        sam.close()


def test_forged_unknown_and_malformed_answers_are_refused_and_change_nothing(deployment: Deployment) -> None:
    ticket_id, _number, token = solved_ticket(deployment)
    survey_id, signature = token.split(".")
    with deployment.team.db.engine.begin() as connection:
        unknown = feedback.make_token(feedback.secret_from(connection), uuid7())
    other_id = ("f" if survey_id[0] != "f" else "e") + survey_id[1:]
    forged = [
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        f"{other_id}.{signature}",
        survey_id,
        f"{survey_id}.{feedback.sign(b'not the server secret', survey_id)}",
        "not-a-token",
    ]
    with deployment.api(None) as customer:
        for bad in forged:
            for response in (
                customer.get(f"/v1/feedback/{bad}"),
                customer.post(f"/v1/feedback/{bad}", json={"nps": 9}),
            ):
                assert response.status_code == 403, (bad, response.text)
                assert error_of(response) == {
                    "code": "forbidden",
                    "message": "this survey link is not valid",
                    "field": "token",
                }
        gone = customer.post(f"/v1/feedback/{unknown}", json={"nps": 9})
        assert gone.status_code == 404 and error_of(gone)["field"] == "token"
        assert customer.get(f"/v1/feedback/{unknown}").status_code == 404
        too_long = customer.post(f"/v1/feedback/{'x' * 101}", json={"nps": 9})
        assert too_long.status_code == 422 and error_of(too_long)["field"] == "token"
        for body, status, field in (
            ({"csat": "meh"}, 422, "csat"),
            ({"nps": 11}, 422, "nps"),
            ({"ces": 0}, 422, "ces"),
            ({}, 422, "csat"),  # no rating at all
            ({"csat": "good", "survey_id": survey_id}, 422, "survey_id"),
            ({"csat": "good", "comment": "x" * 5001}, 422, "comment"),
            ([1, 2], 422, "body"),
        ):
            refused = customer.post(f"/v1/feedback/{token}", json=body)
            assert refused.status_code == status and error_of(refused)["field"] == field, (body, refused.text)
        malformed = customer.post(
            f"/v1/feedback/{token}", content=b'{"csat": ', headers={"content-type": "application/json"}
        )
        assert malformed.status_code == 400 and error_of(malformed)["code"] == "malformed_json"
        huge = customer.post(
            f"/v1/feedback/{token}", content=b" " * (65 * 1024), headers={"content-type": "application/json"}
        )
        assert huge.status_code == 413 and error_of(huge)["field"] == "body"
        assert survey_row(deployment, ticket_id)["answered_at"] is None
        assert customer.post(f"/v1/feedback/{token}", json={"csat": "good"}).status_code == 200
    assert survey_row(deployment, ticket_id)["csat"] == "good"


def test_racing_answers_to_one_link_record_exactly_one(deployment: Deployment) -> None:
    ticket_id, _number, token = solved_ticket(deployment)
    statuses: list[int] = []
    start = threading.Barrier(6)

    def answer(score: int) -> None:
        with httpx.Client(base_url=deployment.server.url, timeout=30) as customer:
            start.wait()
            statuses.append(customer.post(f"/v1/feedback/{token}", json={"nps": score}).status_code)

    threads = [threading.Thread(target=answer, args=(score,)) for score in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409, 409, 409, 409, 409]
    db = deployment.team.db
    system_notes = "SELECT count(*) FROM message WHERE ticket_id = :t AND author_kind = 'system'"
    assert server_count(db, system_notes, t=ticket_id) == 1
    assert server_count(db, "SELECT count(*) FROM audit_event WHERE field = 'survey.answered'") == 1


def test_a_browser_answers_with_the_form_and_requests_are_limited_per_address(tmp_path: Path) -> None:
    db = str(tmp_path / "feedback.db")
    team = make_team(db)
    server = LiveServer(db, tmp_path, rate=0)
    server.args += ["--feedback-limit", "3"]
    server.start()
    deployment = Deployment(server, team, "sqlite", tmp_path)
    try:
        ticket_id, _number, token = solved_ticket(deployment)
        with httpx.Client(base_url=server.url, timeout=30, headers={"Accept": "text/html"}) as browser:
            assert browser.get(f"/v1/feedback/{token}").status_code == 200
            form = {"csat": "good", "ces": "6", "nps": "", "comment": "Quick & kind"}
            thanks = browser.post(f"/v1/feedback/{token}", data=form)
            assert thanks.status_code == 200 and thanks.headers["content-type"].startswith("text/html")
            assert "Your answer was recorded" in thanks.text
            refused = browser.post(
                f"/v1/feedback/{token}",
                content=b"csat=bad",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert refused.status_code == 409 and "already answered" in refused.text
            limited = browser.get(f"/v1/feedback/{token}")
            assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        with httpx.Client(base_url=server.url, timeout=30) as program:
            limited = program.post(f"/v1/feedback/{token}", json={"csat": "bad"})
            assert limited.status_code == 429 and error_of(limited)["code"] == "rate_limited"
            assert program.get("/v1/health").status_code == 200  # the limit is the survey page's alone
        stored = survey_row(deployment, ticket_id)
        assert (stored["csat"], stored["ces"], stored["nps"], stored["comment"]) == ("good", 6, None, "Quick & kind")
    finally:
        server.stop()
        team.db.dispose()


def test_every_answer_the_schema_allows_fits_whatever_its_characters(sqlite_deployment: Deployment) -> None:
    """A 5,000-character comment (the schema's limit) of emoji or Chinese is recorded, by JSON
    with ASCII escapes (12 bytes a character) or by the form; one character more is the 422
    naming ``comment``, never a 413. At a 16 KiB limit, random Schemathesis samples saw a
    too-long comment answered 413 ("schema-violating request accepted") whenever its characters
    happened to be wide, and a customer's long comment in Chinese was refused."""
    import json

    deployment = sqlite_deployment
    with deployment.api(None) as customer:
        for index, (character, form) in enumerate((("😀", False), ("客", True), ("😀", True))):
            _ticket_id, _number, token = solved_ticket(deployment, client_id=f"wide-answer-{index}")
            for length, status in ((5001, 422), (5000, 200)):
                comment = character * length
                if form:
                    from urllib.parse import urlencode

                    body = urlencode({"csat": "good", "comment": comment}).encode()
                    kind = "application/x-www-form-urlencoded"
                else:
                    body = json.dumps({"csat": "good", "comment": comment}).encode()  # ASCII escapes
                    kind = "application/json"
                answered = customer.post(f"/v1/feedback/{token}", content=body, headers={"content-type": kind})
                assert answered.status_code == status, (character, form, length, answered.text[:200])
                if status == 422 and not form:
                    assert error_of(answered)["field"] == "comment"
