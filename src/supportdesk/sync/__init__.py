"""Offline-first sync with the team server: HTTP client, outbox, rebase, bootstrap.

Imports ``store``, ``domain`` and the shared :mod:`supportdesk.protocol` (the wire models) only.
The console shows sync state through
:class:`supportdesk.sync.service.SyncService` and its :class:`~supportdesk.sync.service.SyncStatus`.
"""
