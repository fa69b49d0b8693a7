"""``supportdesk batch``: many commands in one process, one JSON line in and one JSON line out each.

A script that replies to 500 tickets used to start 500 processes, each paying for the
interpreter and the write path's imports (issue 19). ``batch`` reads JSON Lines, one command per
line, with the CLI's own names and arguments::

    {"cmd": "tickets reply", "args": {"ticket": "1042", "body": "Refund sent."}, "id": "r1"}

and runs each one exactly as the command line would (the same click parsing, the same command
body, the same write path and the same permissions), then prints one JSON result per line, in
order::

    {"line": 1, "id": "r1", "ok": true, "exit": 0, "output": "…"}
    {"line": 2, "ok": false, "exit": 3, "error": {"kind": "not_found", "message": "…"}}

``output`` is what the command printed: a JSON value when it printed JSON (``"json": true``),
else its text. A line that fails — malformed JSON, an unknown command, a refused mutation, a
line longer than ``--max-line`` — gets its error (with the exit code the command would have
exited with) and the next line still runs, unless ``--stop-on-error``. ``--dry-run`` runs every
line and rolls every write back.

Consecutive ``tickets …`` lines share one transaction (:mod:`supportdesk.domain.group_commit`),
each write in its own savepoint; their results are held (:class:`_Answers`) and printed once the
COMMIT that holds them succeeded, all as failed when it did not. The group is committed when no
further line is ready on the input (:meth:`_LineReader.ready`), after ``--commit-every`` lines
or ``--commit-ms`` after its first line. Issue 19 asked for a transaction per line; at ~0.5 ms
of COMMIT and plumbing a line, that alone was the whole budget of 2,000 lines a second.
"""

from __future__ import annotations

import io
import json
import math
import os
import select
import stat
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from supportdesk.cli.session import Session
from supportdesk.cli.wiring import command

if TYPE_CHECKING:
    from typer.core import TyperGroup

    from supportdesk.domain.group_commit import Group

#: A line longer than this (bytes) is refused unread: a body is at most 1,000,000 characters.
MAX_LINE = 4 * 1024 * 1024

#: Commands a batch does not run: they serve, open an editor, change this workspace's own
#: settings or stream whole files (run them on their own).
REFUSED = {
    "batch": "a batch cannot run a batch",
    "demo": "builds a whole workspace: run it on its own",
    "serve": "runs a server: run it on its own",
    "login": "asks for a password: run it on its own",
    "sync": "run sync on its own (or let the console's background sync do it)",
    "server": "administers a server's database: run it on its own",
    "config": "changes this workspace's settings: run it on its own",
    "import": "reads whole files: run it on its own",
    "export": "streams whole files: run it on its own",
    "macros edit": "opens an editor: use 'macros import' with a YAML file instead",
}

#: A group is committed after this many lines, or this long after its first line was read (the
#: write lock is not held for long against the console and sync), or as soon as no further
#: line is ready on the input.
GROUP_LINES = 200
GROUP_MS = 50

#: Exit codes (supportdesk.cli.errors) as words, for scripts that branch on them.
KINDS = {1: "partial", 2: "usage", 3: "not_found", 4: "server"}


@dataclass
class LineResult:
    number: int
    ok: bool
    exit: int
    request_id: Any = None
    output: Any = None
    message: str | None = None
    warnings: list[str] | None = None

    def document(self) -> dict[str, Any]:
        found: dict[str, Any] = {"line": self.number}
        if self.request_id is not None:
            found["id"] = self.request_id
        found |= {"ok": self.ok, "exit": self.exit}
        if self.output not in (None, ""):
            found["output"] = self.output
        if self.warnings:
            found["warnings"] = self.warnings
        if not self.ok:
            found["error"] = {"kind": KINDS.get(self.exit, "server"), "message": self.message or "failed"}
        return found


