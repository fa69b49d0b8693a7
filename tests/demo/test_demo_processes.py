"""The demo's ticket rows made in forked processes (``supportdesk.demo.forked``): the same rows as
made in one process, and clean failures — no process left behind, an empty workspace."""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from supportdesk.demo import forked, generator
from supportdesk.demo.generator import build_demo
from supportdesk.store.workspace import Workspace
from tests.conftest import DEMO_NOW
from tests.demo.test_demo import fingerprint, fresh

pytestmark = pytest.mark.skipif(not forked.available(), reason="no fork on this platform")


def test_the_rows_made_in_other_processes_are_the_rows_made_in_one(template_workspace: Path, tmp_path: Path) -> None:
    # 1,234 tickets: three batches between the processes, the last one short
    here = fresh(template_workspace, tmp_path / "here")
    there = fresh(template_workspace, tmp_path / "there")
    build_demo(here, tickets=1_234, seed=11, now=DEMO_NOW, pipeline=False)
    summary = build_demo(there, tickets=1_234, seed=11, now=DEMO_NOW, pipeline=True)
    assert fingerprint(here) == fingerprint(there)
    assert summary.tickets == 1_234 + 6
    assert multiprocessing.active_children() == []


class _Pids:
    """Records the pid of every process that makes rows (forked children write to a file)."""

    def __init__(self, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.path = path
        main_stream, service_stream = generator.DemoBuilder._ticket_batches, generator.DemoBuilder._with_service_rows

        def batches(builder: generator.DemoBuilder, *args: object) -> Iterator[object]:
            self.note()
            yield from main_stream(builder, *args)  # type: ignore[arg-type]

        def service(builder: generator.DemoBuilder, batch: object) -> object:
            self.note()
            return service_stream(builder, batch)  # type: ignore[arg-type]

        monkeypatch.setattr(generator.DemoBuilder, "_ticket_batches", batches)
        monkeypatch.setattr(generator.DemoBuilder, "_with_service_rows", service)

    def note(self) -> None:
        with self.path.open("a") as out:
            out.write(f"{os.getpid()}\n")

    def others(self) -> set[int]:
        return {int(line) for line in self.path.read_text().split()} - {os.getpid()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def assert_empty(workspace: Workspace) -> None:
    with closing(workspace.connect()) as connection:
        assert connection.execute("SELECT count(*) FROM ticket").fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM message").fetchone()[0] == 0
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_ctrl_c_while_inserting_ends_both_producers_and_leaves_the_workspace_empty(
    template_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = _Pids(tmp_path / "pids", monkeypatch)

    def interrupt_after_the_first_batch(stage: str, done: int, _total: int) -> None:
        if stage == "tickets" and done > 0:
            raise KeyboardInterrupt

    workspace = fresh(template_workspace, tmp_path / "ws")
    with pytest.raises(KeyboardInterrupt):
        build_demo(
            workspace, tickets=3_000, seed=3, now=DEMO_NOW, pipeline=True, progress=interrupt_after_the_first_batch
        )
    producers = pids.others()
    assert len(producers) == 2  # the main stream's and the service stream's processes
    assert not any(alive(pid) for pid in producers)  # ended and reaped before the error went on
    assert multiprocessing.active_children() == []
    assert_empty(workspace)
    build_demo(workspace, tickets=50, seed=3, now=DEMO_NOW, pipeline=True)  # and it can be built again


def test_a_producer_that_fails_raises_its_error_here_and_leaves_the_workspace_empty(
    template_workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pids = _Pids(tmp_path / "pids", monkeypatch)
    made = generator.DemoBuilder._ticket_batches

    def failing(builder: generator.DemoBuilder, *args: object) -> Iterator[object]:
        for number, batch in enumerate(made(builder, *args)):  # type: ignore[arg-type]
            if number == 2:
                raise ValueError("no more tickets today")
            yield batch

    monkeypatch.setattr(generator.DemoBuilder, "_ticket_batches", failing)
    workspace = fresh(template_workspace, tmp_path / "ws")
    with pytest.raises(forked.ProducerFailed, match="ValueError: no more tickets today"):
        build_demo(workspace, tickets=3_000, seed=3, now=DEMO_NOW, pipeline=True)
    assert not any(alive(pid) for pid in pids.others())
    assert multiprocessing.active_children() == []
    assert_empty(workspace)


def _dies() -> Iterator[int]:
    yield 1
    os._exit(3)


def test_a_producer_killed_without_a_word_is_an_error_not_a_hang() -> None:
    batches = forked.forked(_dies, lambda: None)
    with closing(batches):
        assert next(batches) == 1
        with pytest.raises(forked.ProducerFailed, match="exit code 3"):
            next(batches)
    assert multiprocessing.active_children() == []


def _endless() -> Iterator[str]:
    while True:
        yield "x" * 1_000_000  # more than a pipe holds: the producer is blocked writing it


def test_stopping_while_the_producer_is_blocked_writing_ends_it() -> None:
    """The fork copied the reading end of the pipe into the producer; kept open there, a producer
    blocked on a full pipe never saw its reader go (a demo test hung on it, the producer waiting
    to write and its parent waiting for it)."""
    batches = forked.forked(_endless, lambda: None)
    assert len(next(batches)) == 1_000_000
    closer = threading.Thread(target=batches.close)
    closer.start()
    closer.join(timeout=60)  # an upper bound: it ends at once unless it hangs
    assert not closer.is_alive()
    assert multiprocessing.active_children() == []
