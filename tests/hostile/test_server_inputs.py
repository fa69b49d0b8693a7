"""Hostile requests against a real ``supportdesk serve``: another group's ids, another agent's
client id, replays, revoked and malformed tokens, bodies that are not JSON, text that carries
terminal escapes. Each answer is a 4xx JSON ``{"error": {...}}`` (or a per-mutation refusal), and
afterwards the state is what it was: nothing written, nothing of the other group in the answer.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from supportdesk.protocol import SCHEMA_VERSION
from supportdesk.server import admin
from tests.live import Deployment, api
from tests.server.test_feedback import solved_ticket, survey_row

pytestmark = pytest.mark.integration

SECRET = "Zanzibarquux"  # a word only Billing's ticket holds
SECRET_EMAIL = "treasurer@billing-secret.test"


def push(client: httpx.Client, client_id: str, mutations: list[dict[str, Any]]) -> httpx.Response:
    return client.post(
        "/v1/push", json={"client_id": client_id, "schema_version": SCHEMA_VERSION, "mutations": mutations}
    )


def one_result(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json()["results"][0])


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The JSON error of a refusal with ``status``; its code and message are never empty."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json")
    error = dict(response.json()["error"])
    assert error["code"] and error["message"], error
    return error


def create(client: httpx.Client, client_id: str, subject: str, **extra: Any) -> dict[str, Any]:
    args = {"subject": subject, "body": f"{subject} body", "requester": {"value": "alice@example.com"}, **extra}
    outcome = one_result(push(client, client_id, [{"id": 1, "name": "ticket.create", "args": args}]))
    assert outcome["ok"], outcome
    return dict(outcome["result"])


def ticket(live: Deployment, who: str, number: int) -> dict[str, Any]:
    with live.api(who) as client:
        response = client.get(f"/v1/tickets/{number}")
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="module")
def billing(live: Deployment) -> dict[str, Any]:
    """Bea's ticket in Billing (Sam, in Tier 1, must never see or touch it), with a secret word."""
    with live.api("bea") as bea:
        made = create(
            bea,
            "bea-billing-client",
            f"{SECRET} invoice",
            group_id=live.team.billing,
            requester={"value": SECRET_EMAIL, "name": "Secret Treasurer"},
        )
    made["snapshot"] = ticket(live, "bea", made["number"])
    return made


def assert_no_billing_data(text: str, billing: dict[str, Any]) -> None:
    for leak in (SECRET, SECRET_EMAIL, billing["ticket_id"], billing["requester_id"]):
        assert leak not in text, f"the answer leaks {leak!r}: {text[:500]}"


def test_a_body_nested_too_deeply_is_malformed_json(live: Deployment) -> None:
    with live.api("sam") as sam:
        for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
            refused = sam.post("/v1/push", content=body, headers={"content-type": "application/json"})
            assert error_of(refused, 400) | {} == {
                "code": "malformed_json",
                "message": "the body is not valid JSON: it is not UTF-8 or nests too deeply",
                "field": "body",
            }
        assert sam.get("/v1/health").status_code == 200


def test_a_body_that_is_not_utf8_is_malformed_json_and_applies_nothing(live: Deployment) -> None:
    with live.api("sam") as sam:
        body = b'{"client_id": "sam-utf8-client", "schema_version": 1, "mutations": [{"id": 1, '
        body += b'"name": "ticket.create", "args": {"subject": "\xff\xfe broken", "body": "x"}}]}'
        refused = sam.post("/v1/push", content=body, headers={"content-type": "application/json"})
        assert error_of(refused, 400)["field"] == "body"
        # nothing was applied: the client's first mutation id is still free
        made = create(sam, "sam-utf8-client", "After the broken body")
    assert ticket(live, "sam", made["number"])["subject"] == "After the broken body"