class BatchLineError(Exception):
    """A line the batch refuses before running anything (bad JSON, unknown command …)."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@command()
def batch(
    session: Session,
    source: Annotated[
        str,
        typer.Argument(metavar="[FILE]", help="A JSON Lines file of commands; '-' or nothing reads stdin."),
    ] = "-",
    stop_on_error: Annotated[
        bool, typer.Option("--stop-on-error", help="Stop at the first line that fails (the rest are not run).")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Run every line and roll every write back: what would happen.")
    ] = False,
    max_line: Annotated[
        int,
        typer.Option("--max-line", metavar="BYTES", min=1024, help="Refuse longer lines (default 4 MiB)."),
    ] = MAX_LINE,
    commit_every: Annotated[
        int,
        typer.Option(
            "--commit-every",
            metavar="LINES",
            min=1,
            help="Commit after at most this many lines (default 200; 1: a transaction per line).",
        ),
    ] = GROUP_LINES,
    commit_ms: Annotated[
        int,
        typer.Option(
            "--commit-ms",
            metavar="MS",
            min=1,
            max=10_000,
            help="Commit at most this long after a group's first line (default 50).",
        ),
    ] = GROUP_MS,
) -> None:
    """Run many commands in one process: JSON Lines in, one JSON result per line out.

    Each line is {"cmd": "tickets reply", "args": {"ticket": "1042", "body": "…"}, "id": …}:
    the command's words and its options by their long names (a flag is true, a repeated option
    a list; arguments by name). Each write is atomic: a failing line is rolled back alone and
    reported, and the next one runs. Consecutive lines share a commit; a result is printed once
    its line is committed. Exits 0 when every line succeeded, 1 when some failed.

    Example: supportdesk batch replies.jsonl > results.jsonl
    """
    from supportdesk.cli.errors import PARTIAL, fail
    from supportdesk.cli.output import compact_documents
    from supportdesk.domain.group_commit import Group, grouped

    if source == "-":
        buffer = getattr(sys.stdin, "buffer", None)  # a test's text stdin has none
        stream: IO[bytes] = buffer if buffer is not None else io.BytesIO(sys.stdin.read().encode())
        owned = None
    else:
        try:
            owned = Path(source).expanduser().open("rb")
        except OSError as error:
            fail(f"{source}: {error.strerror or error}")
        stream = owned
    runner = _Runner(session)
    reader = _LineReader(stream, max_line)
    workspace = session.workspace()
    group = Group(workspace)
    grouping = commit_every > 1 and not dry_run  # a rehearsal rolls every line back on its own
    writer = _Answers(sys.stdout, group)
    with ExitStack() as stack:
        if owned is not None:
            stack.callback(owned.close)
        stack.enter_context(workspace.reusing_connections())
        stack.enter_context(compact_documents())  # each document is parsed back: no indent
        if dry_run:  # every line's writes are rolled back, whatever the command asked
            from supportdesk.domain.write import rehearsing

            stack.enter_context(rehearsing())
        if grouping:
            stack.enter_context(grouped(group))
        for number, raw in reader:
            planned = runner.plan(number, raw)
            if isinstance(planned, LineResult):
                writer.hold(planned)  # refused before it ran: printed in its turn
            elif grouping and planned.groupable:
                writer.hold(writer.run_grouped(runner, planned))
            else:  # on its own, as before: the lines before it are committed and answered first
                writer.flush()
                writer.hold(runner.invoke(planned))
            stop = stop_on_error and writer.failed
            if stop or writer.held >= commit_every or writer.age() >= commit_ms / 1000 or not reader.ready():
                writer.flush()
            if stop:
                break
        writer.flush()
    if writer.failed:
        raise typer.Exit(PARTIAL)


#: Commands whose lines may share a commit: they write only through the write path (a savepoint
#: each) and read only through the workspace's connections. Anything else first commits and
#: answers the lines before it, then runs on its own: an erasure folds the log after its commit;
#: `tickets list` (a semantic term stores missing vectors from a connection of its own, which
#: would wait on the group's lock), `similar` and `triage` (the assist models' caches),
#: `attachment` (fetches from the server), the sla, rules and import commands (state of their own).
GROUPED = frozenset(
    {
        "tickets note",
        "tickets reply",
        "tickets create",
        "tickets update",
        "tickets assign",
        "tickets tag",
        "tickets untag",
        "tickets close",
        "tickets reopen",
        "tickets merge",
        "tickets link",
        "tickets log-call",
        "tickets snooze",
        "tickets unsnooze",
        "tickets time",
        "tickets show",
        "tickets history",
        "tickets attachments",
    }
)
#: ``--attach`` stages files in the attachment store before the write: not held in a group.
#: A rehearsal (``--dry-run``) opens and rolls back a transaction of its own, which a group's
#: write lock would keep waiting (same process, another connection): not held in a group either.
#: Nor is a ``--query`` (``tickets update``): a ``~"…"`` term stores missing vectors from a
#: connection of its own, as in ``tickets list``, and waited its 5 s busy timeout on the group.
UNGROUPED_PARAMS = frozenset({"attach", "dry_run", "query"})


class _Answers:
    """Results held until the commit that holds their lines, then printed in order.

    A result is never printed before its line's writes are committed; when the commit fails, or
    SQLite rolled the group's transaction back under a later line, every held line is answered
    as failed with the reason, and none of them is applied."""

    def __init__(self, out: IO[str], group: Group) -> None:
        self.out = out
        self.group = group
        self._held: list[LineResult] = []
        self._since = 0.0
        self.failed = False

    @property
    def held(self) -> int:
        return len(self._held)

    def age(self) -> float:
        return time.monotonic() - self._since if self._held else 0.0

    def hold(self, result: LineResult) -> None:
        if not self._held:
            self._since = time.monotonic()
        self._held.append(result)
        if not result.ok:
            self.failed = True

    def run_grouped(self, runner: _Runner, planned: _Planned) -> LineResult:
        try:
            self.group.begin()  # before the command: every connection it opens is the group's
        except Exception as error:
            return LineResult(planned.number, False, _code(error), planned.request_id, message=_sentence(error))
        result = runner.invoke(planned)
        lost = self.group.take_lost()
        if lost is not None:  # SQLite rolled everything back under this line: the held lines too
            self._fail_held(f"not applied: the transaction it shared was rolled back ({_sentence(lost)})", lost)
        return result

    def flush(self) -> None:
        try:
            self.group.commit()
        except Exception as error:
            self._fail_held(f"not applied: the commit of its group of lines failed ({_sentence(error)})", error)
        for result in self._held:
            self.out.write(_result_line(result.document()))
            self.out.write("\n")
        self.out.flush()
        self._held.clear()

    def _fail_held(self, message: str, error: BaseException) -> None:
        for result in self._held:
            if result.ok:
                result.ok, result.exit, result.output, result.message = False, _code(error), None, message
        self.failed = self.failed or bool(self._held)


def _code(error: BaseException) -> int:
    from supportdesk.cli.errors import exit_code_for

    return exit_code_for(error) or 4


def _result_line(document: dict[str, Any]) -> str:
    """One result as JSON, with every character a terminal could act on (C1 controls, bidi
    overrides) or stdout could not encode (a lone surrogate, valid JSON as "\\ud800") written as
    a JSON escape: the line's ``id`` comes back as it was given, and a surrogate in it ended
    the whole batch with a UnicodeEncodeError, the lines after it never run."""
    from supportdesk.domain.text_safety import unsafe_characters

    text = json.dumps(document, ensure_ascii=False)
    return unsafe_characters().sub(lambda found: json.dumps(found.group())[1:-1], text)


class _LineReader:
    """Numbered non-blank lines; one longer than ``limit`` is skipped unread, as an error.

    :meth:`ready` says, without waiting, whether another line (or the end) can be read at once:
    the batch commits and answers what it holds when not, so a script that writes one line and
    waits for its answer gets it. A pipe or terminal is read through its file descriptor (what is
    buffered is known; ``select`` tells whether more is there); a file, or a test's in-memory
    stream, is always ready."""

    CHUNK = 64 * 1024

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self._fd: int | None = None
        try:
            fd = stream.fileno()
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                self._fd = fd
        except (OSError, ValueError, io.UnsupportedOperation):
            pass
        self._buffer = bytearray()
        self._scanned = 0
        self._ended = False

    def ready(self) -> bool:
        """True when a whole line (or the end of the input) can be read without waiting. Bytes on
        the pipe are not enough: a producer that wrote half its next line and stalls would keep
        the group's write lock and the earlier answers waiting, so what is there is read in."""
        if self._fd is None or self._ended or b"\n" in self._buffer[self._scanned :]:
            return True
        while True:
            try:
                readable, _, _ = select.select([self._fd], [], [], 0)
            except (OSError, ValueError):
                return True
            if not readable:
                return False
            data = self._read()
            if not data:
                self._ended = True
                return True
            start = len(self._buffer)
            self._buffer += data
            if b"\n" in data or len(self._buffer) > self.limit:
                return True
            self._scanned = start + len(data)

    def __iter__(self) -> Iterator[tuple[int, bytes | BatchLineError]]:
        number = 0
        while True:
            chunk = self._next()
            if chunk is None:
                return
            number += 1
            if chunk is _TOO_LONG:
                yield number, BatchLineError(f"line {number} is longer than {self.limit:,} bytes (--max-line)")
                continue
            if chunk.strip():
                yield number, chunk

    def _next(self) -> bytes | None:
        if self._fd is None:
            return self._next_from_stream()
        while True:
            end = self._buffer.find(b"\n", self._scanned)
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                self._scanned = 0
                return _TOO_LONG if end > self.limit else line
            if len(self._buffer) > self.limit:  # drop it piece by piece up to its end
                self._buffer.clear()
                self._scanned = 0
                self._skip_rest()
                return _TOO_LONG
            self._scanned = len(self._buffer)
            data = b"" if self._ended else self._read()  # after the end, never wait for a second one
            if not data:
                self._ended = True
                if self._buffer:
                    line = bytes(self._buffer)
                    self._buffer.clear()
                    self._scanned = 0
                    return line
                return None
            self._buffer += data

    def _read(self) -> bytes:
        assert self._fd is not None
        while True:
            try:
                return os.read(self._fd, self.CHUNK)
            except InterruptedError:  # pragma: no cover - retried by Python itself since 3.5
                continue

    def _skip_rest(self) -> None:
        while True:
            data = self._read()
            if not data:
                self._ended = True
                return
            end = data.find(b"\n")
            if end >= 0:
                self._buffer += data[end + 1 :]
                return

    def _next_from_stream(self) -> bytes | None:
        chunk = self.stream.readline(self.limit + 1)
        if not chunk:
            return None
        if len(chunk) > self.limit and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):  # drop the rest of the line, piece by piece
                chunk = self.stream.readline(1024 * 1024)
            return _TOO_LONG
        return chunk


