"""The demo workspace: a fictional company and its support history, generated deterministically."""
