"""How an error becomes an HTTP status and a JSON body, for the API and the pages alike.

The one error shape of the API (README "Web and API")::

    {"error": {"status": 400, "code": "bad_request",
               "message": "unclosed quote (at position 1)", "position": 1}}

``position`` is where in ``q`` a query syntax error is, counted from 1 as the message says
(``QueryError.position``; ``null`` for other errors); the message is the line ``mqt`` prints.
"""

from __future__ import annotations

from index_data.errors import (IndexCorruptError, IndexMissingError, IndexVersionError, MqtError,
                               NotFoundError, QueryError)

CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 500: "internal_error",
         503: "index_unavailable"}


def status_for(exc: BaseException) -> int:
    """400 for bad queries and arguments, 404 for unknown ids, 503 when the index cannot be read,
    500 for anything else (a bug: logged, never shown)."""
    if isinstance(exc, QueryError):
        return 400
    if isinstance(exc, (IndexMissingError, IndexVersionError, IndexCorruptError)):
        return 503
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, MqtError):
        return 400
    return 500


def error_body(status: int, message: str, position: int | None = None) -> dict:
    return {"error": {"status": status, "code": CODES.get(status, "error"), "message": message,
                      "position": position}}


def error_for(exc: BaseException) -> tuple[int, dict]:
    """The status and JSON body for an exception (a 500 says nothing about what went wrong)."""
    status = status_for(exc)
    if status == 500:
        return status, error_body(500, "internal error (logged on the server)")
    return status, error_body(status, str(exc), getattr(exc, "position", None))