#: What :meth:`_LineReader._next` returns for a line over the limit.
_TOO_LONG = b"\0too long"


@dataclass
class _Planned:
    """A line parsed and its command found, not run yet."""

    number: int
    request_id: Any
    target: Any
    words: list[str]
    argv: list[str]
    groupable: bool


class _Runner:
    """Runs lines on one session: the workspace, its engine and the command tree are made once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._root: TyperGroup | None = None
        #: Commands found by their words, and each command's options by the names a line may use.
        self._found: dict[str, Any] = {}
        self._names: dict[Any, dict[str, Any]] = {}
        #: One capture for every line's stdout and stderr, emptied after each: click keeps its
        #: wrapper of a stream per stream object, so a new StringIO a line made it build one again.
        self._stdout = io.StringIO()
        self._stderr = io.StringIO()
        self._stdin = _empty_stdin()

    # --- a line -------------------------------------------------------------------------

    def run_line(self, number: int, raw: bytes | BatchLineError) -> LineResult:
        planned = self.plan(number, raw)
        return planned if isinstance(planned, LineResult) else self.invoke(planned)

    def plan(self, number: int, raw: bytes | BatchLineError) -> _Planned | LineResult:
        """The line parsed and its command found, or its error result."""
        request_id = None
        try:
            if isinstance(raw, BatchLineError):
                raise raw
            request = _parse(raw)
            request_id = request.get("id")
            words, args = _command_words(request)
            target = self._find(words)
            by_name = self._option_names(target)
            argv = _argv(target, args, by_name)
        except BatchLineError as error:
            return LineResult(number, False, error.code, request_id, message=error.message)
        # by the parameter each key names (``dry-run``, ``dry_run``: one parameter), when it is set;
        # by identity, not ``in``: ``0 == False``, and ``"attach": 0`` names the file ``0``
        used = {by_name[key].name for key, value in args.items() if not _unset(value)}
        groupable = " ".join(words) in GROUPED and not UNGROUPED_PARAMS.intersection(used)
        return _Planned(number, request_id, target, words, argv, groupable)

    def invoke(self, planned: _Planned) -> LineResult:
        return self._invoke(planned.number, planned.request_id, planned.target, planned.words, planned.argv)

    def _invoke(self, number: int, request_id: Any, target: Any, words: list[str], argv: list[str]) -> LineResult:
        from supportdesk.cli.errors import exit_code_for

        stdout, stderr = self._captures()
        code = 0
        message: str | None = None
        saved = sys.stdout, sys.stderr, sys.stdin
        # swapped by hand: what redirect_stdout/redirect_stderr in an ExitStack did, without them
        sys.stdout, sys.stderr, sys.stdin = stdout, stderr, self._stdin
        try:
            returned = target.main(
                argv, prog_name=f"supportdesk {' '.join(words)}", standalone_mode=False, obj=self.session
            )
            code = returned if isinstance(returned, int) else 0
        except typer.Exit as done:
            code = done.exit_code
        except typer.TyperException as error:  # the command line's own: a bad value, a missing option
            code, message = int(error.exit_code), error.format_message()
        except typer.Abort:
            code, message = 1, "aborted"
        except KeyboardInterrupt:
            raise
        except Exception as error:
            code = exit_code_for(error)
            message = _sentence(error)
        finally:
            sys.stdout, sys.stderr, sys.stdin = saved
        printed, complained = stdout.getvalue(), stderr.getvalue()
        for capture in (stdout, stderr):
            capture.seek(0)
            capture.truncate()
        errors, warnings = _diagnostics(complained)
        if code and message is None:
            message = errors[-1] if errors else f"exited with {code}"
        return LineResult(
            number,
            code == 0,
            code,
            request_id,
            output=_output(printed),
            message=message,
            warnings=warnings or None,
        )

    def _captures(self) -> tuple[io.StringIO, io.StringIO]:
        """The line's stdout and stderr captures (new ones if a command closed them), and a fresh
        empty stdin if a command closed or wrote to it."""
        if self._stdout.closed:
            self._stdout = io.StringIO()
        if self._stderr.closed:
            self._stderr = io.StringIO()
        if self._stdin.used():
            self._stdin = _empty_stdin()
        return self._stdout, self._stderr

    def _find(self, words: list[str]) -> Any:
        joined = " ".join(words)
        found = self._found.get(joined)
        if found is None:
            found = self._found[joined] = self._look_up(words, joined)
            _reuse_parser(found)
        return found

    def _option_names(self, target: Any) -> dict[str, Any]:
        names = self._names.get(target)
        if names is None:
            names = self._names[target] = _option_names(target)
        return names

    def _look_up(self, words: list[str], joined: str) -> Any:
        from typer.core import TyperGroup

        for refused, why in REFUSED.items():
            if joined == refused or joined.startswith(refused + " "):
                raise BatchLineError(f"'{refused}' is not run in a batch: {why}")
        node: Any = self._tree()
        for depth, word in enumerate(words):
            if not isinstance(node, TyperGroup):
                raise BatchLineError(f"unknown command {joined!r}: '{' '.join(words[:depth])}' takes no subcommand")
            child = node.commands.get(word)
            if child is None or word.startswith("-"):
                raise BatchLineError(f"unknown command {joined!r} (see 'supportdesk --help')")
            node = child
        if isinstance(node, TyperGroup):
            raise BatchLineError(f"{joined!r} is a group of commands: name one of {', '.join(sorted(node.commands))}")
        return node

    def _tree(self) -> TyperGroup:
        if self._root is None:
            import typer.main
            from typer.core import TyperGroup

            from supportdesk.cli.startup import running_app, whole_tree

            app = running_app()
            if app is None:  # a body called outside the command line (a test of its own)
                raise BatchLineError("batch runs from the supportdesk command line", 4)
            with whole_tree():
                root = typer.main.get_command(app)
            assert isinstance(root, TyperGroup)
            self._root = root
        return self._root


def _reuse_parser(target: Any) -> None:
    """Make ``target`` build its option parser once per batch, not once per line.

    click's ``make_parser`` builds an ``_OptionParser`` of every parameter for each invocation
    (~2 % of a batched note). What it builds depends on the command's parameters and on its
    context's settings (``token_normalize_func``, ``allow_interspersed_args``,
    ``ignore_unknown_options``, the help option's names) — the same for every line, as a batch
    makes each line's context from the command alone, with no parent. The parser keeps no state
    between ``parse_args`` calls but the context it reports errors with (``NoSuchOption``'s
    usage), which is set to the line's own before each use: a line is parsed, and its errors
    worded, exactly as by a parser of its own (``tests/cli/test_batch_parsing.py``)."""
    made: list[Any] = []
    build = target.make_parser

    def make_parser(ctx: Any) -> Any:
        if not made:
            made.append(build(ctx))
        parser = made[0]
        parser.ctx = ctx
        return parser

    target.make_parser = make_parser


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"{text[:40]} is past what a number can be")
    return number


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        # NaN, Infinity and 1e999 are Python's, not JSON's: an id of one came back in the result
        # as a word no strict JSON reader takes, and an argument of one as "nan" or "inf"
        request = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except (UnicodeDecodeError, ValueError) as error:
        raise BatchLineError(f"not a JSON object: {error}") from None
    except RecursionError:  # "[[[[…" nested deeper than the parser goes: it would end the batch
        raise BatchLineError("not a JSON object: nested too deeply") from None
    if not isinstance(request, dict):
        raise BatchLineError('not a JSON object: each line is {"cmd": "…", "args": {…}}')
    unknown = set(request) - {"cmd", "args", "id"}
    if unknown:
        raise BatchLineError(f"unknown key {sorted(unknown)[0]!r}: a line has cmd, args and id")
    return request


def _command_words(request: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    name = request.get("cmd")
    if not isinstance(name, str) or not name.split():
        raise BatchLineError('"cmd" must name a command, such as "tickets reply"')
    args = request.get("args", {})
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise BatchLineError('"args" must be an object of the command\'s options, such as {"body": "…"}')
    return name.split(), args


def _option_names(target: Any) -> dict[str, Any]:
    """A command's parameters by every name a line may give them (made once per command)."""
    from typer.core import TyperArgument

    by_name: dict[str, Any] = {}
    for param in target.params:
        if param.name:
            by_name[param.name] = param
        if isinstance(param, TyperArgument) and param.metavar:  # as --help shows it: [TICKET]…
            by_name.setdefault(param.metavar.strip("[]….").lower().replace("-", "_"), param)
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                by_name[opt[2:]] = param
                by_name[opt[2:].replace("-", "_")] = param
    return by_name


