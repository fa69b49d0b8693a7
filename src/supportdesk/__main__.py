"""`python -m supportdesk` is the same as the `supportdesk` command."""

from supportdesk.cli.main import run

run()
