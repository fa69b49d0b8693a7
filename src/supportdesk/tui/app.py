"""The console application: the store connections, the write path, keys, themes and polling.

Start-up does only what the first queue frame needs: open read connections, read who "me"
is, push the queue screen. The write path (SQLAlchemy, pydantic, Jinja2) is imported in a
thread worker afterwards. Another process writing the store is noticed by polling SQLite's
``PRAGMA data_version`` (microseconds), and only then does a screen re-read what it shows.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from textual import events, work
from textual.app import App
from textual.reactive import reactive
from textual.screen import Screen

from supportdesk.config import Settings
from supportdesk.store.times import utcnow
from supportdesk.store.workspace import Workspace
from supportdesk.tui.actions import bindings
from supportdesk.tui.commands import ConsoleCommands
from supportdesk.tui.console import Console, TicketList, TicketPane
from supportdesk.tui.db import ConsoleDB
from supportdesk.tui.handle_time import HandleClock, handle_time_mutations
from supportdesk.tui.keymap import UserKeys, load_user_keys
from supportdesk.tui.messages import StoreChanged
from supportdesk.tui.sync_link import SyncLink
from supportdesk.tui.sync_status import SyncReported, SyncStatus
from supportdesk.tui.writes import Mutation, WriteFinished, Writer, WriteRequest, refusals

DEFAULT_KB_URL = "https://help.example.com/articles"
#: Seconds between looks at idleness and at the handle-time batch.
HANDLE_TICK = 15.0
#: Seconds between looks for snoozes whose time came.
SNOOZE_TICK = 20.0
#: Seconds between two runs of the automations by a console on a workspace that follows no server.
AUTOMATION_TICK = 300.0


class SupportDeskApp(Console):
    TITLE = "supportdesk"
    CSS_PATH = "console.tcss"
    BINDINGS = bindings("app")
    COMMANDS: ClassVar[set[Any]] = {*App.COMMANDS, ConsoleCommands}
    ENABLE_COMMAND_PALETTE = True

    sync_status: reactive[SyncStatus] = reactive(SyncStatus, init=False)
    sync_link: SyncLink

    def __init__(
        self,
        workspace: Workspace,
        settings: Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        poll_interval: float = 0.5,
        warm_up: bool = True,
        sync: bool = True,
        sync_interval: float = 30.0,
        strict_reads: bool = False,
    ) -> None:
        self.started = time.perf_counter()
        super().__init__()
        self.workspace = workspace
        self.settings = settings
        self.clock = clock or utcnow
        self.poll_interval = poll_interval
        self.db = ConsoleDB(workspace, strict=strict_reads)
        self.me = self.db.setting("me")
        self.me_name, self.me_role = self._who()
        self.writer = Writer(workspace, self.me)
        self.user_keys: UserKeys = load_user_keys(settings.keys, settings.macro_keys)
        self.set_keymap(self.user_keys.keymap)
        self.kb_url = str(settings.section("console").get("kb_url", DEFAULT_KB_URL)).rstrip("/")
        self.presence: dict[str, list[str]] = {}  # ticket id → other agents in it (see SyncLink)
        self.sync_link = SyncLink(self, interval=sync_interval)
        self._sync = sync  # start the background sync when the workspace follows a server
        self._warm_up = warm_up
        self._ticket_screen: Any = None
        self._last_input = time.monotonic()
        self._last_full_collection = time.monotonic()
        self.handle_time = HandleClock(monotonic)
        self._snoozes_seen_at: datetime | None = None

    def _who(self) -> tuple[str, str]:
        if self.me is None:
            return "nobody (run supportdesk as an agent)", ""
        return self.db.who(self.me) or ("unknown agent", "")

    def now(self) -> datetime:
        return self.clock()

    # --- start and stop -------------------------------------------------------------------

    def on_mount(self) -> None:
        from supportdesk.tui.screens.queue import QueueScreen

        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        else:
            self.notify(f"unknown theme {self.settings.theme!r}; using {self.theme}", severity="warning", markup=False)
        for problem in self.user_keys.problems:
            self.notify(problem, severity="warning", markup=False, timeout=8)
        self.push_screen(QueueScreen())
        self.set_interval(self.poll_interval, self.check_store, name="store-poll")
        self.set_interval(HANDLE_TICK, self._handle_time_tick, name="handle-time")
        self.set_interval(SNOOZE_TICK, self.check_snoozes, name="snoozes")
        self.call_after_refresh(self.check_snoozes)
        # back from $EDITOR (the app was suspended): the agent worked on the ticket all along
        self.app_resume_signal.subscribe(self, lambda _app: self.handle_time.input())
        self.refresh_sync_status()
        if self.sync_status.local:  # its own authority: nobody else runs the automations
            self.set_interval(AUTOMATION_TICK, self.run_automations, name="automations")
        if self._sync and not self.sync_status.local:
            self.call_after_refresh(self._start_sync)
            self.set_interval(3.0, self.sync_link.tick, name="presence")
        if self._warm_up:
            self.call_after_refresh(self._warm)

    def _warm(self) -> None:
        self._run_warm_up()
        self._pace_collector()

    def _pace_collector(self) -> None:
        """Collect cyclic garbage between keys instead of in the middle of a frame.

        A full pass of Python's collector over what Textual holds took ~90 ms here — a dropped
        frame whenever it struck during a key. What start-up built lives as long as the app, so
        it is frozen out of future passes; automatic collection is then left to quiet moments.
        """
        gc.freeze()
        gc.disable()
        self._last_input = time.monotonic()
        self._last_full_collection = time.monotonic()
        self.set_interval(0.5, self._collect_when_quiet, name="gc-pacing")

    def _collect_when_quiet(self) -> None:
        now = time.monotonic()
        young = gc.get_count()[0]
        if now - self._last_input < 0.5 and young < 200_000:
            return
        if now - self._last_full_collection > 30 and now - self._last_input > 2:
            gc.collect()
            self._last_full_collection = now
        elif young > 5_000:
            gc.collect(1)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._last_input = time.monotonic()
            self.handle_time.input()
        elif isinstance(event, events.MouseScrollDown | events.MouseScrollUp):
            self.handle_time.input()
        await super().on_event(event)

    @work(thread=True, group="warm-up", exit_on_error=False)
    def _run_warm_up(self) -> None:
        self.writer.warm_up()

    @work(thread=True, group="sync", exit_on_error=False)
    def _start_sync(self) -> None:
        self.sync_link.start()

    def on_unmount(self) -> None:
        gc.enable()
        self._record_handle_time_now()
        self.sync_link.stop()
        self.db.close()
        self.workspace.close()

    # --- the store changing underneath us -------------------------------------------------

    def check_store(self, *, wrote: bool = False) -> bool:
        """Tell the screens to re-read what they show if anyone committed since last time.

        ``wrote``: our own mutation just committed. That is news even while the watch is busy
        with a local write (a seen mark, a draft), when the store's counter is looked at again
        only at the next poll: the pane opened right after ``s`` would show the old status a
        while longer.
        """
        if not self.db.changed_elsewhere() and not wrote:
            return False
        self.refresh_sync_status()
        for screen in self.screen_stack:
            screen.post_message(StoreChanged())
        return True

    def refresh_sync_status(self) -> None:
        summary = self.db.sync_summary()
        if summary is not None:
            self.sync_status = self.sync_status.with_summary(summary)

    def on_sync_reported(self, message: SyncReported) -> None:
        self.sync_status = self.sync_status.with_service(message.status)
        self.sync_link.reported(message.status)

    # --- writing --------------------------------------------------------------------------

    def write(
        self,
        mutations: list[Mutation],
        *,
        done: Callable[[list[Any]], None] | None = None,
        failed: Callable[[str, list[Any]], None] | None = None,
        sequential: bool = False,
        quiet: bool = False,
        source: str | None = None,
    ) -> None:
        """Run mutations in a worker; refusals become notifications, ``done`` gets the outcomes."""
        self._write(
            WriteRequest(mutations, sequential=sequential, done=done, failed=failed, quiet=quiet, source=source)
        )

    @work(thread=True, group="write", exit_on_error=False)
    def _write(self, request: WriteRequest) -> None:
        self.post_message(WriteFinished(self.writer.run(request)))
        self.sync_link.push_soon()

    def on_write_finished(self, message: WriteFinished) -> None:
        request = message.request
        if request.quiet:  # bookkeeping the agent did not ask for (handle time): logged, not shown
            for problem in [request.error] if request.error else refusals(request.outcomes):
                self.log.warning(f"not saved: {problem}")
            self.check_store()
            return
        if request.error is not None:
            self.notify(request.error, title="Not saved", severity="error", markup=False, timeout=8)
            if request.failed:
                request.failed(request.error, request.outcomes)
        else:
            problems = refusals(request.outcomes)
            for problem in problems[:5]:
                self.notify(problem, title="Refused", severity="error", markup=False, timeout=8)
            if len(problems) > 5:
                self.notify(f"… and {len(problems) - 5} more refused", severity="error", markup=False)
            for outcome in request.outcomes:
                for warning in outcome.warnings:
                    self.notify(warning, severity="warning", markup=False)
            if problems and len(problems) == len(request.outcomes):
                if request.failed:  # everything was refused: "done" must not say it happened
                    request.failed(problems[0], request.outcomes)
            elif request.done:
                request.done(request.outcomes)
        self.check_store(wrote=request.error is None)

    # --- snoozes whose time came -----------------------------------------------------------

    def check_snoozes(self) -> None:
        """Look for snoozes that ended: this agent's come back on top (``ticket.unsnooze``, woke)
        with a notification; anyone's make the screens re-read (a worklist compiled before the
        time came still left the ticket out)."""
        now = self.now()
        since, self._snoozes_seen_at = self._snoozes_seen_at, now
        self._look_for_snoozes(since, now)

    @work(thread=True, group="snoozes", exit_on_error=False)
    def _look_for_snoozes(self, since: datetime | None, now: datetime) -> None:
        ended = self.db.ended_snoozes(since=since, now=now, me=self.me)
        if ended:
            self.call_from_thread(self._snoozes_ended, ended)

    def _snoozes_ended(self, ended: list[Any]) -> None:
        mine = [snooze for snooze in ended if snooze.mine]
        if mine:
            wake = [("ticket.unsnooze", {"ticket_id": s.ticket_id, "woke": True, "seen_until": s.until}) for s in mine]
            labels = ", ".join(f"#{s.number}" if s.number is not None else "a ticket" for s in mine[:5])
            more = f" and {len(mine) - 5} more" if len(mine) > 5 else ""
            self.write(wake, done=lambda _: self.notify(f"back from snooze: {labels}{more}", markup=False, timeout=10))
        else:
            for screen in self.screen_stack:
                screen.post_message(StoreChanged())

    # --- automations on a workspace of its own --------------------------------------------

    def run_automations(self) -> None:
        """On a workspace that follows no server the console runs the time-based automations
        every few minutes, as a team server would — for an admin only (only admins run them),
        quietly (what they change shows as any change does)."""
        if self.sync_status.local:
            self._run_automations()

    @work(thread=True, group="automations", exit_on_error=False)
    def _run_automations(self) -> None:
        if not self.writer.actor().is_admin:
            return
        due = [
            ("automation.run", {"rule_id": r["id"]})
            for r in self.db.rules()
            if r["active"] and "scheduled" in r["when"]
        ]
        if due:
            self.call_from_thread(self.write, due, quiet=True)

    # --- handle time ----------------------------------------------------------------------

    def on_app_focus(self) -> None:
        self.handle_time.focus(True)

    def on_app_blur(self) -> None:
        self.handle_time.focus(False)

    def _handle_time_tick(self) -> None:
        self.handle_time.check_idle()
        if self.handle_time.due():
            self.record_handle_time()

    def record_handle_time(self) -> None:
        """Write the finished visits to tickets (``ticket.record_handle_time``) in one batch."""
        visits = self.handle_time.take()
        if visits and self.me is not None:
            self.write(handle_time_mutations(visits), quiet=True)

    def _record_handle_time_now(self) -> None:
        """On the way out: every counted second, the open visit's too, written before the store
        closes (on this thread: a worker started now would not run)."""
        visits = self.handle_time.take(everything=True)
        if visits and self.me is not None:
            request = self.writer.run(WriteRequest(handle_time_mutations(visits), quiet=True))
            for problem in [request.error] if request.error else refusals(request.outcomes):
                self.log.warning(f"handle time not recorded: {problem}")

    # --- screens --------------------------------------------------------------------------

    def ticket_screen(self, ticket_id: str, *, mode: str | None = None, queue: TicketList | None = None) -> Screen[Any]:
        """The ticket pane, made once and pointed at ``ticket_id`` (see ``TicketScreen.show``)."""
        from supportdesk.tui.screens.ticket import TicketScreen

        pane = self._ticket_screen
        if not isinstance(pane, TicketScreen):
            pane = self._ticket_screen = TicketScreen(ticket_id, mode=mode, queue=queue)
            self.install_screen(pane, name="ticket")
        pane.show(ticket_id, mode=mode, queue=queue)
        return pane

    def ticket_screen_if_open(self) -> TicketPane | None:
        """The ticket pane when it is on the screen stack, else None."""
        return self._ticket_screen if self._ticket_screen in self.screen_stack else None

    # --- actions --------------------------------------------------------------------------

    def action_help(self) -> None:
        from supportdesk.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_dashboard(self) -> None:
        from supportdesk.tui.screens.dashboard import DashboardScreen

        if not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen())

    def action_rules(self) -> None:
        from supportdesk.tui.screens.rules import RulesScreen

        if not isinstance(self.screen, RulesScreen):
            self.push_screen(RulesScreen())
