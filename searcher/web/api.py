"""The JSON API: each endpoint is one library call and the ``to_dict()`` that ``mqt … --json`` prints.

``GET /api/search`` = ``mqt search --json``, ``GET /api/questions/{id}`` = ``mqt show --json``,
``GET /api/questions/{id}/similar`` = ``mqt similar --json``, ``GET /api/stats`` = ``mqt stats --json``,
``GET /api/trend`` = ``mqt trend --json``;
``GET /healthz`` for load balancers; ``GET /api/openapi.json`` describes them all. Errors are JSON in
one shape (``errors.py``), never a traceback or an HTML page.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from importlib import resources

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..params import MATCH_PARAMS, SearchRequest, whole_number
from ..results import to_json
from ..search import MAX_LIMIT
from .errors import error_body, error_for
from .service import IndexService, check_id, question

log = logging.getLogger("mqt.web")
#: Successful answers may be cached this long by browsers and proxies (a reindex shows after it).
CACHE_SECONDS = 5


#: orjson leaves dates, datetimes and dataclasses to ``_default`` (``str``, as ``to_json`` writes
#: them) and writes non-string keys as text, as the standard library does.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS


def _default(obj):
    return float(obj) if isinstance(obj, float) else str(obj)  # a float subclass (numpy) as a number


def json_bytes(content) -> bytes:
    """The JSON text ``results.to_json`` writes (what ``--json`` prints, the same values once
    parsed, ``<``, ``>`` and ``&`` escaped), compact, by orjson: 8 us for a 9 KB result page
    against 250 us for ``json.dumps`` (docs/benchmarks.md). What orjson refuses (an integer
    past 64 bits) is written by ``to_json``."""
    try:
        data = orjson.dumps(content, default=_default, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return to_json(content, indent=None).encode("utf-8")
    return data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")


class JSONResponse(Response):
    """JSON written like ``--json`` (``json_bytes``), compact."""

    media_type = "application/json"

    def render(self, content) -> bytes:
        return json_bytes(content)


def ok(content, cache: bool = True) -> JSONResponse:
    headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}" if cache else "no-store"}
    return JSONResponse(content, headers=headers)


def error_response(exc: BaseException) -> JSONResponse:
    status, body = error_for(exc)
    if status == 500:
        log.error("internal error", exc_info=exc)
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status,
                        headers={"Cache-Control": "no-store"})


def endpoint(fn):
    """Any exception in ``fn`` becomes the JSON error for it."""

    @functools.wraps(fn)
    async def wrapper(request: Request):
        try:
            return await fn(request)
        except Exception as exc:  # every error is answered in the API's shape
            return error_response(exc)

    return wrapper


def service(request: Request) -> IndexService:
    return request.app.state.service


def no_params(request: Request, *allowed: str) -> dict[str, str]:
    """The query parameters, refusing unknown or repeated ones (a typo should not pass silently)."""
    from ..query import QueryError

    out: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in allowed:
            hint = f"; use {', '.join(allowed)}" if allowed else "; this endpoint takes none"
            raise QueryError(f"unknown parameter {name!r}{hint}")
        if name in out:
            raise QueryError(f"parameter {name!r} is given more than once")
        out[name] = value
    return out


@endpoint
async def search(request: Request):
    req = SearchRequest.from_params(request.query_params.multi_items())
    page = await service(request).run(req.run)
    return ok(page.to_dict())


@endpoint
async def trend(request: Request):
    params = no_params(request, *MATCH_PARAMS, "interval", "by")
    interval = params.pop("interval", "") or "year"
    by = params.pop("by", "") or None
    req = SearchRequest.from_params(params)
    t = await service(request).run(lambda s: req.trend(s, interval=interval, by=by))
    return ok(t.to_dict())


@endpoint
async def show(request: Request):
    no_params(request)
    doc_id = request.path_params["id"]
    rec = await service(request).run(lambda s: question(s, doc_id))
    return ok(rec.to_dict())


@endpoint
async def similar(request: Request):
    params = no_params(request, "limit")
    limit = whole_number(params["limit"], "limit", MAX_LIMIT) if params.get("limit") else 10
    doc_id = request.path_params["id"]

    page = await service(request).run(lambda s: s.similar(check_id(doc_id), limit=limit))
    return ok(page.to_dict())


@endpoint
async def stats(request: Request):
    no_params(request)
    st = await service(request).run(lambda s: s.stats())
    return ok(st.to_dict())


async def healthz(request: Request):
    """200 with the document count and index generation; 503 when the index cannot be read.

    Answered on the event loop's own thread (a ``stat`` and a document count), not behind the
    searches queued on the pool, so a busy server still answers its load balancer at once."""
    try:
        health = service(request).call(lambda s: s.health())
    except Exception as exc:
        status, body = error_for(exc)
        if status == 500:
            log.error("internal error", exc_info=exc)
        return JSONResponse({"status": "unavailable", "pid": os.getpid(), **body},
                            status_code=503, headers={"Cache-Control": "no-store"})
    return ok({"status": "ok", "pid": os.getpid(), **health.to_dict()}, cache=False)


@functools.lru_cache(maxsize=1)
def openapi_text() -> str:
    return (resources.files(__package__) / "openapi.json").read_text(encoding="utf-8")


async def openapi(request: Request):
    return Response(openapi_text(), media_type="application/json",
                    headers={"Cache-Control": "public, max-age=3600"})


def openapi_paths() -> set[str]:
    """The paths the OpenAPI description lists (tests compare them with the routes)."""
    return set(json.loads(openapi_text())["paths"])


routes = [
    Route("/api/search", search, methods=["GET"], name="api_search"),
    Route("/api/questions/{id}", show, methods=["GET"], name="api_question"),
    Route("/api/questions/{id}/similar", similar, methods=["GET"], name="api_similar"),
    Route("/api/stats", stats, methods=["GET"], name="api_stats"),
    Route("/api/trend", trend, methods=["GET"], name="api_trend"),
    Route("/api/openapi.json", openapi, methods=["GET"], name="api_openapi"),
    Route("/healthz", healthz, methods=["GET"], name="healthz"),
]