def _argv(target: Any, args: dict[str, Any], by_name: dict[str, Any]) -> list[str]:
    """The command line the arguments stand for: options by their long name, arguments in order."""
    from typer.core import TyperArgument

    options: list[str] = []
    positional: dict[str, list[str]] = {}
    for key, value in args.items():
        param = by_name.get(key) if isinstance(key, str) else None
        if param is None or (param.name or "").startswith("_"):
            raise BatchLineError(f"{key!r} is not an option of this command (see its --help)")
        values = value if isinstance(value, list) else [value]
        if isinstance(param, TyperArgument):
            positional[param.name or key] = [_text(key, v) for v in values if v is not None]
            continue
        flag = param.opts[0] if param.opts[0].startswith("--") else max(param.opts, key=len)
        if param.is_flag:
            if not isinstance(value, bool):
                raise BatchLineError(f"{key!r} is a flag: true or false")
            if value:
                options.append(flag)
            elif param.secondary_opts:
                options.append(param.secondary_opts[0])
            continue
        if isinstance(value, list) and not param.multiple and param.nargs == 1:
            raise BatchLineError(f"{key!r} takes one value, not a list")
        for item in values:
            if item is None:
                continue
            options += [flag, _text(key, item)]
    ordered: list[str] = []
    for param in target.params:
        if isinstance(param, TyperArgument) and param.name in positional:
            ordered += positional[param.name]
    # "--" ends the options: an argument value such as "-5" or "--help" stays a value
    return [*options, "--", *ordered] if ordered else options


