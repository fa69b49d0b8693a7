"""Importing this package registers every mutator with :mod:`supportdesk.domain.registry`."""

from supportdesk.domain.mutations import customers, library, sla, team, tickets

__all__ = ["customers", "library", "sla", "team", "tickets"]