def test_a_bootstrap_key_nested_a_thousand_deep_is_a_422(live: Deployment) -> None:
    """``after`` fits its 1,000 characters yet nests deeper than the JSON decoder recurses."""
    with live.api("sam") as sam:
        for after in ("[" * 1000, "[" * 999 + "]"):
            refused = sam.get("/v1/bootstrap", params={"table": "ticket", "after": after})
            assert error_of(refused, 422)["field"] == "after"
        assert sam.get("/v1/bootstrap", params={"table": "ticket"}).status_code == 200


def test_another_agents_client_id_neither_replays_nor_reads_their_results(
    live: Deployment, billing: dict[str, Any]
) -> None:
    with live.api("sam") as sam:
        # Bea's client made the Billing ticket as its mutation 1: asking for that id again under
        # her client id would hand Sam her stored result
        replay = push(sam, "bea-billing-client", [{"id": 1, "name": "ticket.note", "args": {}}])
        assert error_of(replay, 403) | {} == {
            "code": "forbidden",
            "message": "this client id belongs to another agent",
            "field": "client_id",
        }
        assert_no_billing_data(replay.text, billing)
    assert ticket(live, "bea", billing["number"]) == billing["snapshot"]


def test_a_replayed_mutation_id_with_other_args_changes_nothing(live: Deployment) -> None:
    with live.api("sam") as sam:
        made = create(sam, "sam-replay-client", "The original subject")
        forged = {"subject": "A forged subject", "body": "another body", "requester": {"value": "eve@evil.test"}}
        again = one_result(push(sam, "sam-replay-client", [{"id": 1, "name": "ticket.create", "args": forged}]))
        assert again["replayed"] and again["result"] == made
        assert sam.get("/v1/tickets", params={"query": '"forged subject"'}).json()["tickets"] == []
    assert ticket(live, "sam", made["number"])["subject"] == "The original subject"


def test_a_revoked_token_is_refused_everywhere_and_its_push_applies_nothing(live: Deployment) -> None:
    token_id, token = admin.new_token(live.team.db, "tom@acme.test")
    with api(live.server, token) as tom:
        assert tom.get("/v1/me").status_code == 200
        admin.revoke_tokens(live.team.db, token_id=token_id)
        args = {"subject": "Written after the revoke", "body": "x", "requester": {"value": "a@b.test"}}
        attempts = {
            "me": tom.get("/v1/me"),
            "pull": tom.get("/v1/pull", params={"cursor": 0}),
            "push": push(tom, "tom-revoked-client", [{"id": 1, "name": "ticket.create", "args": args}]),
            "tickets": tom.get("/v1/tickets"),
            "events": tom.get("/v1/events"),
            "bootstrap": tom.get("/v1/bootstrap"),
        }
        for where, response in attempts.items():
            assert "revoked" in error_of(response, 401)["message"], where
    with live.api("ada") as ada:
        assert ada.get("/v1/tickets", params={"query": '"after the revoke"'}).json()["tickets"] == []


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer " + "A" * 60_000, id="60-kB-token"),
        pytest.param("Bearer sdt_\x01\x7f", id="control-characters"),
        pytest.param("Bearer sdt_%", id="like-wildcard"),
        pytest.param("Basic c2FtOnNhbQ==", id="basic-scheme"),
        pytest.param("Bearer", id="scheme-only"),
    ],
)
def test_a_forged_authorization_header_is_a_401(live: Deployment, header: str) -> None:
    with httpx.Client(base_url=live.server.url, headers={"Authorization": header}, timeout=30) as forged:
        refused = forged.get("/v1/pull", params={"cursor": 0})
        assert error_of(refused, 401)["code"] == "unauthenticated"
        assert "changes" not in refused.text


