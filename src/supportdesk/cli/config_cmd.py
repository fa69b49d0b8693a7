"""``supportdesk config get | set``: the settings file, and who this workspace acts as.

Keys are TOML dotted keys into the settings file (``general.editor``, ``console.theme``,
``keys."queue.solve"`` — a binding id holds a dot, so it is quoted as in the file), plus ``me``:
the agent this workspace acts as, kept in the workspace itself. Setting a key edits that one
value with tomlkit, which keeps comments, blank lines and the order of everything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any

import typer

from supportdesk.cli.options import DOCUMENT, Output
from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

app = typer.Typer(help="Settings: the config file's keys, and 'me' (who this workspace acts as).", no_args_is_help=True)

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")
KeyArg = Annotated[
    str, typer.Argument(metavar="KEY", help='section.key (quote a part with a dot: keys."queue.solve"), or me.')
]


def parse_key(key: str) -> list[str]:
    """``keys."queue.solve"`` → ``["keys", "queue.solve"]``, read the way TOML reads a key.

    A setting lives in a section, so a key has at least two parts; anything TOML would not take
    as one dotted key (spaces around nothing, an ``=``, a second line) is a usage error.
    """
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    from supportdesk.cli.errors import fail

    problem = f'{key!r} is not a setting: write section.key (e.g. general.editor, keys."queue.solve") or me'
    if not key.strip() or "\n" in key or "\r" in key:
        fail(problem)
    try:
        document: Any = tomlkit.parse(f"{key} = 0").unwrap()
    except TOMLKitError:
        fail(problem)
    path: list[str] = []
    while isinstance(document, dict) and len(document) == 1:
        name, document = next(iter(document.items()))
        path.append(name)
    if type(document) is not int or document != 0 or len(path) < 2:
        fail(problem)
    return path


def key_text(path: list[str]) -> str:
    """A key path written back as TOML: bare parts where they can be, quoted otherwise."""
    return ".".join(part if _BARE.match(part) else json.dumps(part, ensure_ascii=False) for part in path)


def _leaves(table: Mapping[str, Any], path: list[str]) -> Iterator[tuple[list[str], Any]]:
    for name, value in table.items():
        if isinstance(value, Mapping):
            yield from _leaves(value, [*path, name])
        else:
            yield [*path, name], value


def _file_values(session: Session) -> dict[str, Any]:
    """Every value of the settings file by its dotted key."""
    from supportdesk.config import read_config_file

    return {key_text(path): value for path, value in _leaves(read_config_file(session.settings.config_file), [])}


def _me(session: Session) -> dict[str, Any] | None:
    me = session.me()
    if not me:
        return None
    with session.workspace().reading() as connection:
        row = connection.execute("SELECT id, name, email, role FROM agent WHERE id = ?", (me,)).fetchone()
    return dict(row) if row else {"id": me}


@app.command("get")
@command(DOCUMENT)
def get(
    session: Session,
    out: Output,
    key: Annotated[
        str | None,
        typer.Argument(metavar="[KEY]", help="section.key, or me; leave out for every setting.", show_default=False),
    ] = None,
) -> None:
    """Print one setting, or every setting of the file (and me).

    Example: supportdesk config get general.editor
    """
    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.cli.output import cell

    if key == "me":
        me = _me(session)
        if me is None:
            fail("this workspace acts as nobody yet: run 'supportdesk config set me EMAIL'", NOT_FOUND)
        if out.json:
            out.document(me)
        else:
            typer.echo(cell(me.get("email") or me["id"]))
        return
    values = _file_values(session)
    if key is not None:
        wanted = key_text(parse_key(key))
        if wanted not in values:
            fail(f"{wanted} is not set in {session.settings.config_file}", NOT_FOUND)
        if out.json:
            out.document(values[wanted])
        else:
            typer.echo(cell(values[wanted]))
        return
    if session.settings.workspace.joinpath("supportdesk.db").exists():
        me = _me(session)
        if me is not None:
            values["me"] = me.get("email") or me["id"]
    if out.json:
        out.document(values)
        return
    for name, value in values.items():
        typer.echo(f"{name} = {cell(value)}")


def typed_value(value: str, *, as_string: bool) -> bool | int | str:
    """``true``/``false`` and whole numbers are typed, everything else is text (``--string``: all text)."""
    if not as_string:
        if value in ("true", "false"):
            return value == "true"
        if re.fullmatch(r"-?\d{1,18}", value):
            return int(value)
    return value


def set_in_toml(text: str, path: list[str], value: bool | int | str) -> str:
    """``text`` with the value at ``path`` set (tables made as needed), everything else as it was."""
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    from supportdesk.cli.errors import fail

    try:
        document = tomlkit.parse(text)
    except TOMLKitError as error:
        fail(f"the settings file is not valid TOML ({error}): fix it first")
    table: Any = document
    for depth, name in enumerate(path[:-1]):
        if name not in table:
            table[name] = tomlkit.table()
        table = table[name]
        if not isinstance(table, dict):
            fail(f"{key_text(path[: depth + 1])} is a value, not a section")
    if isinstance(table.get(path[-1]), dict):
        fail(f"{key_text(path)} is a section: set one of its keys")
    table[path[-1]] = value
    return tomlkit.dumps(document)


@app.command("set")
@command()
def set_(
    session: Session,
    key: KeyArg,
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="The value; true/false and whole numbers are typed unless --string.")
    ],
    as_string: Annotated[
        bool, typer.Option("--string", help="Store the value as text whatever it looks like.")
    ] = False,
) -> None:
    """Change one setting (or who this workspace acts as, with me); comments and layout stay.

    Example: supportdesk config set 'keys."queue.solve"' x
    """
    import tomllib

    from supportdesk.cli.errors import NOT_FOUND, fail
    from supportdesk.store.lookups import find_agent

    if key == "me":
        with session.workspace().reading() as connection:
            agent = find_agent(connection, value)
        if agent is None:
            fail(f"no agent {value}", NOT_FOUND)
        session.workspace().set_setting("me", agent["id"])
        typer.echo(f"this workspace now acts as {agent['name']} <{agent['email']}>")
        return
    path = parse_key(key)
    config = session.settings.config_file
    text = config.read_text(encoding="utf-8") if config.exists() else ""
    typed = typed_value(value, as_string=as_string)
    updated = set_in_toml(text, path, typed)
    try:
        tomllib.loads(updated)
    except tomllib.TOMLDecodeError as error:
        fail(f"{config} would not be valid TOML after this change ({error}): left as it was")
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(updated, encoding="utf-8")
    shown = json.dumps(typed, ensure_ascii=False) if isinstance(typed, str) else str(typed).lower()
    typer.echo(f"{key_text(path)} = {shown}  ({config})")
