"""The ``supportdesk`` command line: typer, one module per command group, imports kept lazy."""
