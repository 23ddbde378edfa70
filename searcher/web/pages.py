"""The HTML pages: ``/`` (the search box, and results for a query), ``/trend`` (how often the
query's matches came up, per year or month, by party), ``/q/{id}`` (one question).

Server-rendered from Jinja2 templates (``templates/``); they work without JavaScript, whose only
job (``static/mqt.js``) is small conveniences. Every value from a document is escaped by the
templates' autoescaping; snippets go through ``views.marked``, which lets only ``<mark>`` through.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from index_data.errors import QueryError

from ..params import PARAM_NAMES, SearchRequest
from . import views
from .api import CACHE_SECONDS
from .errors import status_for
from .service import IndexService, question

log = logging.getLogger("mqt.web")
PACKAGE = resources.files(__package__)
#: Similar questions listed under a question.
SIMILAR = 5


def _static_versions() -> dict[str, str]:
    """A short content hash per static file, put in its URL so browsers may cache it for good."""
    out = {}
    for f in (PACKAGE / "static").iterdir():
        if f.is_file():
            out[f.name] = hashlib.sha256(f.read_bytes()).hexdigest()[:10]
    return out


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(PACKAGE / "templates"))
    env = templates.env
    env.trim_blocks = env.lstrip_blocks = True
    env.auto_reload = False  # the templates are part of the installed package: no stat per render
    versions = _static_versions()
    env.globals.update(
        static=lambda name: f"/static/{name}?v={versions.get(name, '0')}",
        search_url=views.search_url, hidden_fields=views.hidden_fields, trend_url=views.trend_url,
        feed_url=views.feed_url, export_url=views.export_url,
        sort_labels=views.SORT_LABELS, statuses=("answered", "holding", "unanswered"))
    env.filters.update(marked=views.marked, paragraphs=views.paragraphs,
                       thousands=lambda n: f"{n:,}")
    return templates


def service(request: Request) -> IndexService:
    return request.app.state.service


def render(request: Request, name: str, status: int = 200, **context) -> Response:
    headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}" if status == 200 else "no-store"}
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status,
                                                        headers=headers)


def error_page(request: Request, exc: BaseException, req: SearchRequest | None = None) -> Response:
    """The page for an error: a bad query (with where), an unknown id, no index, or a bug."""
    status = status_for(exc)
    if status == 500:
        log.error("internal error", exc_info=exc)
    return render(request, "error.html", status=status, req=req or SearchRequest(), status_code=status,
                  message=str(exc) if status != 500 else "Something went wrong on the server.")


async def home_or_search(request: Request):
    pairs = request.query_params.multi_items()
    req = SearchRequest(query=request.query_params.get("q", ""))  # kept if other arguments are bad
    try:
        req = SearchRequest.from_params(pairs, strict=False)
        if not any(v for k, v in pairs if k in PARAM_NAMES.values()):
            health = await service(request).run(lambda s: s.health())
            return render(request, "home.html", req=req, documents=health.documents)
        page = await service(request).run(req.run)
    except QueryError as exc:
        return render(request, "search.html", status=400, req=req, page=None, error=exc,
                      error_parts=views.error_parts(req.query, exc.offset))
    except Exception as exc:
        return error_page(request, exc, req)
    return render(request, "search.html", req=req, page=page, error=None,
                  chips=views.chips(req), facets=views.facets(req, page),
                  chart=views.year_chart(req, page), pages=views.pagination(req, page))


async def trend_page(request: Request):
    """The trend of a search's matches: stacked bars by party (SVG drawn here) and a table."""
    pairs = request.query_params.multi_items()
    req = SearchRequest(query=request.query_params.get("q", ""))
    interval = request.query_params.get("interval") or "year"
    try:
        req = SearchRequest.from_params(pairs, strict=False)
        trend = await service(request).run(lambda s: req.trend(s, interval=interval, by="party"))
    except QueryError as exc:
        return render(request, "trend.html", status=400, req=req, interval=interval, trend=None,
                      error=exc, error_parts=views.error_parts(req.query, exc.offset))
    except Exception as exc:
        return error_page(request, exc, req)
    return render(request, "trend.html", req=req, interval=interval, trend=trend, error=None,
                  chips=views.chips(req, lambda r, **ch: views.trend_url(r, interval, **ch)),
                  chart=views.trend_chart(trend),
                  table=views.trend_table(req, trend))


async def question_page(request: Request):
    doc_id = request.path_params["id"]

    def run(s):
        rec = question(s, doc_id)
        return rec, s.similar(rec.id, limit=SIMILAR, snippets=False)

    try:
        rec, similar = await service(request).run(run)
    except Exception as exc:
        return error_page(request, exc)
    return render(request, "question.html", req=SearchRequest(), q=rec, similar=similar)


routes = [
    Route("/", home_or_search, methods=["GET"], name="search"),
    Route("/trend", trend_page, methods=["GET"], name="trend"),
    Route("/q/{id}", question_page, methods=["GET"], name="question"),
]
