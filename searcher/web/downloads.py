"""Answers that are files rather than pages or JSON: Atom feeds and exports.

``GET /search.atom`` = ``mqt search … --format atom`` (the newest matches); ``GET
/watch/{name}.atom`` = ``mqt watch feed NAME`` (read-only: the server never writes the watch
database); ``GET /export.csv`` and ``/export.jsonl`` = ``mqt export`` (every match, streamed on a
thread of its own: ``service.IndexService.stream``). Entries link to this server (the request's
base URL). Errors are one line of plain text, with the status the API would give.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from index_data.errors import MqtError, NotFoundError, QueryError

from ..export import Format, write
from ..params import EXPORT_PARAMS, FEED_PARAMS, SearchRequest
from .api import CACHE_SECONDS, no_params
from .errors import status_for
from .service import BusyError, IndexService

log = logging.getLogger("mqt.web")
ATOM_TYPE = "application/atom+xml; charset=utf-8"
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8; header=present",
                "jsonl": "application/jsonl; charset=utf-8"}
CACHED = {"Cache-Control": f"public, max-age={CACHE_SECONDS}"}


class StreamedFile(StreamingResponse):
    """A streamed download whose chunks (``IndexService.stream``) are closed when the response
    ends in any way, so that the writer behind them stops at once when the client goes away."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.body_iterator.aclose()  # type: ignore[attr-defined]


def plain_error(exc: BaseException) -> Response:
    """An error as one line of text: 400 bad argument, 404 unknown, 503 no index or busy."""
    if isinstance(exc, BusyError):
        return Response(f"{exc}\n", status_code=503, media_type="text/plain",
                        headers={"Cache-Control": "no-store", "Retry-After": "5"})
    status = status_for(exc)
    if status == 500:
        log.error("internal error", exc_info=exc)
        message = "internal error (logged on the server)"
    else:
        message = str(exc)
    return Response(message + "\n", status_code=status, media_type="text/plain",
                    headers={"Cache-Control": "no-store"})


def service(request: Request) -> IndexService:
    return request.app.state.service


def base_url(request: Request) -> str:
    """This server's address as the client reached it (behind a proxy: from its headers)."""
    return str(request.base_url)


async def search_feed(request: Request) -> Response:
    """The newest matches of a search as Atom (the same feed as ``mqt search --format atom``)."""
    try:
        req = SearchRequest.from_params(no_params(request, *FEED_PARAMS))
        base = base_url(request)
        data = await service(request).run(lambda s: req.atom(s, base_url=base))
    except Exception as exc:
        return plain_error(exc)
    return Response(data, media_type=ATOM_TYPE, headers=CACHED)


async def watch_feed(request: Request) -> Response:
    """A saved search's feed (``mqt watch feed NAME``), read from the watch database read-only."""
    from ..watch import WatchStore, valid_name

    name = request.path_params["name"]
    base = base_url(request)

    def read() -> bytes:
        with WatchStore(service(request).index_dir, readonly=True) as store:
            return store.feed(name, base_url=base)

    try:
        no_params(request)
        if not valid_name(name):
            raise QueryError(f"{name[:80]!r} is not a watch name")
    except QueryError as exc:
        return plain_error(exc)
    try:
        data = await run_in_threadpool(read)
    except NotFoundError as exc:
        return plain_error(exc)
    except MqtError as exc:  # the database cannot be read: say so, but not where it is
        log.error("watch feed %r: %s", name, exc)
        return Response("the watches cannot be read just now\n", status_code=503,
                        media_type="text/plain", headers={"Cache-Control": "no-store"})
    except Exception as exc:
        return plain_error(exc)
    return Response(data, media_type=ATOM_TYPE, headers=CACHED)


def download_name(query: str, fmt: str) -> str:
    """A file name for an export of ``query``: ``mqt-hate-crime.csv`` (ASCII letters and digits
    of the query only, so any query gives a safe header)."""
    ascii_text = unicodedata.normalize("NFKD", query).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_text.lower())
    slug = "-".join(words)[:40].strip("-")
    return f"mqt-{slug or 'export'}.{fmt}"


def export(fmt: Format):
    """``GET /export.<fmt>``: every match of a search, streamed as ``mqt export --format fmt``
    writes it; ``X-Result-Count`` says how many rows follow."""

    async def endpoint(request: Request) -> Response:
        try:
            req = SearchRequest.from_params(no_params(request, *EXPORT_PARAMS))
            headers = {"Content-Disposition": f'attachment; filename="{download_name(req.query, fmt)}"',
                       "Cache-Control": "no-store"}
            if request.method == "HEAD":  # the count, without reading a single record
                results = await service(request).run(req.iter_results)
                head = Response(status_code=200, media_type=EXPORT_TYPES[fmt],
                                headers={**headers, "X-Result-Count": str(results.total)})
                del head.headers["content-length"]  # unknown: the body is streamed
                return head
            results, chunks = await service(request).stream(
                req.iter_results, lambda results, out: write(results, out, fmt))
        except Exception as exc:
            return plain_error(exc)
        headers["X-Result-Count"] = str(results.total)
        return StreamedFile(chunks, media_type=EXPORT_TYPES[fmt], headers=headers)

    endpoint.__name__ = f"export_{fmt}"
    return endpoint


routes = [
    Route("/search.atom", search_feed, methods=["GET"], name="search_atom"),
    Route("/watch/{name}.atom", watch_feed, methods=["GET"], name="watch_atom"),
    Route("/export.csv", export("csv"), methods=["GET"], name="export_csv"),
    Route("/export.jsonl", export("jsonl"), methods=["GET"], name="export_jsonl"),
]
