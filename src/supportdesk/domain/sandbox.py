"""The macro sandbox: Jinja2's immutable sandbox with counted limits on work, size and time.

Any agent can write a macro, and a macro's template runs whenever somebody applies it, so a
template must never be able to stall a process or fill its memory. Jinja2's sandbox already
refuses unsafe attributes (``__class__``, ``mro`` …) and, in its immutable form, any change to a
list or a dict; on top of it every render here has a :class:`Budget`:

* **steps** — each loop iteration, each call (a macro calling itself, ``range``, a method) and
  each filter is a step; more than :data:`MAX_STEPS` stops the render;
* **characters written** — every piece a template writes (``{{ … }}`` and its text, at the top,
  inside a ``{% set %}`` block, a macro or a ``{% call %}``) is counted; more than
  :data:`MAX_OUTPUT` stops it;
* **size of any value** — a string, list or dict built by an operator (``*``, ``+``, ``~``,
  ``%``, ``**``), a literal, a filter or a call may not exceed :data:`MAX_OUTPUT` characters or
  items, checked *before* the work where the work itself would be the harm (``"x" * 10**9``,
  ``"{:>999999999}".format(x)``, ``|center(10**9)``, a ``|join`` with a huge separator);
* **depth** — calls inside calls (``loop(…)`` of a recursive loop) beyond :data:`MAX_DEPTH`;
* **time** — :data:`MAX_SECONDS` of wall-clock time, checked at every step, as a backstop.

The first three are counts, so a hostile template fails the same way on any machine, in
milliseconds (``bench/macro_render.py`` measures it). The steps and characters are counted by
rewriting the parsed template before it is compiled (:class:`_Guard`): each ``for`` iterates
through a counting filter, each written piece passes a counting filter, each ``~`` and each
literal list, tuple or dict is sized. Those filters take the render context, which keeps Jinja2
from running them at compile time.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from functools import lru_cache, wraps
from itertools import chain
from typing import Any

from supportdesk.domain.errors import TemplateError

#: Loop iterations, calls and filters one render may run.
MAX_STEPS = 10_000
#: Characters one render may write (in all), and the largest string, list or dict it may build.
MAX_OUTPUT = 100_000
#: Calls inside calls (a recursive loop calling ``loop(…)``, a macro calling itself).
MAX_DEPTH = 50
#: Wall-clock seconds one render may take (a backstop: the counts above stop hostile templates first).
MAX_SECONDS = 0.5
#: The largest width or count argument (``center``, ``indent``, ``ljust``, ``batch`` …).
MAX_WIDTH = 1_000

#: A printf or str.format width or precision of four digits or more, or one taken from the arguments.
_WIDE_FORMAT = re.compile(r"%[#0\- +]*(\*|\d{4,})|%[#0\- +]*\d*\.(\*|\d{4,})|\{[^{}]*\d{4,}[^{}]*\}|\{[^{}]*\{")
#: str methods whose integer arguments are widths or counts.
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class LimitExceeded(TemplateError):
    """A template went over one of the sandbox's limits."""


class Budget:
    """What one render has spent so far."""

    def __init__(self) -> None:
        self.steps = 0
        self.written = 0
        self.depth = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        #: Sizes of containers already measured (kept alive so their ids stay theirs).
        self.sizes: dict[int, tuple[Any, int]] = {}

    def step(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise LimitExceeded(
                f"the macro stopped after {MAX_STEPS:,} steps: a loop too long, or a macro calling itself",
                field="body",
            )
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"the macro took longer than {MAX_SECONDS:g} s to render", field="body")

    def write(self, text: str) -> None:
        self.written += len(text)
        if self.written > MAX_OUTPUT:
            raise LimitExceeded(f"the macro writes more than {MAX_OUTPUT:,} characters", field="body")

    def size(self, value: Any) -> int:
        """Characters of a string; items of a container, counted through its nested containers
        and strings (a list holding one list twice counts it twice: printing it would)."""
        kind = type(value)
        if kind is str:
            return len(value)
        if kind not in _CONTAINERS:
            return len(value) if isinstance(value, str) else 1
        known = self.sizes.get(id(value))
        if known is not None and known[0] is value:
            return known[1]
        total = len(value)
        for item in chain.from_iterable(value.items()) if kind is dict else value:
            inner = type(item)
            if inner is str:
                total += len(item)
            elif inner in _CONTAINERS:
                total += self.size(item)
            if total > MAX_OUTPUT:
                break
        self.sizes[id(value)] = (value, total)
        return total


_CONTAINERS = frozenset({list, tuple, dict, set, frozenset})
_BUDGET: ContextVar[Budget | None] = ContextVar("supportdesk_macro_budget", default=None)


