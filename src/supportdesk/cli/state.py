"""The session of this process, for code that does not take one as a parameter yet.

Command bodies get their :class:`~supportdesk.cli.session.Session` from
:mod:`supportdesk.cli.wiring`; the root command fills in this one instance from the global
options, so both see the same workspace. ``State`` is the session's former name.
"""

from __future__ import annotations

from supportdesk.cli.session import Session

State = Session
STATE = Session()