MUTATIONS_ON_ANOTHER_GROUPS_TICKET = [
    ("ticket.reply", {"body": "hello from Tier 1"}),
    ("ticket.note", {"body": "peeking"}),
    ("ticket.tag", {"tags": ["stolen"]}),
    ("ticket.set_status", {"status": "solved"}),
    ("ticket.set_subject", {"subject": "renamed by Tier 1"}),
    ("ticket.set_priority", {"priority": "low"}),
    ("ticket.record_handle_time", {"seconds": 60}),
]


def test_another_groups_ticket_id_in_any_ticket_mutation_is_not_found(
    live: Deployment, billing: dict[str, Any]
) -> None:
    with live.api("sam") as sam:
        mine = create(sam, "sam-foreign-ids-a", "Sam's own ticket", group_id=live.team.tier1)
        mutations = [
            {"id": i + 1, "name": name, "args": {"ticket_id": billing["ticket_id"], **args}}
            for i, (name, args) in enumerate(MUTATIONS_ON_ANOTHER_GROUPS_TICKET)
        ]
        base = len(mutations)
        mutations += [
            {
                "id": base + 1,
                "name": "ticket.merge",
                "args": {
                    "source_id": mine["ticket_id"],
                    "target_id": billing["ticket_id"],
                    "different_requesters": True,
                },
            },
            {
                "id": base + 2,
                "name": "ticket.merge",
                "args": {
                    "source_id": billing["ticket_id"],
                    "target_id": mine["ticket_id"],
                    "different_requesters": True,
                },
            },
            {
                "id": base + 3,
                "name": "ticket.link_problem",
                "args": {"ticket_id": mine["ticket_id"], "problem_id": billing["ticket_id"]},
            },
        ]
        response = push(sam, "sam-foreign-ids-b", mutations)
        assert response.status_code == 200, response.text
        for mutation, outcome in zip(mutations, response.json()["results"], strict=True):
            assert not outcome["ok"], mutation
            assert outcome["error"]["code"] == "not_found", (mutation, outcome)
        assert_no_billing_data(response.text.replace(billing["ticket_id"], "<the id Sam sent>"), billing)
    assert ticket(live, "bea", billing["number"]) == billing["snapshot"]
    assert ticket(live, "sam", mine["number"])["status"] != "closed"


def test_another_groups_customer_cannot_be_merged_over_http(live: Deployment, billing: dict[str, Any]) -> None:
    with live.api("sam") as sam:
        mine = create(sam, "sam-customer-merge-a", "Sam's customer", requester={"value": "mallory@evil.test"})
        merges = [
            {"source_id": billing["requester_id"], "target_id": mine["requester_id"]},
            {"source_id": mine["requester_id"], "target_id": billing["requester_id"]},
        ]
        mutations = [{"id": i + 1, "name": "customer.merge", "args": args} for i, args in enumerate(merges)]
        response = push(sam, "sam-customer-merge-b", mutations)
        for outcome in response.json()["results"]:
            assert not outcome["ok"] and outcome["error"]["code"] in ("forbidden", "not_found"), outcome
        assert_no_billing_data(response.text.replace(billing["requester_id"], "<the id Sam sent>"), billing)
    assert ticket(live, "bea", billing["number"]) == billing["snapshot"]


def test_sql_in_a_query_is_text_and_finds_nothing_of_another_group(live: Deployment, billing: dict[str, Any]) -> None:
    with live.api("sam") as sam:
        for query, matches_none in (
            ('"\'; DROP TABLE ticket; --"', True),
            ("requester:\"x' OR '1'='1\"", True),
            (f'"{SECRET}" OR 1=1', True),
            (f"requester:{SECRET_EMAIL}", True),
            ('"%"', False),  # punctuation only: the search ignores it, Sam sees his own tickets
            ("*", False),
        ):
            answer = sam.get("/v1/tickets", params={"query": query})
            assert answer.status_code in (200, 422), (query, answer.text)
            assert_no_billing_data(answer.text, billing)
            if answer.status_code == 422:
                assert error_of(answer, 422)["field"] == "query"
            elif matches_none:
                assert answer.json()["tickets"] == [], query
        assert sam.get("/v1/tickets").status_code == 200  # the tables are all there
    assert ticket(live, "bea", billing["number"]) == billing["snapshot"]


