"""The one write path: named mutations, the rules they obey, macros and text safety.

Imports ``store`` and nothing above it. Modules are imported directly
(``supportdesk.domain.write``, ``supportdesk.domain.text_safety`` …) to keep start-up light.
"""
