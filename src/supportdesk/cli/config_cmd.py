"""``supportdesk config get | set``: the settings file, and who this workspace acts as.

Keys are ``section.key`` in the TOML settings file (``general.editor``, ``console.theme``,
``keys.reply`` …), plus ``me``: the agent this workspace acts as, kept in the workspace itself.
Setting a key edits that one line of the file and leaves comments and everything else alone.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer

from supportdesk.cli.options import JsonOpt
from supportdesk.cli.state import STATE

app = typer.Typer(help="Settings: the config file's keys, and 'me' (who this workspace acts as).", no_args_is_help=True)

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _split(key: str) -> tuple[str, str]:
    from supportdesk.cli.errors import fail

    section, _, name = key.partition(".")
    if not name or not _BARE.match(section) or not _BARE.match(name):
        fail(f"{key!r} is not a setting: write section.key (e.g. general.editor, console.theme) or me")
    return section, name


def _me() -> dict[str, Any] | None:
    me = STATE.me()
    if not me:
        return None
    with STATE.workspace().reading() as connection:
        row = connection.execute("SELECT id, name, email, role FROM agent WHERE id = ?", (me,)).fetchone()
    return dict(row) if row else {"id": me}


def _file_values() -> dict[str, Any]:
    from supportdesk.config import read_config_file

    values: dict[str, Any] = {}
    for section, table in read_config_file(STATE.settings.config_file).items():
        if isinstance(table, dict):
            values.update({f"{section}.{k}": v for k, v in table.items() if not isinstance(v, dict)})
        else:
            values[section] = table
    return values


@app.command("get")
def get(
    key: Annotated[str | None, typer.Argument(help="section.key, or me; leave out for every setting.")] = None,
    json_: JsonOpt = False,
) -> None:
    """Print one setting, or every setting of the file (and me).

    Example: supportdesk config get general.editor
    """
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.cli.output import cell, emit_document

    if key == "me":
        me = _me()
        if me is None:
            fail("this workspace acts as nobody yet: run 'supportdesk config set me EMAIL'", NOT_FOUND)
        if json_:
            emit_document(me)
        else:
            typer.echo(cell(me.get("email") or me["id"]))
        return
    values = _file_values()
    if key is not None:
        _split(key)
        if key not in values:
            fail(f"{key} is not set in {STATE.settings.config_file}", NOT_FOUND)
        if json_:
            emit_document(values[key])
        else:
            typer.echo(cell(values[key]))
        return
    if STATE.settings.workspace.joinpath("supportdesk.db").exists():
        me = _me()
        if me is not None:
            values["me"] = me.get("email") or me["id"]
    if json_:
        emit_document(values)
        return
    for name, value in values.items():
        typer.echo(f"{name} = {cell(value)}")


def _toml_value(value: str, *, as_string: bool) -> str:
    if not as_string:
        if value in ("true", "false"):
            return value
        if re.fullmatch(r"-?\d{1,18}", value):
            return value
    return json.dumps(value, ensure_ascii=False)


def set_in_toml(text: str, section: str, name: str, rendered: str) -> str:
    """``text`` with ``name = rendered`` under ``[section]``, every other line untouched."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]\s*(#.*)?$")
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        gap = "\n" if lines and lines[-1].strip() else ""
        return "".join(lines) + f"{gap}[{section}]\n{name} = {rendered}\n"
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    assignment = re.compile(rf"^\s*{re.escape(name)}\s*=")
    for i in range(start + 1, end):
        if assignment.match(lines[i]):
            lines[i] = f"{name} = {rendered}\n"
            return "".join(lines)
    last = end
    while last - 1 > start and not lines[last - 1].strip():
        last -= 1
    lines.insert(last, f"{name} = {rendered}\n")
    return "".join(lines)


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="section.key, or me.")],
    value: Annotated[str, typer.Argument(help="The value; true/false and whole numbers are typed unless --string.")],
    as_string: Annotated[
        bool, typer.Option("--string", help="Store the value as text whatever it looks like.")
    ] = False,
) -> None:
    """Change one setting (or who this workspace acts as, with me).

    Example: supportdesk config set console.theme nord
    """
    import tomllib

    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_agent

    if key == "me":
        with STATE.workspace().reading() as connection:
            agent = find_agent(connection, value)
        if agent is None:
            fail(f"no agent {value}", NOT_FOUND)
        STATE.workspace().set_setting("me", agent["id"])
        typer.echo(f"this workspace now acts as {agent['name']} <{agent['email']}>")
        return
    section, name = _split(key)
    path = STATE.settings.config_file
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    updated = set_in_toml(text, section, name, _toml_value(value, as_string=as_string))
    try:
        tomllib.loads(updated)
    except tomllib.TOMLDecodeError as error:
        fail(f"{path} would not be valid TOML after this change ({error}): left as it was")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated, encoding="utf-8")
    typer.echo(f"{key} = {_toml_value(value, as_string=as_string)}  ({path})")