def _unset(value: Any) -> bool:
    """A line's argument that puts nothing on the command line: null, false or an empty list."""
    return value is None or value is False or (isinstance(value, list) and not value)


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BatchLineError(f"{key!r}: give a string or a number")
    return str(value)


def _output(text: str) -> Any:
    """What the command printed: its JSON when it printed one document, else the text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except ValueError:
            pass
    return text


def _diagnostics(text: str) -> tuple[list[str], list[str]]:
    errors: list[str] = []
    warnings: list[str] = []
    for line in text.splitlines():
        if line.startswith("supportdesk: error: "):
            errors.append(line.removeprefix("supportdesk: error: "))
        elif line.startswith("supportdesk: warning: "):
            warnings.append(line.removeprefix("supportdesk: warning: "))
        elif line.strip():
            warnings.append(line.strip())
    return errors, warnings


def _sentence(error: BaseException) -> str:
    """The one line ``supportdesk.cli.errors.report`` would print, without printing it."""
    from supportdesk.cli.errors import missing_server_extra
    from supportdesk.domain.text_safety import make_visible
    from supportdesk.errors import SupportdeskError

    extra = missing_server_extra(error)
    if extra:
        return extra
    if isinstance(error, SupportdeskError | OSError):
        text = str(error) or type(error).__name__
    else:
        text = f"unexpected {type(error).__name__}: {error} (a bug in supportdesk, please report it)"
    return make_visible(text).replace("\n", " ")


class _NoStdin(io.TextIOWrapper):
    """An empty stdin that is no terminal: a line cannot read the batch's own input."""

    def __init__(self) -> None:
        self._bytes = io.BytesIO(b"")
        super().__init__(self._bytes, encoding="utf-8")

    def isatty(self) -> bool:
        return False

    def used(self) -> bool:
        """Closed, or written to by a line: the next line gets a new one."""
        return self.closed or self._bytes.tell() != 0


def _empty_stdin() -> _NoStdin:
    return _NoStdin()
