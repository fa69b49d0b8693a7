"""The team server: FastAPI app, tokens, the sync endpoints, REST reads, live events.

The only package that imports FastAPI. Mutations arrive through :mod:`supportdesk.server.apply`,
which runs the very mutators of :mod:`supportdesk.domain` and writes the change log.
"""
