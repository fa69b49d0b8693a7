"""Importing this package registers every mutator with :mod:`supportdesk.domain.registry`."""

from supportdesk.domain.mutations import customers, imports, library, privacy, sla, team, tickets

__all__ = ["customers", "imports", "library", "privacy", "sla", "team", "tickets"]