def test_a_table_outside_the_shared_ones_is_refused_by_name(live: Deployment) -> None:
    with live.api("sam") as sam:
        for table in ("api_token", "sync_client", "mutation_result", "sqlite_master", "ticket; --"):
            bootstrap = sam.get("/v1/bootstrap", params={"table": table})
            assert error_of(bootstrap, 422)["field"] == "table", table
            rows = sam.post("/v1/rows", json={"keys": [{"table": table, "key": ["x"]}]})
            assert error_of(rows, 422)["field"] == "keys.0.table", table
            assert "token_hash" not in bootstrap.text + rows.text


def test_terminal_escapes_and_nul_in_pushed_text_are_stored_visible(live: Deployment) -> None:
    with live.api("sam") as sam:
        hostile = "Refund\x00 \x1b[2J\x1b]52;c;cm0gLXJm\x07 \u202eexe [@click=app.quit]x[/]"
        made = create(sam, "sam-escapes-client", hostile)
        shown = ticket(live, "sam", made["number"])
    for raw in ("\x00", "\x1b", "\x07", "\u202e"):
        assert raw not in shown["subject"] and raw not in str(shown["messages"]), repr(raw)
    assert "⟨U+001B⟩]52;c;cm0gLXJm⟨U+0007⟩" in shown["subject"]
    assert "[@click=app.quit]x[/]" in shown["subject"]  # markup is text, kept as written


def test_a_lone_surrogate_in_pushed_text_is_refused_naming_the_field(live: Deployment) -> None:
    with live.api("sam") as sam:
        body = (
            b'{"client_id": "sam-surrogate-client", "schema_version": 1, "mutations": [{"id": 1, '
            b'"name": "ticket.create", "args": {"subject": "Surrogate \\ud800 here", "body": "x", '
            b'"requester": {"value": "a@b.test"}}}]}'
        )
        response = sam.post("/v1/push", content=body, headers={"content-type": "application/json"})
        if response.status_code == 200:
            outcome = response.json()["results"][0]
            assert not outcome["ok"] and outcome["error"]["field"] == "subject", outcome
        else:
            assert error_of(response, response.status_code)["field"]
            assert 400 <= response.status_code < 500
        assert sam.get("/v1/tickets", params={"query": "surrogate"}).json()["tickets"] == []


def test_a_survey_answer_nested_too_deeply_is_malformed_json_and_the_survey_stays_open(live: Deployment) -> None:
    ticket_id, _number, token = solved_ticket(live, client_id="sam-survey-deep")
    with httpx.Client(base_url=live.server.url, timeout=30) as customer:
        for body in (b"[" * 5000, b'{"csat": ' + b"[" * 3000):
            refused = customer.post(f"/v1/feedback/{token}", content=body, headers={"content-type": "application/json"})
            assert error_of(refused, 400) | {} == {
                "code": "malformed_json",
                "message": "the body is not valid JSON",
                "field": "body",
            }
        assert survey_row(live, ticket_id)["answered_at"] is None
        assert customer.post(f"/v1/feedback/{token}", json={"csat": "good"}).status_code == 200


def test_a_presence_state_or_ticket_of_another_group_is_refused(live: Deployment, billing: dict[str, Any]) -> None:
    with live.api("sam") as sam:
        markup = sam.post("/v1/presence", json={"ticket_id": billing["ticket_id"], "state": "[@click=app.quit]"})
        assert error_of(markup, 422)["field"] == "state"
        foreign = sam.post("/v1/presence", json={"ticket_id": billing["ticket_id"], "state": "viewing"})
        assert error_of(foreign, 404)
        assert_no_billing_data(markup.text + foreign.text.replace(billing["ticket_id"], ""), billing)
