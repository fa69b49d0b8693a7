"""The one root of the errors a person can cause: :class:`SupportdeskError`.

Every error a user's input, configuration or environment can provoke — a query that does not
parse, a rule a mutation breaks, a config file that cannot be read, a workspace that cannot be
opened, a server that refuses — derives from it and says, in ``str(error)``, one sentence the
person can act on. Each edge (the CLI, the console, the server) shows such an error as that one
line. Anything else that reaches an edge is *our* bug: still one line, with the traceback only
when asked for (``SUPPORTDESK_DEBUG=1``).

A leaf module: it imports nothing, so every layer can derive from it.
"""

from __future__ import annotations


class SupportdeskError(Exception):
    """The user's mistake (or their environment's), told in one sentence."""
