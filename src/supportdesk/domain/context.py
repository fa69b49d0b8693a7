"""Who is making a change, when, and with what authority."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from supportdesk.store.enums import Role
from supportdesk.store.times import utcnow


@dataclass(frozen=True)
class Actor:
    """The agent (or the system, for channels and rules) on whose behalf a mutation runs."""

    id: str | None
    name: str
    email: str = ""
    role: Role = Role.AGENT
    group_ids: frozenset[str] = frozenset()

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else ""

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_system(self) -> bool:
        return self.id is None


#: Inbound channels, rules and imports act as the system: every permission, no agent name.
SYSTEM = Actor(id=None, name="supportdesk", role=Role.ADMIN)


@dataclass
class MutationContext:
    """Everything a mutator may depend on besides its arguments and the store.

    ``authority`` is true on the server, and on a workspace that follows no server: only an
    authority hands out ticket numbers. ``mode`` is ``local`` (an agent's machine), ``server``
    or ``replay`` (a client re-running its pending mutations on top of pulled changes: no
    audit, inserts become upserts). ``automated`` marks the mutations a routing rule runs:
    they start no rule pass of their own, which is what keeps rules from ever looping.
    """

    actor: Actor
    now: datetime = field(default_factory=utcnow)
    authority: bool = True
    mode: str = "local"
    mutation_ref: str = ""
    automated: bool = False
    #: Which client made the change, for the audit (``console``, ``cli`` …: ``write.apply``'s
    #: ``source``; ``rule`` for a rule's action; empty when nobody said).
    source: str = ""
    warnings: list[str] = field(default_factory=list)
