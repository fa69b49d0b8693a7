"""OpenAPI links between the REST operations: what a created thing can be read and written by.

A link says "the ``number`` of the ticket this answer created is the ``number`` parameter of
``GET /v1/tickets/{number}``". Integrations read them as documentation; Schemathesis's stateful
phase follows them (create a ticket, then read it, reply to it, change it, merge it), so the
contract is checked along the paths an integration takes, not one request at a time.

Operation ids are FastAPI's (``<function>_<path>_<method>``); ``tests/server/test_rest_contract.py``
checks that every link names an operation that exists.
"""

from __future__ import annotations

from typing import Any

TICKET = {"number": "$response.body#/number"}
TICKET_IN_BODY = {"number": "$response.body#/ticket/number"}


def _links(targets: dict[str, tuple[str, dict[str, str]]]) -> dict[str, Any]:
    return {
        name: {"operationId": operation, "parameters": parameters} for name, (operation, parameters) in targets.items()
    }


def _ticket_links(parameters: dict[str, str]) -> dict[str, Any]:
    return _links(
        {
            "ReadTicket": ("show_ticket_v1_tickets__number__get", parameters),
            "ReplyToTicket": ("reply_v1_tickets__number__replies_post", parameters),
            "NoteOnTicket": ("note_v1_tickets__number__notes_post", parameters),
            "ChangeTicket": ("change_ticket_v1_tickets__number__patch", parameters),
        }
    )


#: A ticket created or changed: read it, reply, note, change it; its requester's record.
TICKET_CREATED: dict[str, Any] = {
    **_ticket_links(TICKET),
    "MergeTicket": {"operationId": "merge_ticket_v1_tickets__number__merge_post", "parameters": TICKET},
    "ReadRequester": {
        "operationId": "show_customer_v1_customers__customer_id__get",
        "parameters": {"customer_id": "$response.body#/requester_id"},
    },
}
#: A reply or note: the ticket it went to.
MESSAGE_ADDED: dict[str, Any] = _ticket_links(TICKET_IN_BODY)
#: A customer read or changed: read and change it again.
CUSTOMER: dict[str, Any] = _links(
    {
        "ReadCustomer": ("show_customer_v1_customers__customer_id__get", {"customer_id": "$response.body#/id"}),
        "ChangeCustomer": ("change_customer_v1_customers__customer_id__patch", {"customer_id": "$response.body#/id"}),
    }
)
#: An article created: read and change it.
ARTICLE_CREATED: dict[str, Any] = _links(
    {
        "ReadArticle": ("show_article_v1_articles__article_id__get", {"article_id": "$response.body#/id"}),
        "ChangeArticle": ("change_article_v1_articles__article_id__patch", {"article_id": "$response.body#/id"}),
    }
)
#: A macro created: read and change it.
MACRO_CREATED: dict[str, Any] = _links(
    {
        "ReadMacro": ("show_macro_v1_macros__macro_id__get", {"macro_id": "$response.body#/id"}),
        "ChangeMacro": ("change_macro_v1_macros__macro_id__patch", {"macro_id": "$response.body#/id"}),
    }
)


def with_links(
    errors: dict[int | str, dict[str, Any]], status: int, links: dict[str, Any], description: str
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation: its errors, and its success with ``links``."""
    return {**errors, status: {"description": description, "links": links}}
