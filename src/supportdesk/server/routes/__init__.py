"""The server's endpoints, one router per concern, each a module-level ``APIRouter``.

- :mod:`.sync` — what a workspace syncs with: health, ``me``, push, pull, rows, bootstrap,
  events, presence;
- :mod:`.tickets` — REST reads for integrations;
- :mod:`.admin` — administration over HTTP (admins only);
- :mod:`.feedback` — the customer's survey link (no API token).

The channels' endpoints live with the channels (:mod:`supportdesk.server.channels`). Endpoints
reach the app's state through :data:`supportdesk.server.state.State` and the caller through
:data:`supportdesk.server.auth.Caller`; no router holds state of its own.
"""
