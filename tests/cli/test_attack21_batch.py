"""attack21: ``supportdesk batch`` against hostile values that pass the JSON parser — numbers it
reads as NaN or infinity, a lone surrogate, C1 controls and bidi marks in a line's ``id`` (echoed
back as it came) — and numbers past 64 bits where a ticket number or a limit enters."""

from __future__ import annotations

import json
import re
from typing import Any

from supportdesk.store.workspace import Workspace
from tests.cli.conftest import CLI
from tests.cli.test_batch import count, open_ticket

#: What a terminal may take as a control: C0 and C1 controls, bidi overrides and isolates.
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strict(stdout: str) -> list[dict[str, Any]]:
    """The results as a strict JSON parser (jq, JavaScript) reads them: no NaN or Infinity."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return [json.loads(line, parse_constant=refuse) for line in stdout.splitlines()]


def test_attack21_numbers_json_does_not_have_are_refused_and_every_result_is_strict_json(
    cli: CLI, ws: Workspace
) -> None:
    number = open_ticket(ws)
    note = json.dumps({"cmd": "tickets note", "id": "ok", "args": {"ticket": str(number), "body": "kept"}})
    hostile = [
        note.replace('"ok"', "NaN").replace('"kept"', '"nan"'),
        note.replace('"ok"', "1e999").replace('"kept"', '"inf"'),
        note.replace('"ok"', "-Infinity").replace('"kept"', '"-inf"'),
        '{"cmd": "tickets list", "args": {"limit": 1e999}}',
        '{"cmd": "tickets list", "args": {"limit": NaN}}',
    ]
    done = cli("batch", stdin="".join(line + "\n" + note + "\n" for line in hostile))
    out = strict(done.stdout)  # a NaN or Infinity in any result fails here
    assert done.code == 1 and len(out) == 2 * len(hostile), done
    refused, ran = out[0::2], out[1::2]
    assert all(r["ok"] and r["id"] == "ok" for r in ran), ran
    assert all(not r["ok"] and r["exit"] == 2 and "not a JSON object" in r["error"]["message"] for r in refused)
    assert count(ws, "SELECT count(*) FROM message WHERE body IN ('nan', 'inf', '-inf')") == 0
    assert count(ws, "SELECT count(*) FROM message WHERE body = 'kept'") == len(hostile)


def test_attack21_numbers_past_64_bits_are_readable_errors(cli: CLI, ws: Workspace) -> None:
    number = open_ticket(ws)
    lines = [
        {"cmd": "tickets note", "args": {"ticket": str(2**70), "body": "x"}},
        {"cmd": "tickets note", "args": {"ticket": 2**70, "body": "x"}},
        {"cmd": "tickets show", "args": {"ticket": str(2**63)}},
        {"cmd": "tickets show", "args": {"ticket": str(-(2**63) - 1)}},
        {"cmd": "tickets list", "args": {"query": f"number:{2**70}"}},
        {"cmd": "tickets note", "args": {"ticket": str(number), "body": "after"}},
    ]
    done = cli("batch", stdin="".join(json.dumps(line) + "\n" for line in lines))
    out = strict(done.stdout)
    assert done.code == 1 and len(out) == len(lines)
    assert [r["exit"] for r in out] == [3, 3, 3, 3, 2, 0], out
    assert not any("unexpected" in r.get("error", {}).get("message", "") for r in out), out
