"""The mutators, one module per noun (tickets, customers, macros, routing rules …).

Each module registers its mutations with :mod:`supportdesk.domain.registry` when imported;
:mod:`supportdesk.domain.catalog` imports them all. This package's own import loads none of
them, so a module that needs ``mutations.common`` does not pull in every mutator.
"""
