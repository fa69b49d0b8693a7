"""Offline-first sync with the team server: wire models, HTTP client, outbox, rebase, bootstrap.

Imports ``store`` and ``domain`` only. The console shows sync state through
:class:`supportdesk.sync.service.SyncService` and its :class:`~supportdesk.sync.service.SyncStatus`.
"""
