"""attack21: ``supportdesk batch`` against hostile values that pass the JSON parser — numbers it
reads as NaN or infinity, a lone surrogate, C1 controls and bidi marks in a line's ``id`` (echoed
back as it came) — and numbers past 64 bits where a ticket number or a limit enters."""

from __future__ import annotations

import json
import re
from pathlib import Path
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


def test_attack21_an_id_with_a_lone_surrogate_or_terminal_controls_comes_back_escaped(
    cli: CLI, ws: Workspace, tmp_path: Path
) -> None:
    """The id is echoed back as the line gave it. A lone surrogate (valid JSON: "\\ud800") could
    not be written to stdout at all: the batch ended there with exit 4 and the next lines never
    ran. C1 controls (U+009B is a CSI) and bidi overrides went to the terminal raw. Both now come
    back as JSON escapes: the same value for a JSON reader, nothing for a terminal to act on."""
    number = open_ticket(ws)
    ids = ["\ud800", "\udfff tail", "\u009b31m red", "\u202egnp.exe", "\u2066iso\u2069", "caf\u00e9 \U0001f600"]
    path = tmp_path / "ids.jsonl"
    path.write_text(
        "".join(
            json.dumps({"cmd": "tickets note", "id": request_id, "args": {"ticket": str(number), "body": f"n{i}"}})
            + "\n"
            for i, request_id in enumerate(ids)
        ),
        encoding="utf-8",
    )
    done = cli("batch", str(path))
    assert done.code == 0, done
    assert not RAW_CONTROL.search(done.stdout), [m.group() for m in RAW_CONTROL.finditer(done.stdout)]
    out = strict(done.stdout)
    assert [r["id"] for r in out] == ids  # the same values, read back
    assert "café 😀" in done.stdout  # text that is safe stays readable
    assert count(ws, "SELECT count(*) FROM message WHERE body LIKE 'n_'") == len(ids)


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


def test_attack21_a_line_that_fails_inside_its_write_leaves_nothing_and_its_neighbours_everything(
    cli: CLI, ws: Workspace
) -> None:
    number = open_ticket(ws)
    requester = "half-written@example.com"
    lines = [
        {"cmd": "tickets note", "args": {"ticket": str(number), "body": "before"}},
        # a new requester (a customer row) and a tag the mutation refuses: one transaction
        {"cmd": "tickets create", "args": {"subject": "s", "requester": requester, "body": "b", "tag": ["x" * 5000]}},
        {"cmd": "tickets create", "args": {"subject": "s", "requester": requester, "body": "b" * 1_000_001}},
        {"cmd": "tickets note", "args": {"ticket": str(number), "body": "after"}},
    ]
    done = cli("batch", stdin="".join(json.dumps(line) + "\n" for line in lines))
    out = strict(done.stdout)
    assert done.code == 1 and [r["ok"] for r in out] == [True, False, False, True], out
    assert count(ws, "SELECT count(*) FROM identity WHERE value = ?", requester) == 0
    assert count(ws, "SELECT count(*) FROM customer WHERE name LIKE 'half-written%'") == 0
    assert count(ws, "SELECT count(*) FROM message WHERE body IN ('before', 'after')") == 2
