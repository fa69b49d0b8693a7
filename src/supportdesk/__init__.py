"""supportdesk: a terminal-first, offline-safe console for customer-support engineers."""

__version__ = "0.1.0"
