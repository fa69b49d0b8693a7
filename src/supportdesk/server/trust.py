"""What a client may claim in a pushed mutation, and what only the server says.

A message's author, its direction and what a channel recorded about it (mail headers and their
DMARC verdict, a signed reference, a chat line, the survey it answers) decide where replies go
and what an agent believes. Channels ingest as the system actor inside the server
(``ServerState.apply_as``); a client pushes as its agent. So for every pushed mutation:

- the mutations only the server's own parts make — a customer's message (``ticket.receive``), a
  rule's automatic reply, a customer's survey answer — are refused, whoever pushes them;
- ``meta`` (channel metadata) is dropped from the arguments: the server records none for an
  agent's message beyond what the mutator itself derives (a logged call's number and length);
- ``ticket.create`` records its first message as written by the pushing agent. An agent who
  opens a ticket *for* a customer (``author: customer``: what they said on the phone, a mail
  they forwarded to the agent) gets that text as their own internal note — it is theirs, and
  it is not sent back to the customer; with ``author: agent`` the first message is the agent's
  public message to the customer (a proactive ticket, sent through its channel).

- a number past 64 bits anywhere in the arguments (a custom field's value: 2**70) is refused: the
  server writes records with orjson, which cannot encode it, and a record it cannot write would
  break every pull, poke and webhook of the ticket's group from then on.

Admins' imports (``ticket.import``) keep the authors and metadata of the history they carry: an
import moves a team's past, and only an admin may run one.
"""

from __future__ import annotations

import math
from typing import Any

from supportdesk.domain.context import Actor
from supportdesk.domain.errors import DomainError, PermissionDenied, ValidationFailed

#: Mutations made by the server's own parts only: channels, routing rules, the survey link.
SERVER_ONLY = {
    "ticket.receive": "a customer's message arrives through a channel, never from a client",
    "ticket.auto_reply": "automatic replies are sent by the server's routing rules",
    "survey.answer": "survey answers come from the customer's survey link",
}


def pushed_args(actor: Actor, name: str, args: dict[str, Any]) -> tuple[dict[str, Any], DomainError | None]:
    """The arguments of a pushed mutation with the server-owned ones set, or the refusal."""
    if actor.is_system:
        return args, None
    if name in SERVER_ONLY:
        return args, PermissionDenied(f"{name} cannot be pushed: {SERVER_ONLY[name]}", field="name")
    encoded = _encoded(args)
    if encoded is None and _past_64_bits(args):
        return args, ValidationFailed(f"{name}: a number in it is past 64 bits", field="args")
    uncarried = _uncarried(args) if encoded is None else None
    if uncarried is not None:  # stored, no answer could carry the row again
        return args, ValidationFailed(
            f"{name}: it holds a text that is not Unicode (a lone surrogate) or nests too deep", field=uncarried
        )
    if encoded is not None and b"null" in encoded and has_non_finite(args):  # orjson writes NaN as null
        return args, ValidationFailed(f"{name}: a number in it is NaN or infinite (JSON has neither)", field="args")
    if "meta" in args:
        args = {key: value for key, value in args.items() if key != "meta"}
    if name == "ticket.create" and args.get("author", "customer") != "agent":
        args = {**args, "author": "agent", "public": False}
    return args, None


#: The integers every encoder of the server writes (orjson: 64 bits) and PostgreSQL's bigint holds.
_SMALLEST, _LARGEST = -(2**63), 2**63 - 1


def _encoded(args: dict[str, Any]) -> bytes | None:
    """``args`` as orjson writes them (the common case, at C speed: ~1 µs for a note's), or None."""
    import orjson

    try:
        return orjson.dumps(args)
    except TypeError:  # orjson.JSONEncodeError
        return None


def _uncarried(args: dict[str, Any]) -> str | None:
    """The field to name when orjson refuses ``args`` for a lone surrogate (Python's JSON parser
    reads ``"\\ud800"``) or nesting past its 255 levels, else None: a text argument of its own
    (``subject``), or ``args`` when it sits deeper — kept by a value typed ``Any`` (an imported
    message's ``meta``) and stored, the row made every pull that reached it answer 500."""
    import orjson

    try:
        orjson.dumps(args)
    except TypeError as error:
        if "surrogates" not in str(error) and "Recursion" not in str(error):
            return None
    else:
        return None
    for key, value in args.items():
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return key
    return "args"


def has_non_finite(value: Any) -> bool:
    """Whether ``value`` (parsed JSON) holds a NaN or an infinity, however deep: the server's
    bodies are read by Python's JSON parser, which takes ``NaN``, ``Infinity`` and ``1e999``;
    stored, SQLite's JSON functions call the text malformed (PostgreSQL refuses it with its own
    error). Asked only when orjson wrote a ``null`` (as it writes those)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, _CONTAINERS):
        return False
    for one in value:  # noqa: SIM110 -- a loop: any(…)'s generator cost more than the values
        if isinstance(one, _DEEPER) and has_non_finite(one):
            return True
    return False


#: Tuples, not ``list | tuple``: a union in ``isinstance`` is built again at every call.
_CONTAINERS = (list, tuple)
_DEEPER = (float, dict, list, tuple)


def _past_64_bits(value: Any) -> bool:
    """Whether ``value`` (parsed JSON) holds an integer outside 64 bits, however deep."""
    if isinstance(value, int):
        return not _SMALLEST <= value <= _LARGEST
    if isinstance(value, dict):
        return any(_past_64_bits(one) for one in value.values())
    if isinstance(value, list | tuple):
        return any(_past_64_bits(one) for one in value)
    return False
