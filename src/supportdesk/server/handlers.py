"""The answers to refusals and failures: one JSON error shape, and logs that leak nothing.

Every refusal is ``{"error": {"code", "message", "field"}}`` (:class:`supportdesk.protocol.ErrorBody`)
with a 4xx status; a 429 carries ``Retry-After``. An error of our own is a 500 whose log line
never holds SQL or the values of a request: a database error's text quotes the statement and
often the offending value (a forged cursor, a customer's words), so the log gets the error's
class, the driver's SQLSTATE and the stack, nothing else.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from supportdesk.domain.errors import DomainError
from supportdesk.server.errors import ApiError
from supportdesk.server.limits import ASGIApp, Message, Receive, Scope, Send, retry_after
from supportdesk.server.request_log import current_id, path_for_log, safe

log = logging.getLogger("supportdesk.server")


class ORJSONResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(error: ApiError) -> ORJSONResponse:
    headers = {}
    if "retry_after" in error.extra:
        headers["Retry-After"] = retry_after(float(error.extra["retry_after"]))
    body = error.body()
    body["error"].pop("retry_after", None)
    return ORJSONResponse(body, status_code=error.status, headers=headers)


#: FastAPI's detail for a body its decoder could not read (see ``_http`` below).
BODY_NOT_PARSED = "There was an error parsing the body"


def domain_status(error: DomainError) -> int:
    return 404 if error.code == "not_found" else 403 if error.code == "forbidden" else 422


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    """``("query", "cursor")`` → ``cursor``, ``("body", "mutations", 0, "id")`` → ``mutations.0.id``:
    the first part says where the field was, and a field may itself be called ``query``."""
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def _about_nul(pattern: str) -> bool:
    """Whether a field's pattern only keeps NUL out (most of ours): then NUL is what broke it."""
    return "\\x00" in pattern or "\x00" in pattern


def validation_error(error: RequestValidationError) -> ApiError:
    first = error.errors()[0]
    if first.get("type") == "json_invalid":
        reason = first.get("ctx", {}).get("error", "not valid JSON")
        return ApiError(400, "malformed_json", f"the body is not valid JSON: {reason}", field="body")
    where = _field_path(first.get("loc", ()))
    kind = first.get("type")
    location = first.get("loc", ("",))[0]
    if location == "header" and kind == "string_pattern_mismatch":
        # a header is the request's frame, not its content: Idempotency-Key, If-Match
        return ApiError(400, "invalid", f"{where} is not in the form this API takes (see its description)", field=where)
    if kind == "extra_forbidden":
        message = f"{where} is not a field of this request"
    elif kind == "missing":
        message = f"{where} is required"
    elif kind == "string_pattern_mismatch" and _about_nul(str(first.get("ctx", {}).get("pattern", "\\x00"))):
        message = f"{where} holds a character that is not allowed (NUL)"
    elif kind == "string_pattern_mismatch":
        message = f"{where} is not in the form this field takes (see the API's description)"
    else:
        message = f"{where}: {first.get('msg', 'invalid')}"
    return ApiError(422, "invalid", message, field=where)


def safe_description(error: BaseException) -> str:
    """The class of an error and, for a database error, its SQLSTATE — never its text."""
    from sqlalchemy.exc import DBAPIError

    name = type(error).__name__
    if isinstance(error, DBAPIError) and error.orig is not None:
        original = error.orig
        state = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
        name += f" ({type(original).__name__}{', ' + str(state) if state else ''})"
    return name


def stack(error: BaseException) -> str:
    """Where an error came from, one ``file:line in function`` a frame: no source lines (ours
    quote SQL) and no values."""
    frames = traceback.extract_tb(error.__traceback__) if error.__traceback__ else []
    return "\n".join(f"  {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames)


def _out_of_range(error: BaseException) -> bool:
    """A value of the request that the database cannot hold (too large, malformed for its type)."""
    from sqlalchemy.exc import DataError, StatementError

    if isinstance(error, OverflowError | DataError):
        return True
    return isinstance(error, StatementError) and isinstance(error.orig, OverflowError)


class CatchAll:
    """ASGI middleware: an error no handler took becomes a JSON 500 (or a 422 for a value the
    database cannot hold) and one log line without SQL or values.

    Starlette's own last-resort handler answers and then raises the error again for the server
    to log, and uvicorn's log of it quotes the failing statement with its parameters; here the
    error stops.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            return  # the client left while sending its body: nobody to answer
        except Exception as error:
            request = current_id()
            where = f"{safe(scope.get('method', '?'), 12)} {path_for_log(scope)} (request {request})"
            if _out_of_range(error):
                # Every endpoint bounds its inputs; this is the net under a bound we missed.
                log.warning("refused a value the database cannot hold in %s", where)
                refusal = ApiError(422, "out_of_range", "a value in the request is out of range for the database")
            else:
                log.error("unexpected %s in %s\n%s", safe_description(error), where, stack(error))
                refusal = ApiError(500, "internal", f"the server failed; its log has the error under request {request}")
            if not started:
                await error_response(refusal)(scope, receive, send)


#: Seconds a request refused for want of a free database connection is told to wait.
POOL_RETRY = 2.0


def install_error_handlers(app: FastAPI) -> None:
    """The handlers of refusals we raise on purpose; :class:`CatchAll` takes everything else."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, error: ApiError) -> Response:
        return error_response(error)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, error: DomainError) -> Response:
        return ORJSONResponse({"error": error.as_dict()}, status_code=domain_status(error))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> Response:
        return error_response(validation_error(error))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 400 and error.detail == BODY_NOT_PARSED:
            # FastAPI's answer when decoding the body raised anything but a JSON syntax error:
            # bytes that are not UTF-8, or arrays nested deeper than the decoder recurses.
            reason = "it is not UTF-8 or nests too deeply"
            return error_response(
                ApiError(400, "malformed_json", f"the body is not valid JSON: {reason}", field="body")
            )
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        if error.status_code == 405:
            allowed = allowed_methods(request)
            message = f"{request.method} is not allowed here: use {', '.join(allowed)}"
            answer = error_response(ApiError(405, code, message))
            answer.headers["Allow"] = ", ".join(allowed)
            return answer
        return error_response(ApiError(error.status_code, code, str(error.detail)))

    from sqlalchemy.exc import TimeoutError as PoolTimeout

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, _error: PoolTimeout) -> Response:
        # every connection of the pool stayed lent for the pool's whole timeout: an overload,
        # not a bug of ours — a 500 "the server failed" told clients and operators otherwise
        log.warning("no database connection was free for %s (request %s)", path_for_log(request.scope), current_id())
        return error_response(
            ApiError(503, "unavailable", "the server is busy: try again shortly", retry_after=POOL_RETRY)
        )


def allowed_methods(request: Request) -> list[str]:
    """Every method the API takes at this path (RFC 9110 asks a 405 to list them in ``Allow``;
    Starlette names only the first route's, and a path may have several: GET and PATCH). Read
    from the OpenAPI description, so ``Allow`` and the contract cannot disagree."""
    import re

    table: list[tuple[re.Pattern[str], set[str]]] | None = getattr(request.app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{pattern}$"), {method.upper() for method in operations}))
        request.app.state.allowed_methods = table
    methods = {method for pattern, verbs in table if pattern.match(request.url.path) for method in verbs}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
