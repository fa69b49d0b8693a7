"""An alias bomb ("billion laughs") in a file an admin imports: a few hundred bytes whose aliases
repeat a list inside itself level after level, billions of values once expanded. Every admin
document (``rules``, ``sla``, ``macros`` imports; ``kb`` front matter) refuses anchors and
aliases with one line naming where, before anything is expanded or written."""

from __future__ import annotations

from pathlib import Path

import pytest

from supportdesk.store.workspace import Workspace
from tests.cli.helpers import supportdesk

BOMB = "".join(
    f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9) if level else ', '.join(['lol'] * 9)}]\n"
    for level in range(10)
)
ALIAS_ONLY = "name: Reuse\nwhen: created\nconditions: &c []\nactions: *c\n"


@pytest.mark.parametrize(
    ("command", "text", "where"),
    [
        ("rules", BOMB, "anchors (&l0)"),
        ("sla", BOMB, "anchors (&l0)"),
        ("macros", "name: Bomb\nbody: hi\n" + BOMB, "anchors (&l0)"),
        ("rules", ALIAS_ONLY, "anchors (&c)"),
    ],
)
def test_imports_refuse_anchors_and_aliases_in_one_line(tmp_path: Path, command: str, text: str, where: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    Workspace.open(tmp_path / "ws").close()
    done = supportdesk(command, "import", str(path), workspace=tmp_path / "ws", env={"COLUMNS": "200"})
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"YAML {where} are not accepted" in line and "line " in line
    assert "Traceback" not in done.stderr


def test_the_loader_refuses_an_alias_without_an_anchor_it_could_follow() -> None:
    import yaml  # type: ignore[import-untyped]

    from supportdesk.cli.yaml_loader import loader

    with pytest.raises(yaml.YAMLError, match=r"anchors \(&a\)"):
        yaml.load("a: &a 1\nb: *a\n", Loader=loader())
    with pytest.raises(yaml.YAMLError):
        yaml.load("b: *missing\n", Loader=loader())
    assert yaml.load("a: [1, 2]\nb: '&not an anchor *nor alias'\n", Loader=loader()) == {
        "a": [1, 2],
        "b": "&not an anchor *nor alias",
    }
