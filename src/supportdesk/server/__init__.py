"""The team server: FastAPI app, tokens, the sync endpoints, REST reads, live events.

The only package that imports FastAPI. :func:`supportdesk.server.app.create_app` builds an app
around one :class:`~supportdesk.server.state.ServerState`; the endpoints are module-level routers
in :mod:`supportdesk.server.routes` (and the channels' in :mod:`supportdesk.server.channels`).
Mutations arrive through :mod:`supportdesk.server.apply`, which runs the very mutators of
:mod:`supportdesk.domain` and writes the change log; the messages are :mod:`supportdesk.protocol`.
"""
