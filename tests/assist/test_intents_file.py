"""An admins' intents file: hostile YAML is one clear error — from the loader and from
``supportdesk serve --intents`` before it starts — and a good one is what the server uses
(issue 15; the live half is in test_server_intents.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from supportdesk.assist import intents
from tests.cli.helpers import supportdesk

GOOD = "intents:\n  - name: hardware\n    tags: [scanner]\n    examples: ['the barcode scanner does not beep']\n"
LAUGHS = "a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]\n"
    for n in range(9)
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (LAUGHS.encode(), "anchors and aliases"),
        (b"intents:\n  - &x {name: a}\n  - *x\n", "anchors and aliases"),
        (b"intents: " + b"[" * 5000 + b"]" * 5000, "nested more than"),
        (b"intents:\n  - !!python/object:os.system {name: a}\n", "tags"),
        (b"intents: [\n", "not valid YAML"),
        (b"intents:\n  - name: a\n\t- name: b\n", "not valid YAML"),
        (b"\xff\xfe\x00i\x00n", "not UTF-8"),
        (b"", "a list under 'intents'"),
        (b"intents: []\n", "a list under 'intents'"),
        (b"intents:\n  - name: 'a\x1b[31m'\n", "not valid YAML: unacceptable character"),
        (b'intents:\n  - name: "a\\e[31m"\n', "name must be"),
        (b"intents:\n  - name: a\n    examples: [" + b"'x'," * (intents.MAX_EXAMPLES + 1) + b"]\n", "at most"),
        (b"# " + b"x" * intents.MAX_FILE_BYTES + b"\n", "larger than"),
    ],
)
def test_a_hostile_intents_file_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "intents.yaml"
    path.write_bytes(content)
    with pytest.raises(intents.IntentFileError, match=message) as raised:
        intents.load_file(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_missing_file_and_a_good_one(tmp_path: Path) -> None:
    with pytest.raises(intents.IntentFileError, match="cannot read it"):
        intents.load_file(tmp_path / "nowhere.yaml")
    with pytest.raises(intents.IntentFileError, match="not a regular file"):
        intents.load_file(tmp_path)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(intents.IntentFileError, match="not a regular file"):
        intents.load_file(tmp_path / "pipe")  # would block forever if it were opened
    path = tmp_path / "intents.yaml"
    path.write_text(GOOD, encoding="utf-8")
    (hardware,) = intents.load_file(path)
    assert (hardware.name, hardware.tags) == ("hardware", ("scanner",))


def test_serve_refuses_a_bad_intents_file_before_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "intents.yaml"
    path.write_text(LAUGHS, encoding="utf-8")
    db = tmp_path / "server.db"
    done = supportdesk("serve", "--db", str(db), "--port", "1", "--intents", str(path))
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "anchors and aliases" in line and "Traceback" not in done.stderr
    assert not db.exists()  # refused before anything was created
    variable = supportdesk("serve", "--db", str(db), "--port", "1", env={"SUPPORTDESK_INTENTS": str(path)})
    assert variable.returncode == 2 and "anchors and aliases" in variable.stderr
