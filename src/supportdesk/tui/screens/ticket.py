"""One ticket: its fields, the whole timeline, the customer, the composer, macros and the KB.

Everything shown is read through the console's read facade (:class:`~supportdesk.tui.db.ConsoleDB`)
— on the spot when the pane opens, in a thread worker (:class:`TicketLoaded`) after every write
and whenever another process changes the store. Writes are mutations through the app; a refused
one leaves the draft exactly as it was. Solve, take, reply, note, macros, KB and log a call are
the shared ticket actions (:mod:`supportdesk.tui.ticket_actions`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import ContentSwitcher

from supportdesk.store import local_state, reads
from supportdesk.tui import choices
from supportdesk.tui.actions import bindings
from supportdesk.tui.db import ReadFailed, TicketData
from supportdesk.tui.keymap import effective_keys
from supportdesk.tui.messages import ClocksLoaded, StoreChanged, TicketLoaded
from supportdesk.tui.screens.forms import Choice, PickerScreen, PromptScreen
from supportdesk.tui.sync_status import PresenceChanged
from supportdesk.tui.text import first_paragraph, safe_line
from supportdesk.tui.ticket_actions import TicketActions, TicketRef
from supportdesk.tui.widgets.composer import SUBMIT_STATUSES, Composer, StagedMacro, SwitchKind
from supportdesk.tui.widgets.customer_panel import CustomerPanel
from supportdesk.tui.widgets.key_bar import KeyBar
from supportdesk.tui.widgets.side_panels import KBPanel, MacroPanel, plan_content, plan_summary
from supportdesk.tui.widgets.similar_panel import SimilarPanel
from supportdesk.tui.widgets.sla_clocks import SlaClocks
from supportdesk.tui.widgets.status_bar import StatusBar
from supportdesk.tui.widgets.ticket_header import TicketHeader, header_content
from supportdesk.tui.widgets.ticket_summary import TicketSummary
from supportdesk.tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from supportdesk.assist.similar import SimilarTicket
    from supportdesk.assist.summary import Summary
    from supportdesk.domain.macros import MacroPlan
    from supportdesk.tui.console import TicketList

log = logging.getLogger(__name__)

#: Seconds between re-reads of the open ticket's SLA clocks.
CLOCKS_EVERY = 30.0

EDITABLE = choices.EDITABLE
#: How many macros the panel puts first, marked as fitting the open ticket.
MACRO_SUGGESTIONS = 3
#: How many similar tickets the panel lists.
SIMILAR_TICKETS = 8


class MacroPreviewed(Message):
    def __init__(self, macro_id: str, plan: MacroPlan | None, error: str | None, stage: bool) -> None:
        super().__init__()
        self.macro_id = macro_id
        self.plan = plan
        self.error = error
        self.stage = stage


class MacrosSuggested(Message):
    def __init__(self, ticket_id: str, macro_ids: list[str]) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.macro_ids = macro_ids


class SummaryMade(Message):
    def __init__(self, ticket_id: str, summary: Summary | None) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.summary = summary


class SimilarProgress(Message):
    def __init__(self, ticket_id: str, what: str) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.what = what


class SimilarFound(Message):
    def __init__(self, ticket_id: str, items: list[SimilarTicket] | None, error: str | None = None) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.items = items
        self.error = error


class ArticlesFound(Message):
    def __init__(self, text: str, hits: list[reads.ArticleHit], suggested: bool) -> None:
        super().__init__()
        self.text = text
        self.hits = hits
        self.suggested = suggested


class TicketScreen(TicketActions, Screen[None]):
    BINDINGS = bindings("ticket")
    PALETTE_SCOPES = ("ticket",)

    def __init__(self, ticket_id: str, *, mode: str | None = None, queue: TicketList | None = None) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.mode = mode
        self.queue_screen = queue
        self.data: TicketData | None = None
        self.macros: list[dict[str, Any]] = []
        self.plans: dict[str, MacroPlan] = {}
        self._macro_by_key: list[str] = []
        self._unsaved: dict[tuple[str, str], local_state.Draft] = {}
        self._told_erased: set[str] = set()  # tickets whose drafts were not kept (customer erased)
        self._composer: Composer | None = None
        self.loaded_at: float | None = None
        self._styled_theme: str | None = None

    def compose(self) -> ComposeResult:
        yield TicketHeader(Content.styled("loading…", "dim"), id="ticket-header")
        yield SlaClocks(id="sla-clocks", markup=False)
        with Horizontal(id="ticket-body"):
            with Vertical(id="ticket-main"):
                yield TicketSummary(id="ticket-summary")
                yield Timeline(self.console.now, id="timeline")
                self._composer = Composer(editor=self.console.settings.editor, id="composer")
                yield self._composer
            with ContentSwitcher(initial="customer", id="side"):
                yield CustomerPanel(id="customer")
                yield MacroPanel(id="macros")
                yield KBPanel(id="kb")
                yield SimilarPanel(id="similar")
        yield StatusBar()
        yield KeyBar()

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    def on_mount(self) -> None:
        for index, (key, name) in enumerate(self.console.user_keys.macro_keys.items()):
            self._macro_by_key.append(name)
            self._bindings.bind(key, f"macro_key({index})", f"Macro: {name}", show=False)
        self.set_interval(CLOCKS_EVERY, self.refresh_clocks, name="sla-clocks")

    def show(self, ticket_id: str, *, mode: str | None = None, queue: TicketList | None = None) -> None:
        """Point this pane at a ticket before it is pushed again (one pane is kept and reused:
        composing a screen of thirty widgets on every enter would cost more than the ticket).
        On the screen already with this ticket, ``mode`` opens on the spot (``r`` in the pane)."""
        self.queue_screen = queue or self.queue_screen
        if self.is_current and ticket_id == self.ticket_id:
            if mode is not None and self.data is None:
                self.mode = mode  # opens when the ticket has loaded
            elif mode is not None:
                self.enter_mode(mode)
            return
        self.mode = mode
        self._fresh = True
        if self.is_mounted:
            self._clear(ticket_id)
        else:
            self.ticket_id = ticket_id

    def _clear(self, ticket_id: str) -> None:
        composer = self.composer
        if composer.is_open:
            composer.close()
        composer.macro = None
        self.ticket_id = ticket_id
        self.data = None
        self.plans.clear()
        self.query_one(ContentSwitcher).current = "customer"
        self.query_one(TicketHeader).show(Content.styled("loading…", "dim"))
        self.query_one(TicketSummary).clear()
        self.query_one(SlaClocks).show([], self.console.now())
        self.timeline.set_entries([])

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        # Textual re-applies every CSS rule to a pushed screen (7 ms for this pane's widgets);
        # this pane is reused, and nothing about its styles changed while it waited unless the theme did
        event.refresh_styles = self._styled_theme != self.app.theme
        self._styled_theme = self.app.theme
        self.console.handle_time.open(self.ticket_id)
        if not getattr(self, "_fresh", True):
            return
        self._fresh = False
        self.timeline.focus()
        # read on the spot (a few milliseconds, WAL readers never wait): the pane's first frame
        # then already shows the ticket instead of "loading…" followed by a second full frame
        self.on_ticket_loaded(self._read(self.ticket_id))
        self._mark_seen(self.ticket_id)
        self.console.sync_link.entered(self.ticket_id)

    # --- loading --------------------------------------------------------------------------

    def load(self) -> None:
        self._load(self.ticket_id)

    def _read(self, ticket_id: str) -> TicketLoaded:
        try:
            return TicketLoaded(ticket_id, self.console.db.ticket(ticket_id, self.console.now()))
        except ReadFailed as error:
            self.log.warning(f"the ticket could not be read: {error.message}")
            return TicketLoaded(ticket_id, None, failure=error.message)

    @work(thread=True, group="ticket-load", exclusive=True, exit_on_error=False)
    def _load(self, ticket_id: str) -> None:
        self.post_message(self._read(ticket_id))

    @work(thread=True, group="ticket-seen", exit_on_error=False)
    def _mark_seen(self, ticket_id: str) -> None:
        self.console.db.mark_seen(ticket_id)

    def _read_failed(self, message: TicketLoaded) -> None:
        """The store could not answer (busy, damaged, a query interrupted): that says nothing about
        the ticket, so a pane already showing it stays as it is; one that never showed it closes."""
        shown = self.data
        if shown is not None and shown.detail.ticket["id"] == message.ticket_id:
            self.notify(
                f"could not read this ticket again (what you see may be out of date): {message.failure}",
                severity="warning",
                markup=False,
            )
            return
        self.notify(f"could not read the ticket: {message.failure}", severity="error", markup=False)
        self.console.sync_link.left()
        self.app.pop_screen()

    def on_ticket_loaded(self, message: TicketLoaded) -> None:
        if message.ticket_id != self.ticket_id:
            return
        if message.failure is not None:
            self._read_failed(message)
            return
        if message.data is None:
            shown = self.data
            if shown is not None and shown.detail.ticket["id"] == message.ticket_id:
                # on the screen a moment ago (so saying it went leaks nothing): moved to a group
                # this agent is not in — by them or by anyone — or erased; the draft stays saved
                number = shown.detail.ticket.get("number")
                label = f"#{number}" if number is not None else "this ticket"
                self.notify(
                    f"{label} is out of your view now: moved to a group you are not in, or erased",
                    severity="warning",
                    markup=False,
                )
            else:  # another group's ticket reads exactly as one that does not exist
                self.notify("this ticket no longer exists", severity="error")
            self.console.sync_link.left()
            self.app.pop_screen()
            return
        same = self.data is not None and self.data.detail.ticket["id"] == message.ticket_id
        if not same:
            self._mark_seen(message.ticket_id)
        self.data = message.data
        self._show_header()
        self.timeline.set_entries(message.data.detail.messages, keep_position=same)
        self.query_one(CustomerPanel).show(message.data.customer, self.ticket_id)
        composer = self.composer
        composer.requester = message.data.detail.requester.get("name") or ""
        composer.channel = str(message.data.detail.ticket["channel"])
        self._say_drafts()
        self._summarize(self.ticket_id)
        if self.mode is not None:
            mode, self.mode = self.mode, None
            self.enter_mode(mode)

    # --- the summary (four or more messages) ------------------------------------------------

    @work(thread=True, group="ticket-summary", exclusive=True, exit_on_error=False)
    def _summarize(self, ticket_id: str) -> None:
        """A few milliseconds, but it reads every message of the ticket (and imports the assist
        package): never on the UI thread. A ticket of fewer than four messages gets None (no
        summary); a failure only leaves the summary out."""
        try:
            summary = self.console.db.summary(ticket_id)
        except Exception as error:
            self.log.warning(f"the summary could not be made: {error}")
            summary = None
        self.post_message(SummaryMade(ticket_id, summary))

    def on_summary_made(self, message: SummaryMade) -> None:
        if message.ticket_id != self.ticket_id:
            return
        key = effective_keys("ticket.summary", self.console.user_keys.keymap).split(",")[0]
        self.query_one(TicketSummary).show(message.ticket_id, message.summary, key=key)

    def action_fold_summary(self) -> None:
        if not self.query_one(TicketSummary).fold():
            self.notify("this ticket has no summary (it has fewer than four messages)", markup=False)

    def _show_header(self) -> None:
        if self.data is None:
            return
        self.query_one(TicketHeader).show(
            header_content(
                self.data.detail,
                now=self.console.now(),
                keymap=self.console.user_keys.keymap,
                viewers=self.console.presence.get(self.ticket_id, []),
                message_count=len(self.data.detail.messages),
                spent=self.data.spent,
            )
        )
        self.query_one(SlaClocks).show(self.data.clocks, self.console.now())

    def refresh_clocks(self) -> None:
        """Read the clocks again: their used and left times move with working time."""
        if self.data is not None and self.is_current and self.data.clocks:
            self._read_clocks(self.ticket_id)

    @work(thread=True, group="ticket-clocks", exclusive=True, exit_on_error=False)
    def _read_clocks(self, ticket_id: str) -> None:
        self.post_message(ClocksLoaded(ticket_id, self.console.db.clocks(ticket_id, self.console.now())))

    def on_clocks_loaded(self, message: ClocksLoaded) -> None:
        if self.data is not None and message.ticket_id == self.ticket_id:
            self.data.clocks = message.clocks
            self.query_one(SlaClocks).show(message.clocks, self.console.now())

    def _say_drafts(self) -> None:
        drafts = self.data.drafts if self.data else []
        self.query_one(StatusBar).say(f"unsent draft: {', '.join(drafts)}" if drafts else "")

    def on_screen_suspend(self) -> None:
        """Handle time: a picker over the pane still counts; another screen pauses it; back to
        the queue ends the visit and writes the batch of visits."""
        if self not in self.app.screen_stack:
            self.console.handle_time.leave()
            self.console.record_handle_time()
        elif not isinstance(self.app.screen, ModalScreen):
            self.console.handle_time.cover(True)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.load()

    def on_presence_changed(self, message: PresenceChanged) -> None:
        if message.ticket_id == self.ticket_id:
            self._show_header()

    def switch_to(self, ticket_id: str) -> None:
        """Show another ticket in this pane (from the customer panel or J / ctrl+k)."""
        if self.composer.is_open:
            self.composer.close()
        self.ticket_id = ticket_id
        self.console.handle_time.open(ticket_id)
        self.data = None
        self.plans.clear()
        self.query_one(ContentSwitcher).current = "customer"
        self.query_one(TicketSummary).clear()
        self.load()
        self.console.sync_link.entered(ticket_id)

    @on(CustomerPanel.MergeRequested)
    def _merge_customer(self) -> None:
        from supportdesk.tui.screens.customer_picker import merge_customers

        customer = self.query_one(CustomerPanel).customer
        if customer is not None:
            merge_customers(self.console, customer)

    @on(CustomerPanel.OpenTicket)
    def _open_other(self, event: CustomerPanel.OpenTicket) -> None:
        if event.ticket_id != self.ticket_id:
            self.switch_to(event.ticket_id)

    def action_step(self, step: int) -> None:
        if self.queue_screen is None:
            return
        ticket_id = self.queue_screen.step(step)
        if ticket_id is None:
            self.notify("that row is still loading", severity="warning")
        elif ticket_id != self.ticket_id:
            self.switch_to(ticket_id)

    def action_back(self) -> None:
        if self.composer.is_open:
            self.composer.flush()
        self.console.sync_link.left()
        self.app.pop_screen()

    # --- the composer ---------------------------------------------------------------------

    def _default_status(self) -> str:
        status = str(self.data.detail.ticket["status"]) if self.data else "open"
        return status if status in SUBMIT_STATUSES else "open"

    def open_composer(self, kind: str) -> None:
        """Show the draft of ``kind``: the one in memory if this pane has it, else the stored one."""
        draft = self._unsaved.get((self.ticket_id, kind))
        if draft is None:
            draft = self.console.db.draft(self.ticket_id, kind)
        self.composer.open(
            self.ticket_id,
            kind,
            draft.body if draft else "",
            draft.state if draft else {},
            default_status=self._default_status(),
        )

    @on(SwitchKind)
    def _switch_kind(self, message: SwitchKind) -> None:
        self.open_composer(message.kind)

    @on(Composer.Closed)
    def _composer_closed(self) -> None:
        self.timeline.focus()
        self.console.sync_link.stopped_typing()

    @on(Composer.Typing)
    def _typing(self, message: Composer.Typing) -> None:
        if message.ticket_id == self.ticket_id:
            self.console.sync_link.typed(self.ticket_id)

    def take_back(self, ticket_id: str, kind: str, body: str) -> None:
        """A reply or note the server refused is a draft again: show it where the agent looks."""
        self._unsaved.pop((ticket_id, kind), None)
        composer = self.composer
        if ticket_id == self.ticket_id and composer.is_open and composer.kind == kind:
            composer.append(body)
        self.load()

    @on(Composer.DraftChanged)
    def _draft_changed(self, message: Composer.DraftChanged) -> None:
        draft = local_state.Draft(message.ticket_id, message.kind, message.body, message.state)
        self._unsaved[(message.ticket_id, message.kind)] = draft
        self._save_draft(draft)

    @work(thread=True, group="draft-save", exit_on_error=False)
    def _save_draft(self, draft: local_state.Draft) -> None:
        if not self.console.db.save_draft(draft):
            self.app.call_from_thread(self._draft_not_kept, draft.ticket_id)

    def _draft_not_kept(self, ticket_id: str) -> None:
        """Its customer was erased (``ConsoleDB.save_draft`` kept nothing): say so once per
        ticket; the text stays in the open composer, and a reply sent from it is stored as
        "(erased)"."""
        if ticket_id in self._told_erased:
            return
        self._told_erased.add(ticket_id)
        self.notify("this ticket's customer was erased: drafts on it are not kept", severity="warning", markup=False)

    def on_unmount(self) -> None:
        """Quitting: write every draft of this pane here and now — the one typed within the save
        delay of the last key (its timer, its message and the save worker no longer run), and
        those already handed to a save worker that may not start or may finish too late."""
        # (held, not queried: the screen's children are gone by now)
        unsaved = self._composer.take_unsaved() if self._composer is not None else None
        if unsaved is not None:
            draft = local_state.Draft(unsaved.ticket_id, unsaved.kind, unsaved.body, unsaved.state)
            self._unsaved[(draft.ticket_id, draft.kind)] = draft
        if self._unsaved:
            try:
                self.console.db.save_drafts_on_close(list(self._unsaved.values()))
            except Exception:
                log.exception("saving the drafts while closing failed")

    def _reply_anchor(self) -> str | None:
        """What the reply is written after (``store.reads.reply_anchor``), among the messages the
        pane showed the agent: a newer customer message refuses it and the draft is kept."""
        if self.data is None:
            return None
        shown = [entry.id for entry in self.data.detail.messages]
        return self.console.db.reply_anchor(self.ticket_id, self.console.me, shown)

    @on(Composer.SendRequested)
    def _send(self, message: Composer.SendRequested) -> None:
        ticket_id = self.ticket_id
        mutations: list[tuple[str, dict[str, Any]]] = []
        if message.body.strip():
            if message.kind == "reply":
                mutations.append(
                    (
                        "ticket.reply",
                        {
                            "ticket_id": ticket_id,
                            "body": message.body,
                            "status": message.status,
                            "seen_message_id": self._reply_anchor(),
                        },
                    )
                )
            else:
                mutations.append(("ticket.note", {"ticket_id": ticket_id, "body": message.body}))
            if message.attachments:
                mutations[-1][1]["attachments"] = message.attachments
        macro = message.macro
        if macro is not None and macro.has_field_changes:
            mutations.append(("macro.apply", {"ticket_id": ticket_id, "macro_id": macro.macro_id, "body": ""}))
            if message.kind == "reply" and macro.status and macro.status != message.status:
                mutations.append(("ticket.set_status", {"ticket_id": ticket_id, "status": message.status}))
        kind = message.kind
        self.composer.sending = True

        def sent(outcomes: list[Any]) -> None:
            self.composer.sending = False
            self._sent(kind, ticket_id, outcomes)

        def kept(error: str, outcomes: list[Any]) -> None:
            self.composer.sending = False
            if outcomes:  # the message went out; what followed it was refused
                self._sent(kind, ticket_id, outcomes)
            else:
                self.load()

        self.console.write(mutations, sequential=True, done=sent, failed=kept)

    def _sent(self, kind: str, ticket_id: str, outcomes: list[Any]) -> None:
        self._unsaved.pop((ticket_id, kind), None)
        self._delete_draft(ticket_id, kind)
        if ticket_id == self.ticket_id:
            composer = self.composer
            composer.macro = None
            composer.clear_files()
            composer._loading = True
            composer.text_area.load_text("")
            composer._loading = False
            composer.close()
            self.timeline.focus()
            self.console.sync_link.stopped_typing()
        follow_up = next((o.result for o in outcomes if o.result.get("follow_up")), None)
        if follow_up:
            self.notify(f"the ticket was closed: your reply opened follow-up #{follow_up.get('number')}", markup=False)
        else:
            self.notify("internal note added" if kind == "note" else "reply sent", markup=False)
        self.load()

    @work(thread=True, group="draft-save", exit_on_error=False)
    def _delete_draft(self, ticket_id: str, kind: str) -> None:
        self.console.db.delete_draft(ticket_id, kind)

    def action_undo_macro(self) -> None:
        self.composer.action_undo_macro()

    # --- fields ---------------------------------------------------------------------------

    def _ticket(self) -> dict[str, Any] | None:
        return self.data.detail.ticket if self.data else None

    def acted_on(self) -> TicketRef | None:
        """The ticket shown (None while it loads: a key pressed in that moment does nothing)."""
        if self.data is None:
            return None
        ticket = self.data.detail.ticket
        phone = next((i["value"] for i in self.data.detail.identities if i["kind"] == "phone"), "")
        return TicketRef(str(ticket["id"]), ticket["number"], str(ticket["status"]), phone, ticket.get("snoozed_until"))

    def ticket_list(self) -> TicketList | None:
        return self.queue_screen

    def enter_mode(self, mode: str) -> None:
        """Open what a mode names: the reply or note composer, the macro or KB panel."""
        if mode in ("reply", "note"):
            self.open_composer(mode)
        elif mode == "macros":
            self._toggle_macros()
        elif mode == "kb":
            self._toggle_knowledge_base()
        elif mode == "similar":
            self._toggle_similar()

    def _write(self, mutations: list[tuple[str, dict[str, Any]]], what: str) -> None:
        self.console.write(mutations, done=lambda _: self.notify(what, markup=False))

    def action_edit_menu(self) -> None:
        def chosen(field: str | None) -> None:
            if field:
                self.action_edit(field)

        self.app.push_screen(PickerScreen("Edit which field?", EDITABLE), chosen)

    def action_edit(self, field: str) -> None:
        ticket = self._ticket()
        if ticket is None or self.data is None:
            return
        tid = ticket["id"]
        app = self.console
        seen = ticket.get(field)

        def change(picked: str | None) -> None:
            if picked and picked != (current or None):
                self._write([choices.field_mutation(field, tid, picked, seen=seen)], f"{field} changed")

        if choices.is_typed(field):
            current = "" if field == "tags" else safe_line(ticket.get(field) or "", cap=500)
            hint = "e.g. refund vip" if field == "tags" else ""
            app.push_screen(PromptScreen(choices.TITLES[field], value=current, placeholder=hint), change)
            return
        if field == "untag":
            if not self.data.detail.tags:
                self.notify("the ticket has no tags", severity="warning")
                return
            options, current = [Choice(t, t) for t in self.data.detail.tags], ""
        else:
            options = choices.choices_for(field, app.db, group_id=ticket["group_id"], me=app.me)
            current = {"group": ticket["group_id"], "assignee": ticket["assignee_id"]}.get(field, seen) or choices.NONE
        app.push_screen(PickerScreen(choices.TITLES[field], options, current=current), change)

    def action_history(self) -> None:
        """``H``: who changed what on this ticket, when, and from where."""
        from supportdesk.tui.screens.history import HistoryScreen

        ticket = self.acted_on()
        if ticket is None:
            return
        title = f"{ticket.label} — change history (esc closes)"
        self.app.push_screen(HistoryScreen(title, self.console.db.history(ticket.id)))

    # --- side panels ----------------------------------------------------------------------

    def action_customer(self) -> None:
        self.query_one(ContentSwitcher).current = "customer"
        self.query_one("#customer-tickets").focus()

    def _toggle_macros(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        panel = self.query_one(MacroPanel)
        if switcher.current == "macros" and panel.has_focus_within:
            self._close_side()
            return
        switcher.current = "macros"
        self.macros = self.console.db.macros()
        panel.focus_search(clear=True)
        panel.set_macros(self.macros, suggested=None)
        self._suggest_macros(self.ticket_id)

    @work(thread=True, group="macro-suggest", exclusive=True, exit_on_error=False)
    def _suggest_macros(self, ticket_id: str) -> None:
        """Rank the macros for the ticket (the embeddings load here on first use, never on the
        UI thread); a failure leaves the list by name."""
        try:
            ids = self.console.db.suggest_macros(ticket_id, limit=MACRO_SUGGESTIONS)
        except Exception as error:  # the panel still lists every macro by name
            self.log.warning(f"macro suggestions failed: {error}")
            ids = []
        self.post_message(MacrosSuggested(ticket_id, ids))

    def on_macros_suggested(self, message: MacrosSuggested) -> None:
        if message.ticket_id == self.ticket_id:
            self.query_one(MacroPanel).set_suggested(message.macro_ids)

    def _close_side(self) -> None:
        self.query_one(ContentSwitcher).current = "customer"
        (self.composer.text_area if self.composer.is_open else self.timeline).focus()

    @on(MacroPanel.Closed)
    @on(KBPanel.Closed)
    @on(SimilarPanel.Closed)
    def _panel_closed(self) -> None:
        self._close_side()

    @on(MacroPanel.Previewing)
    def _macro_previewing(self, message: MacroPanel.Previewing) -> None:
        plan = self.plans.get(message.macro["id"])
        if plan is not None:
            self.query_one(MacroPanel).show_preview(message.macro["id"], plan_content(plan))
        else:
            self._preview(message.macro["id"], stage=False)

    @on(MacroPanel.Applying)
    def _macro_applying(self, message: MacroPanel.Applying) -> None:
        self.stage_macro(message.macro["id"])

    def stage_macro(self, macro_id: str) -> None:
        plan = self.plans.get(macro_id)
        if plan is None:
            self._preview(macro_id, stage=True)
        else:
            self._stage(macro_id, plan)

    @work(thread=True, group="macro-preview", exclusive=True, exit_on_error=False)
    def _preview(self, macro_id: str, stage: bool) -> None:
        from supportdesk.domain.errors import DomainError

        try:
            plan = self.console.db.macro_preview(self.console.writer.actor(), macro_id, self.ticket_id)
        except DomainError as error:
            self.post_message(MacroPreviewed(macro_id, None, error.message, stage))
            return
        except Exception as error:
            self.post_message(MacroPreviewed(macro_id, None, f"cannot preview: {error}", stage))
            return
        self.post_message(MacroPreviewed(macro_id, plan, None, stage))

    def on_macro_previewed(self, message: MacroPreviewed) -> None:
        panel = self.query_one(MacroPanel)
        if message.plan is None:
            panel.show_preview(message.macro_id, Content.styled(message.error or "", "bold"))
            if message.stage:
                self.notify(message.error or "the macro cannot be applied", severity="error", markup=False)
            return
        self.plans[message.macro_id] = message.plan
        panel.show_preview(message.macro_id, plan_content(message.plan))
        if message.stage:
            self._stage(message.macro_id, message.plan)

    def _stage(self, macro_id: str, plan: MacroPlan) -> None:
        macro = next((m for m in self.macros if m["id"] == macro_id), None)
        if macro is None:
            macro = next((m for m in self.console.db.macros() if m["id"] == macro_id), None)
        if macro is None:
            return
        kind = "reply" if plan.public else "note"
        composer = self.composer
        if not composer.is_open or composer.kind != kind:
            self.open_composer(kind)
        staged = StagedMacro(
            macro_id=macro_id,
            name=macro["name"],
            public=plan.public,
            status=plan.values.get("status"),
            summary=plan_summary(plan),
            previous_text=composer.text,
            previous_kind=composer.kind,
            previous_status=composer.submit_as,
            has_field_changes=bool(plan.changes or plan.tags_added or plan.tags_removed),
        )
        composer.stage_macro(staged, plan.body)
        self.notify(f"macro {safe_line(macro['name'], cap=80)} staged on the draft", markup=False)

    def action_macro_key(self, index: int) -> None:
        name = self._macro_by_key[index]
        self.macros = self.console.db.macros()
        macro = next((m for m in self.macros if m["name"] == name), None)
        if macro is None:
            self.notify(f"[macro_keys] no macro called {name!r}", severity="error", markup=False)
            return
        self.stage_macro(macro["id"])

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        macros = self.console.db.macros()
        return [
            (
                f"Macro: {safe_line(m['name'], cap=100)}",
                "stage this macro on the draft",
                lambda i=m["id"]: self.stage_macro(i),
            )
            for m in macros
        ]

    # --- knowledge base -------------------------------------------------------------------

    def _toggle_knowledge_base(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        panel = self.query_one(KBPanel)
        if switcher.current == "kb" and panel.has_focus_within:
            self._close_side()
            return
        switcher.current = "kb"
        panel.focus_search(clear=True)
        self._find_articles("")

    @on(KBPanel.Searching)
    def _kb_search(self, message: KBPanel.Searching) -> None:
        self._find_articles(message.text)

    @work(thread=True, group="kb-search", exclusive=True, exit_on_error=False)
    def _find_articles(self, text: str) -> None:
        if text.strip():
            self.post_message(ArticlesFound(text, self.console.db.search_articles(text, limit=30), suggested=False))
        else:
            hits = self.console.db.suggest_articles(self.ticket_id, limit=8)
            self.post_message(ArticlesFound(text, hits, suggested=True))

    def on_articles_found(self, message: ArticlesFound) -> None:
        panel = self.query_one(KBPanel)
        if message.text != panel.search_text:
            return  # an older search answered late (a cancelled thread worker still finishes)
        panel.set_hits(message.hits, suggested=message.suggested)

    def _link(self, slug: str) -> str:
        return f"{self.console.kb_url}/{slug}"

    @on(KBPanel.Previewing)
    def _kb_preview(self, message: KBPanel.Previewing) -> None:
        article = self.console.db.article(message.hit.id)
        if article is not None:
            self.query_one(KBPanel).show_article(article, self._link(article.slug))

    @on(KBPanel.Inserting)
    def _kb_insert(self, message: KBPanel.Inserting) -> None:
        article = self.console.db.article(message.hit.id)
        if article is None:
            return
        link = self._link(article.slug)
        title = safe_line(article.title, cap=200)
        if message.snippet:
            first = first_paragraph(article.body)
            text = f"{first}\n\n{title}: {link}\n" if first else f"{title}: {link}\n"
        else:
            text = f"{title}: {link}"
        if not self.composer.is_open:
            self.open_composer("reply")
        self.composer.insert(text)
        self.notify("snippet inserted" if message.snippet else "link inserted", markup=False)

    # --- similar tickets ------------------------------------------------------------------

    def action_similar(self) -> None:
        self.enter_mode("similar")

    def _toggle_similar(self) -> None:
        switcher = self.query_one(ContentSwitcher)
        panel = self.query_one(SimilarPanel)
        if switcher.current == "similar" and panel.has_focus_within:
            self._close_side()
            return
        switcher.current = "similar"
        panel.row_list.focus()
        if panel.ticket_id != self.ticket_id or not panel.items:
            panel.waiting(self.ticket_id, "finding tickets like this one…")
        self._find_similar(self.ticket_id)

    @work(thread=True, group="similar", exclusive=True, exit_on_error=False)
    def _find_similar(self, ticket_id: str) -> None:
        """Bring the vector index up to date (incremental: the first time on a big workspace
        takes minutes, shown as progress), then ask it; the models load here, never on the UI
        thread. Tickets of groups the agent is not in are left out by the read."""
        from supportdesk import assist

        def progress(done: int, total: int) -> None:
            if total:
                self.post_message(SimilarProgress(ticket_id, f"indexing tickets {done:,} / {total:,}…"))

        try:
            self.console.db.update_vectors(progress)
            actor = self.console.writer.actor()
            items = self.console.db.similar_tickets(ticket_id, actor, limit=SIMILAR_TICKETS)
        except (assist.ModelUnavailable, assist.IndexUnavailable) as error:
            self.post_message(SimilarFound(ticket_id, None, f"similar tickets are not available: {error}"))
            return
        except ReadFailed as error:
            self.post_message(SimilarFound(ticket_id, None, f"similar tickets could not be read: {error.message}"))
            return
        except Exception as error:  # one clear line in the panel, never a traceback
            self.log.error(f"similar tickets failed: {error!r}")
            self.post_message(SimilarFound(ticket_id, None, f"similar tickets failed: {error}"))
            return
        self.post_message(SimilarFound(ticket_id, items))

    def on_similar_progress(self, message: SimilarProgress) -> None:
        if message.ticket_id == self.ticket_id:
            self.query_one(SimilarPanel).waiting(message.ticket_id, message.what)

    def on_similar_found(self, message: SimilarFound) -> None:
        if message.ticket_id != self.ticket_id:
            return
        panel = self.query_one(SimilarPanel)
        if message.items is None:
            panel.failed(message.error or "similar tickets are not available")
            return
        panel.set_items(message.ticket_id, message.items)

    @on(SimilarPanel.Opening)
    def _open_similar(self, message: SimilarPanel.Opening) -> None:
        if message.ticket_id != self.ticket_id:
            self.switch_to(message.ticket_id)
            self.timeline.focus()
