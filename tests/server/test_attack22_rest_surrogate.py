"""attack22: a REST write with a lone surrogate (``"\\ud800"``, which Python's JSON parser reads)
in a value typed ``Any`` (a ticket's custom ``fields``) is refused with 422 — and the answer said
"a number in the request is past 64 bits" when the request held no number at all: orjson's
refusal of the surrogate was taken for the 64-bit one. Now it names the text."""

from __future__ import annotations

import json

import pytest

from tests.live import Deployment

pytestmark = [pytest.mark.integration]

TICKET = {"subject": "S", "body": "b", "requester": {"email": "erin@example.com"}, "group": "Tier 1"}


def test_attack22_a_lone_surrogate_in_a_rest_write_is_refused_naming_the_text(deployment: Deployment) -> None:
    raw = json.dumps({**TICKET, "fields": {"order": "MARK"}}).replace("MARK", "\\ud800")
    with deployment.api("ada") as ada:
        answer = ada.post("/v1/tickets", content=raw, headers={"content-type": "application/json"})
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert error["field"] == "body" and "surrogate" in error["message"], error
        assert "64 bits" not in error["message"], error
        past = json.dumps({**TICKET, "fields": {"order": 1}}).replace('"order": 1', f'"order": {2**70}')
        answer = ada.post("/v1/tickets", content=past, headers={"content-type": "application/json"})
        assert answer.status_code == 422 and "64 bits" in answer.json()["error"]["message"], answer.text
