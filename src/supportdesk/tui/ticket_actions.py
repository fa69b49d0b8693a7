"""What an agent does to one ticket — solve, take, reply, note, macros, KB, log a call — written once.

The queue acts on the row under the cursor and the ticket pane on the ticket it shows; both mix
in :class:`TicketActions` and say only *which* ticket (:meth:`TicketActions.acted_on`). So ``s``
solves the same way on either screen, and a new ticket action (snooze was the first) is one
method here plus its rows in :mod:`supportdesk.tui.actions` — never one copy per screen.

Opening the ticket with a mode (``r`` reply, ``n`` note, ``m`` macros, ``k`` KB) goes through
:meth:`Console.ticket_screen <supportdesk.tui.console.Console.ticket_screen>`: from the queue it
pushes the pane, in the pane it opens the composer or the side panel on the spot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from supportdesk.tui.screens.forms import CallLog, CallScreen, Choice, ConfirmScreen, PickerScreen, PromptScreen

if TYPE_CHECKING:
    from supportdesk.tui.console import Console, TicketList


@dataclass(frozen=True)
class TicketRef:
    """The ticket an action is about, as the agent saw it when they pressed the key."""

    id: str
    number: int | None
    status: str  # sent as the value "seen", so a change made meanwhile is reported
    phone: str = ""  # the requester's number, when the screen knows it (to log a call)
    snoozed_until: datetime | None = None  # when the screen knows it (the pane does)

    @property
    def label(self) -> str:
        return f"#{self.number}" if self.number is not None else "the ticket"


#: The snooze picker's times (``tickets snooze --until`` takes the same words).
SNOOZE_CHOICES = (
    ("1h", "In an hour"),
    ("4h", "In 4 hours"),
    ("tomorrow 9:00", "Tomorrow 9:00"),
    ("mon 9:00", "Monday 9:00"),
    ("3d", "In 3 days"),
    ("1w", "In a week"),
)
WAKE = "wake"
OTHER_TIME = "other"


class TicketActions:
    """The ticket actions of a screen (a mixin for a Textual ``Screen``)."""

    #: From the queue ``c`` opens a ticket for the caller; in the pane it logs on the ticket shown.
    CALL_OPENS_A_TICKET = False

    @property
    def console(self) -> Console:
        return self.app  # type: ignore[attr-defined, no-any-return]

    def acted_on(self) -> TicketRef | None:
        """The ticket the keys act on now (None: nothing to act on, and the agent was told)."""
        raise NotImplementedError

    def ticket_list(self) -> TicketList | None:
        """The queue ``J`` / ``ctrl+k`` walk in the pane opened from here."""
        return None

    def _say(self, text: str, *, error: bool = False) -> None:
        self.console.notify(text, severity="error" if error else "information", markup=False)

    # --- changes ----------------------------------------------------------------------------

    def action_solve(self) -> None:
        ticket = self.acted_on()
        if ticket is not None:
            self.console.write(
                [("ticket.set_status", {"ticket_id": ticket.id, "status": "solved", "seen": ticket.status})],
                done=lambda _: self._say(f"{ticket.label} solved"),
            )

    def action_assign_me(self) -> None:
        ticket = self.acted_on()
        if ticket is None:
            return
        me = self.console.me
        if me is None:
            self._say("this workspace acts as nobody: set who you are first", error=True)
            return
        self.console.write(
            [("ticket.assign", {"ticket_id": ticket.id, "assignee_id": me})],
            done=lambda _: self._say(f"{ticket.label} is yours"),
        )

    # --- snooze -------------------------------------------------------------------------------

    def action_snooze(self) -> None:
        """``Z``: until when (the times of ``tickets snooze --until``), or wake it now."""
        ticket = self.acted_on()
        if ticket is None:
            return
        choices = [Choice(spec, label) for spec, label in SNOOZE_CHOICES]
        choices.append(Choice(OTHER_TIME, "Another time…", "3d, friday 14:00, 2026-12-24 …"))
        if ticket.snoozed_until is not None:
            shown = f"{ticket.snoozed_until.astimezone():%a %d %b %H:%M}"
            choices.insert(0, Choice(WAKE, "Wake it now", f"snoozed until {shown}"))

        def chosen(spec: str | None) -> None:
            if spec == WAKE:
                self.console.write(
                    [("ticket.unsnooze", {"ticket_id": ticket.id})],
                    done=lambda _: self._say(f"{ticket.label} is back in the worklists"),
                )
            elif spec == OTHER_TIME:
                self.console.push_screen(
                    PromptScreen(f"Snooze {ticket.label} until", placeholder="3d, tomorrow 9:00, mon 14:00"),
                    lambda text: self._snooze(ticket, text) if text else None,
                )
            elif spec:
                self._snooze(ticket, spec)

        self.console.push_screen(PickerScreen(f"Snooze {ticket.label} until", choices), chosen)

    # --- time log ---------------------------------------------------------------------------

    def action_log_time(self, draft: str = "") -> None:
        """``W``: log time spent on the ticket, a note after it (``30m called the customer``).

        A time that does not read (``15x``, ``13h``) is a notification, and the prompt comes back
        with what was typed, so nothing is lost.
        """
        ticket = self.acted_on()
        if ticket is None:
            return

        def typed(text: str | None) -> None:
            if not text:
                return
            from supportdesk.domain.errors import DomainError
            from supportdesk.domain.time_log import shown, split_entry

            try:
                seconds, note = split_entry(text)
            except DomainError as error:
                self._say(error.message, error=True)
                self._ask_time(ticket, text, typed)
                return
            self.console.write(
                [("ticket.log_time", {"ticket_id": ticket.id, "seconds": seconds, "note": note})],
                done=lambda _: self._say(f"logged {shown(seconds)} on {ticket.label}"),
            )

        self._ask_time(ticket, draft, typed)

    def _ask_time(self, ticket: TicketRef, value: str, then: Any) -> None:
        self.console.push_screen(
            PromptScreen(f"Log time on {ticket.label}", value=value, placeholder="30m called the customer"), then
        )

    def _snooze(self, ticket: TicketRef, spec: str) -> None:
        from supportdesk.domain.errors import DomainError
        from supportdesk.domain.when import parse_until

        try:
            until = parse_until(spec, self.console.now())
        except DomainError as error:
            self._say(error.message, error=True)
            return
        shown = f"{until.astimezone():%a %d %b %H:%M}"
        self.console.write(
            [("ticket.snooze", {"ticket_id": ticket.id, "until": until})],
            done=lambda _: self._say(f"{ticket.label} snoozed until {shown}"),
        )

    # --- merge and link -------------------------------------------------------------------------

    def action_merge(self) -> None:
        """``M``: merge this ticket into another (the CLI's checks: the mutation's; tickets of
        different requesters only after the agent said yes)."""
        ticket = self.acted_on()
        if ticket is None:
            return

        def typed(ref: str | None) -> None:
            if not ref:
                return
            target = self.console.db.find_ticket(ref)
            if target is None:
                self._say(f"no ticket {ref}", error=True)
                return
            target_id, number, requester_id, requester = target
            source = self.console.db.find_ticket(ticket.id)
            into = f"#{number}" if number is not None else "that ticket"

            def merge(different: bool) -> None:
                args = {"source_id": ticket.id, "target_id": target_id, "different_requesters": different}
                self.console.write(
                    [("ticket.merge", args)], done=lambda _: self._say(f"{ticket.label} merged into {into}")
                )

            if source is not None and source[2] != requester_id:
                question = (
                    f"{ticket.label} is from {source[3] or 'another customer'} and {into} from "
                    f"{requester or 'another customer'}: merge tickets of different requesters?"
                )
                self.console.push_screen(ConfirmScreen(question), lambda yes: merge(True) if yes else None)
            else:
                merge(False)

        self.console.push_screen(
            PromptScreen(f"Merge {ticket.label} into ticket", placeholder="number, e.g. 1042"), typed
        )

    def action_link(self) -> None:
        """``L``: link this ticket (an incident) to the problem ticket behind it; ``none`` unlinks."""
        ticket = self.acted_on()
        if ticket is None:
            return

        def typed(ref: str | None) -> None:
            if ref is None:
                return
            unlink = ref.strip().lower() == "none"
            problem = None if unlink else self.console.db.find_ticket(ref)
            if not unlink and problem is None:
                self._say(f"no ticket {ref}", error=True)
                return
            problem_id = problem[0] if problem else None
            said = f"{ticket.label} linked to problem #{problem[1]}" if problem else f"{ticket.label} unlinked"
            self.console.write(
                [("ticket.link_problem", {"ticket_id": ticket.id, "problem_id": problem_id})],
                done=lambda _: self._say(said),
            )

        self.console.push_screen(
            PromptScreen(f"Link {ticket.label} to the problem ticket", placeholder="number; none unlinks"), typed
        )

    # --- the ticket pane, opened with a mode --------------------------------------------------

    def open_ticket(self, mode: str | None, ticket: TicketRef | None = None) -> None:
        """The ticket pane on ``ticket`` (default: the one acted on), opening with ``mode``."""
        ticket = ticket or self.acted_on()
        if ticket is None:
            return
        pane = self.console.ticket_screen(ticket.id, mode=mode, queue=self.ticket_list())
        if pane is not self.console.screen:
            self.console.push_screen(pane)

    def action_open_ticket(self) -> None:
        self.open_ticket(None)

    def action_reply(self) -> None:
        self.open_ticket("reply")

    def action_note(self) -> None:
        self.open_ticket("note")

    def action_macros(self) -> None:
        self.open_ticket("macros")

    def action_knowledge_base(self) -> None:
        self.open_ticket("kb")

    # --- a phone call ---------------------------------------------------------------------------

    def action_log_call(self) -> None:
        ticket = None if self.CALL_OPENS_A_TICKET else self.acted_on()
        if ticket is None and not self.CALL_OPENS_A_TICKET:
            return

        def logged(call: CallLog | None) -> None:
            if call is None:
                return
            args: dict[str, Any] = {
                "direction": call.direction,
                "number": call.number,
                "duration_seconds": call.duration_seconds,
                "notes": call.notes,
            }
            if ticket is not None:
                args["ticket_id"] = ticket.id
                self.console.write([("ticket.log_call", args)], done=lambda _: self._say("call logged"))
                return
            args["caller_name"] = call.caller_name
            self.console.write(
                [("ticket.log_call", args)],
                done=lambda outcomes: self._say(
                    f"call logged on new ticket #{outcomes[0].result.get('number') or '—'}"
                ),
            )

        if ticket is None:
            screen = CallScreen("Log a phone call (opens a ticket for the caller)")
        else:
            screen = CallScreen("Log a phone call on this ticket", number=ticket.phone, new_ticket=False)
        self.console.push_screen(screen, logged)
