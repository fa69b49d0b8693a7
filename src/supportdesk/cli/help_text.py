"""Help that typer's rich mode draws from our plain text, as written.

Our docstrings and option help are plain text: a rule table is ``[channels]``, an example holds
``{rules: [...]}``. Rich mode would read ``[channels]`` as a style tag and drop it, and would keep
every line break of a docstring wrapped at 100 columns. The command and group classes below
escape what looks like a tag and join the lines of each paragraph (an ``Example:`` line stays on
its own), so ``--help`` says exactly what the source says, wrapped to the terminal; an option
declared without a metavar is shown with its own name (``--db DB``), not its Python type, and
an argument by its metavar alone (``TICKET``, not ``TICKET <str>``).
:func:`plain_help` puts them on every command of an app; it costs microseconds (no import).
"""

from __future__ import annotations

import copy
import importlib
import re
import sys
import types
from typing import Any

from typer.core import TyperCommand, TyperGroup

#: What rich's markup parser would take for a tag (as ``rich.markup.escape`` finds them).
_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")


def plain(text: str | None) -> str | None:
    """``text`` with the lines of each paragraph joined and markup-like tags escaped."""
    if not text:
        return text
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = [line.strip() for line in paragraph.splitlines() if line.strip()]
        joined = ""
        for line in lines:
            if not joined:
                joined = line
            elif line.startswith("Example:"):
                joined += "\n" + line
            else:
                joined += " " + line
        paragraphs.append(joined)
    return _TAG.sub(lambda m: f"{m.group(1)}{m.group(1)}\\{m.group(2)}", "\n\n".join(paragraphs))


def _without_type_column(value_type: Any) -> Any:
    """A copy of an argument's value type that rich help shows no ``<str>`` column for (the
    argument's metavar already says what it is: ``TICKET``)."""
    quiet = copy.copy(value_type)
    quiet.__class__ = type(f"Quiet{type(value_type).__name__}", (type(value_type),), {"get_metavar": _no_metavar})
    return quiet


def _no_metavar(self: Any, *args: Any, **kwargs: Any) -> str:
    return ""


def _plain_params(params: Any) -> None:
    """Plain help for each parameter, and a metavar named after the option where none was given
    (``--smtp-port PORT`` rather than the value's Python type)."""
    for param in params or ():
        if getattr(param, "help", None):
            param.help = plain(param.help)
        if getattr(param, "param_type_name", "") == "argument" and param.metavar is not None:
            param.type = _without_type_column(param.type)
        longest = max(getattr(param, "opts", None) or [""], key=len)
        if (
            getattr(param, "param_type_name", "") == "option"
            and param.metavar is None
            and not getattr(param, "is_flag", False)
            and longest.startswith("--")
        ):
            param.metavar = longest.rsplit("-", 1)[-1].upper()


#: Modules ``typer.rich_utils`` imports at its top but uses only in markdown mode and for pretty
#: tracebacks, neither of which we use: with markdown-it, pygments and attrs behind them they are
#: half of what drawing help imports (~40 ms). Until one of them is really used, a stand-in
#: takes its place; using it imports the real module.
_UNUSED_BY_HELP = {"rich.markdown": "Markdown", "rich.traceback": "Traceback"}


def _real_module(module: str) -> Any:
    """The real module behind a stand-in (imported now)."""
    if isinstance(sys.modules.get(module), _StandIn):
        del sys.modules[module]
    return importlib.import_module(module)


class _StandIn(types.ModuleType):
    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # the import system probing (__path__ …): not a use
            raise AttributeError(attribute)
        return getattr(_real_module(self.__name__), attribute)


class _Forward(type):
    """The stand-in's class: making one, or asking it anything, goes to the real class."""

    def __getattr__(cls, attribute: str) -> Any:
        return getattr(getattr(_real_module(cls.__module__), cls.__name__), attribute)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return getattr(_real_module(cls.__module__), cls.__name__)(*args, **kwargs)


def _stand_in(module: str, name: str) -> _StandIn:
    stand_in = _StandIn(module)
    setattr(stand_in, name, _Forward(name, (), {"__module__": module}))
    return stand_in


def _defer_unused_rich_modules() -> None:
    if "typer.rich_utils" in sys.modules:
        return
    for module, name in _UNUSED_BY_HELP.items():
        if module not in sys.modules:
            sys.modules[module] = _stand_in(module, name)


class PlainHelpCommand(TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = plain(kwargs.get("help"))
        kwargs["short_help"] = plain(kwargs.get("short_help"))
        _plain_params(kwargs.get("params"))
        super().__init__(*args, **kwargs)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _defer_unused_rich_modules()
        super().format_help(ctx, formatter)


class PlainHelpGroup(TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["help"] = plain(kwargs.get("help"))
        _plain_params(kwargs.get("params"))
        super().__init__(*args, **kwargs)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _defer_unused_rich_modules()
        super().format_help(ctx, formatter)


def plain_help(app: Any) -> None:
    """Make every command and group of ``app`` (a ``typer.Typer``) draw its help as plain text."""
    for command_info in app.registered_commands:
        if command_info.cls in (None, TyperCommand):
            command_info.cls = PlainHelpCommand
    for group_info in app.registered_groups:
        group_info.cls = PlainHelpGroup
        plain_help(group_info.typer_instance)
