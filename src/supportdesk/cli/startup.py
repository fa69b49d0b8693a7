"""Start fast: import and build only the command being run.

Typer turns every registered command into a click command (reading each function's signature and
annotations) on every start, about 60 ms for the whole tree here — a quarter of the budget for
``supportdesk tickets show``. While typer runs, :func:`only_invoked` hides the groups and
commands the command line does not name (and puts them back afterwards). Help lists a group's
commands by name, so ``--help`` on a group also hides what its sub-groups hold. A name that
matches nothing and shell completion keep the full tree.

Importing the modules that define the commands cost more than building them (issue 19: half of
a read's CPU went to importing ``cli.server``, ``cli.batch``, ``cli.macros`` … for a ``tickets
show``). So a group or command may be registered by name and place only (:func:`lazy_group`,
:func:`lazy_command`: ``"module:attribute"``); its module is imported when the command line
keeps it, just before typer builds it (:func:`load_visible`), or when the whole tree is asked for
(:func:`load_all`). The order and names of the tree are those of the registrations, loaded or not.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

#: Registrations whose module is not imported yet: the TyperInfo or CommandInfo → "module:attribute".
_PENDING: dict[Any, str] = {}


def _target(spec: str) -> Any:
    module, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module), attribute)


def lazy_command(app: Any, name: str, spec: str) -> None:
    """Register the command ``name`` of ``app`` as the function at ``spec``, imported when used."""
    from typer.models import CommandInfo

    from supportdesk.cli.help_text import PlainHelpCommand

    info = CommandInfo(name=name, cls=PlainHelpCommand)
    _PENDING[info] = spec
    app.registered_commands.append(info)


def lazy_group(app: Any, name: str, spec: str) -> None:
    """Register the group ``name`` of ``app`` as the ``typer.Typer`` at ``spec``, imported when used."""
    from typer.models import TyperInfo

    from supportdesk.cli.help_text import PlainHelpGroup

    info = TyperInfo(None, name=name, cls=PlainHelpGroup)
    _PENDING[info] = spec
    app.registered_groups.append(info)


def _load(info: Any) -> None:
    spec = _PENDING.pop(info, None)
    if spec is None:
        return
    if hasattr(info, "typer_instance"):
        from supportdesk.cli.help_text import plain_help

        group = _target(spec)
        plain_help(group)
        info.typer_instance = group
    else:
        info.callback = _target(spec)


def load_visible(app: Any) -> None:
    """Import what typer is about to build: every registration ``app`` holds now, group by group."""
    for info in app.registered_commands:
        _load(info)
    for info in app.registered_groups:
        _load(info)
        load_visible(info.typer_instance)


def load_all(app: Any) -> Any:
    """``app`` with every lazy registration imported (what a test or ``batch`` walks); returns it."""
    with whole_tree():
        load_visible(app)
    return app


#: Options of the root command that take a value.
_VALUED = frozenset({"-w", "--workspace", "--profile"})


def _words(argv: Sequence[str]) -> list[str]:
    """The command words of ``argv`` (after the program name), global options skipped."""
    words: list[str] = []
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in _VALUED:
            skip = True
            continue
        if token == "--":
            break
        if token.startswith("-"):
            continue
        words.append(token)
        if len(words) == 2:
            break
    return words


def _asks_for_help(argv: Sequence[str]) -> bool:
    words = list(argv)[: list(argv).index("--")] if "--" in argv else list(argv)
    return "--help" in words or "-h" in words


def _name(info: Any) -> str | None:
    if getattr(info, "name", None):
        return str(info.name)
    typer_instance = getattr(info, "typer_instance", None)
    if typer_instance is not None and typer_instance.info.name:
        return str(typer_instance.info.name)
    callback = getattr(info, "callback", None)
    return callback.__name__.replace("_", "-") if callback is not None else None


@contextmanager
def only_invoked(app: Any, argv: Sequence[str]) -> Iterator[None]:
    """Within the block, ``app`` (a ``typer.Typer``) holds only the group and command ``argv`` names."""
    saved: list[tuple[Any, list[Any], list[Any]]] = []

    def keep(typer_app: Any, commands: list[Any], groups: list[Any]) -> None:
        saved.append((typer_app, typer_app.registered_commands, typer_app.registered_groups))
        typer_app.registered_commands, typer_app.registered_groups = commands, groups

    completing = any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ)
    words = [] if completing else _words(argv)
    shown = app  # the group whose help a --help would print
    if words:
        groups = [g for g in app.registered_groups if _name(g) == words[0]]
        commands = [c for c in app.registered_commands if _name(c) == words[0]]
        if groups or commands:
            keep(app, commands, groups)
        if groups:
            _load(groups[0])
        shown = groups[0].typer_instance if groups and not commands else None
        if groups and len(words) > 1:
            group = groups[0].typer_instance
            chosen = [c for c in group.registered_commands if _name(c) == words[1]]
            nested = [g for g in group.registered_groups if _name(g) == words[1]]
            if chosen or nested:
                keep(group, chosen, nested)
                shown = nested[0].typer_instance if nested and not chosen else None
    if shown is not None and not completing and _asks_for_help(argv):
        for sub in shown.registered_groups:
            _load(sub)
            keep(sub.typer_instance, [], [])
    load_visible(app)
    _HIDDEN.append(saved)
    _RUNNING.append(app)
    try:
        yield
    finally:
        _RUNNING.remove(app)
        _HIDDEN.remove(saved)
        for typer_app, commands, groups in reversed(saved):
            typer_app.registered_commands, typer_app.registered_groups = commands, groups


#: What :func:`only_invoked` blocks in force have hidden (innermost last), and their apps.
_HIDDEN: list[list[tuple[Any, list[Any], list[Any]]]] = []
_RUNNING: list[Any] = []


def running_app() -> Any:
    """The ``typer.Typer`` whose command line is being run (``None`` outside :func:`only_invoked`)."""
    return _RUNNING[0] if _RUNNING else None


@contextmanager
def whole_tree() -> Iterator[None]:
    """Within the block every command is back (``supportdesk batch`` runs any of them)."""
    swapped: list[tuple[Any, list[Any], list[Any]]] = []
    for saved in reversed(_HIDDEN):
        for typer_app, commands, groups in reversed(saved):
            swapped.append((typer_app, typer_app.registered_commands, typer_app.registered_groups))
            typer_app.registered_commands, typer_app.registered_groups = commands, groups
    try:
        for app in _RUNNING:
            load_visible(app)
        yield
    finally:
        for typer_app, commands, groups in reversed(swapped):
            typer_app.registered_commands, typer_app.registered_groups = commands, groups