def _budget() -> Budget:
    """This render's budget (a fresh, unlimited-in-time one when compiling or used alone)."""
    return _BUDGET.get() or Budget()


def _too_big(what: str) -> LimitExceeded:
    return LimitExceeded(f"the macro builds {what} larger than {MAX_OUTPUT:,} characters or items", field="body")


def _checked(value: Any, budget: Budget | None = None) -> Any:
    if (budget or _budget()).size(value) > MAX_OUTPUT:
        raise _too_big("a value")
    return value


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (str, list, tuple, dict)) else 1


def _width(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WIDTH:
        raise LimitExceeded(f"a width or count of {value:,} is over the macro limit of {MAX_WIDTH:,}", field="body")


def _format_string(text: Any) -> None:
    if isinstance(text, str) and _WIDE_FORMAT.search(text):
        raise LimitExceeded(
            f"a format width or precision over {MAX_WIDTH - 1:,} (or taken from the arguments) is refused",
            field="body",
        )


# --- filters ------------------------------------------------------------------------------------


def _before_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Refuse, before running it, a filter call whose *work* would be the harm; return its value
    (a joined iterable is read into a list first, so it can be measured)."""
    size = _length(value)
    if name in ("center", "batch", "slice"):
        for argument in (*args[:1], kwargs.get("width"), kwargs.get("linecount"), kwargs.get("slices")):
            _width(argument)
    elif name == "indent":
        width = args[0] if args else kwargs.get("width", 4)
        _width(width if isinstance(width, int) else len(str(width)))
        lines = str(value).count("\n") + 1
        if lines * (width if isinstance(width, int) else len(str(width))) > MAX_OUTPUT:
            raise _too_big("an indented text")
    elif name == "wordwrap":
        wrap = args[2] if len(args) > 2 else kwargs.get("wrapstring")
        if wrap is not None and len(str(wrap)) * (size + 1) > MAX_OUTPUT:
            raise _too_big("a wrapped text")
    elif name == "replace":
        old = str(args[0] if args else kwargs.get("old", ""))
        new = str(args[1] if len(args) > 1 else kwargs.get("new", ""))
        text = str(value)
        found = len(text) + 1 if old == "" else text.count(old)
        if len(text) + found * len(new) > MAX_OUTPUT:
            raise _too_big("a replaced text")
    elif name == "join":
        value = list(value) if not isinstance(value, (str, list, tuple)) else value
        separator = str(args[0] if args else kwargs.get("d", ""))
        if len(value) * len(separator) > MAX_OUTPUT:
            raise _too_big("a joined text")
    elif name == "format":
        _format_string(value)
    elif name == "urlize":
        extra = sum(len(str(kwargs.get(k) or "")) for k in ("target", "rel")) + sum(
            len(str(a)) for a in args if isinstance(a, str)
        )
        if size * extra // 4 > MAX_OUTPUT:
            raise _too_big("a linked text")
    elif name == "sum":
        start = args[1] if len(args) > 1 else kwargs.get("start", 0)
        if not isinstance(start, (int, float)):
            raise LimitExceeded("sum adds numbers only in a macro", field="body")
    return value


def _guard_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` with a step counted, its harmful arguments refused and its result sized."""
    offset = 1 if getattr(function, "jinja_pass_arg", None) is not None else 0

    @wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.step()
        if len(args) > offset:
            value = _before_filter(name, args[offset], args[offset + 1 :], kwargs)
            args = (*args[:offset], value, *args[offset + 1 :])
        return _checked(function(*args, **kwargs), budget)

    return guarded


def _counted_loop(_context: Any, iterable: Iterable[Any]) -> Iterator[Any]:
    budget = _budget()
    for item in iterable:
        budget.step()
        yield item


def _written(_context: Any, value: Any) -> Any:
    text = value if isinstance(value, str) else str(value)
    _budget().write(text)
    return text


def _concatenated(_context: Any, parts: list[Any]) -> str:
    texts = [str(part) for part in parts]
    if sum(len(text) for text in texts) > MAX_OUTPUT:
        raise _too_big("a text")
    return "".join(texts)


def _sized(_context: Any, value: Any) -> Any:
    return _checked(value)


def _internal(function: Callable[..., Any]) -> Callable[..., Any]:
    from jinja2 import pass_context

    return pass_context(function)


#: Filters the rewriting adds (their names start with "sd_", which no built-in filter has).
_INTERNAL = {
    "sd_loop": _counted_loop,
    "sd_write": _written,
    "sd_concat": _concatenated,
    "sd_sized": _sized,
}


def _limited_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_STEPS:
        raise LimitExceeded(f"range() of more than {MAX_STEPS:,} numbers in a macro", field="body")
    return numbers


# --- the environment ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def environment() -> Any:
    """The shared sandboxed environment (its filters guarded, ``range`` limited, no ``lipsum``)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class MacroSandbox(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            budget = _budget()
            if operator == "**":
                if isinstance(left, int) and isinstance(right, int) and right > 0 and left.bit_length() * right > 4096:
                    raise LimitExceeded("a power that large is refused in a macro", field="body")
            elif operator == "*":
                for sequence, count in ((left, right), (right, left)):
                    repeats = isinstance(count, int) and isinstance(sequence, (str, list, tuple))
                    if repeats and budget.size(sequence) * count > MAX_OUTPUT:
                        raise _too_big("a repeated value")
                if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > 4096:
                    raise LimitExceeded("a product that large is refused in a macro", field="body")
            elif operator == "+":
                if isinstance(left, (str, list, tuple)) and budget.size(left) + budget.size(right) > MAX_OUTPUT:
                    raise _too_big("a sum")
            elif operator == "%" and isinstance(left, str):
                _format_string(left)
            result = super().call_binop(context, operator, left, right)
            return _checked(result, budget) if operator in ("%", "**") else result

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            budget = _budget()
            budget.step()
            # the sandbox hands out str.format wrapped: look through the wrapper for the string
            method = getattr(__obj, "__wrapped__", __obj)
            owner = getattr(method, "__self__", None)
            if isinstance(owner, str):
                name = getattr(method, "__name__", "")
                if name in _WIDTH_METHODS:
                    for argument in (*args, *kwargs.values()):
                        _width(argument)
                elif name in ("format", "format_map"):
                    _format_string(owner)
                elif name == "replace" and len(args) >= 2:
                    found = len(owner) + 1 if args[0] == "" else owner.count(str(args[0]))
                    if len(owner) + found * len(str(args[1])) > MAX_OUTPUT:
                        raise _too_big("a replaced text")
                elif name == "join" and args:
                    items = list(args[0])
                    if len(items) * len(owner) > MAX_OUTPUT:
                        raise _too_big("a joined text")
                    args = (items, *args[1:])
            budget.depth += 1
            if budget.depth > MAX_DEPTH:
                raise LimitExceeded(f"the macro calls itself more than {MAX_DEPTH} levels deep", field="body")
            try:
                return _checked(super().call(__context, __obj, *args, **kwargs), budget)
            finally:
                budget.depth -= 1

    sandbox = MacroSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    sandbox.filters = {name: _guard_filter(name, function) for name, function in sandbox.filters.items()}
    sandbox.filters.update({name: _internal(function) for name, function in _INTERNAL.items()})
    sandbox.globals.pop("lipsum", None)
    sandbox.globals["range"] = _limited_range
    return sandbox


def _guard(tree: Any) -> Any:
    """Rewrite a parsed template so its loops, writes, ``~`` and literals are counted or sized."""
    from jinja2 import nodes
    from jinja2.visitor import NodeTransformer

    def through(name: str, node: Any) -> Any:
        return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)

    class Guard(NodeTransformer):
        # Jinja2 dispatches on the node's class name, hence the names.
        def visit_For(self, node: Any) -> Any:  # noqa: N802
            self.generic_visit(node)
            node.iter = through("sd_loop", node.iter)
            return node

        def visit_Output(self, node: Any) -> Any:  # noqa: N802
            self.generic_visit(node)
            node.nodes = [through("sd_write", child) for child in node.nodes]
            return node

        def visit_Concat(self, node: Any) -> Any:  # noqa: N802
            self.generic_visit(node)
            return through("sd_concat", nodes.List(list(node.nodes), lineno=node.lineno))

        def _literal(self, node: Any) -> Any:
            self.generic_visit(node)
            if getattr(node, "ctx", "load") != "load":
                return node
            return through("sd_sized", node)

        visit_List = visit_Tuple = visit_Dict = _literal  # noqa: N815

    return Guard().visit(tree)


@lru_cache(maxsize=256)
def compiled(template: str) -> Any:
    """The template parsed, guarded and compiled (cached: the same macro renders often)."""
    return environment().from_string(_guard(environment().parse(template)))


def run(template: str, context: dict[str, Any]) -> str:
    """Render ``template`` under a fresh :class:`Budget`; a limit is a :class:`LimitExceeded`.

    The root render function is called directly rather than through ``Template.render``, whose
    error path rewrites the whole traceback into template lines — for a template that recursed
    a few hundred levels deep that alone took tens of milliseconds. Errors come out as they are.
    """
    template_object = compiled(template)
    token = _BUDGET.set(Budget())
    try:
        return "".join(template_object.root_render_func(template_object.new_context(context)))
    finally:
        _BUDGET.reset(token)
