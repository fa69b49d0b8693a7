"""Offline assist: triage, suggestions, similar tickets, duplicates, summaries and trends.

Everything runs on models shipped inside installed packages (WordLlama, Lingua, VADER) and
nothing leaves the machine. Importing this package loads nothing: the names below resolve on
first use, and the models load on the first call that needs them (in a worker, from the
console). See ARCHITECTURE.md, "Assist", for the calls phase 2 makes.

    from supportdesk import assist
    triager = assist.triager(connection)          # once per process and workspace
    triager.triage_ticket(connection, ticket_id).fields()
    assist.suggestions(connection, ticket_id)     # articles, macros, similar tickets
    assist.build_index(connection, progress=cb)   # embed new tickets (incremental)
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

# Our matrix products are small (one ticket against a few thousand vectors); a multi-threaded
# BLAS spins up threads for each and, on a busy machine, turns 0.1 ms into 10 ms. Set before
# numpy is first imported (nothing else in supportdesk imports it); a user's setting wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

_EXPORTS = {
    "Triage": "supportdesk.assist.triage",
    "Triager": "supportdesk.assist.triage",
    "triager": "supportdesk.assist.triage",
    "Intent": "supportdesk.assist.intents",
    "IntentFileError": "supportdesk.assist.intents",
    "parse_intents": ("supportdesk.assist.intents", "parse"),
    "seed_intents": ("supportdesk.assist.intents", "seed"),
    "corrections_from_audit": "supportdesk.assist.intents",
    "Suggestions": "supportdesk.assist.suggest",
    "suggestions": "supportdesk.assist.suggest",
    "articles_for": "supportdesk.assist.suggest",
    "macros_for": "supportdesk.assist.suggest",
    "similar_tickets": "supportdesk.assist.similar",
    "semantic_search": "supportdesk.assist.similar",
    "find_duplicates": ("supportdesk.assist.duplicates", "find"),
    "duplicate_score": ("supportdesk.assist.duplicates", "score"),
    "summarize": "supportdesk.assist.summary",
    "trends": "supportdesk.assist.trending",
    "build_index": ("supportdesk.assist.index", "build"),
    "forget_tickets": "supportdesk.assist.index",
    "forget_customer": "supportdesk.assist.index",
    "IndexUnavailable": "supportdesk.assist.index",
    "ModelUnavailable": "supportdesk.assist.models",
    "warm_up": "supportdesk.assist.warm",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'supportdesk.assist' has no attribute {name!r}")
    module_name, attribute = target if isinstance(target, tuple) else (target, name)
    value = getattr(import_module(module_name), attribute)
    globals()[name] = value
    return value
