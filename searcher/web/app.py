"""The ASGI application: the API and page routes, static files, security headers, the access log.

``create_app(index_dir)`` builds it; ``mqt serve`` runs it on uvicorn (``from_env`` is the factory
each worker process calls, reading the settings ``mqt serve`` put in the environment).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from importlib import resources

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from . import api, downloads, pages
from .service import IndexService

log = logging.getLogger("mqt.web")
access_log = logging.getLogger("mqt.access")

#: Scripts and styles only from this server, never inline; no framing; no plug-ins.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
STATIC_CACHE = b"public, max-age=31536000, immutable"


class SecurityHeaders:
    """Adds the security headers to every response, and long caching to versioned static files."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/") and b"v=" in scope.get("query_string", b"")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if static and message["status"] == 200:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", STATIC_CACHE))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """One line per request on the ``mqt.access`` logger: client, request line, status, bytes, ms."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        state = {"status": 0, "bytes": 0}

        async def send_counting(message):
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body":
                state["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_counting)
        finally:
            client = scope.get("client")
            target = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
            qs = scope.get("query_string", b"").decode("latin-1")
            if qs:
                target += "?" + qs
            access_log.info('%s "%s %s HTTP/%s" %d %d %.1fms',
                            client[0] if client else "-", scope["method"], target[:2000],
                            scope.get("http_version", "1.1"), state["status"] or 500, state["bytes"],
                            (time.perf_counter() - start) * 1000)


def _is_api(path: str) -> bool:
    return path.startswith("/api") or path == "/healthz"


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and wrong methods: JSON under /api, a page elsewhere."""
    # registered for HTTPException only (Starlette types every handler as taking an Exception)
    assert isinstance(exc, HTTPException)
    if _is_api(request.url.path):
        return api.json_error(exc.status_code, exc.detail or "error")
    message = {404: "There is no page at this address.",
               405: "This address only answers GET requests."}.get(exc.status_code, exc.detail)
    return pages.render(request, "error.html", status=exc.status_code, req=pages.SearchRequest(),
                        status_code=exc.status_code, message=message)


async def server_error(request: Request, exc: Exception) -> Response:
    """Last resort for a bug outside the endpoints' own handling: logged, never shown."""
    log.error("internal error", exc_info=exc)
    if _is_api(request.url.path):
        return api.error_response(exc)
    return Response("Internal error (logged on the server).", status_code=500, media_type="text/plain")


async def favicon(request: Request) -> Response:
    return Response((resources.files(__package__) / "static" / "favicon.svg").read_bytes(),
                    media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})


def create_app(index_dir: str | os.PathLike, *, threads: int | None = None,
               access_log_enabled: bool = True) -> Starlette:
    """The web application over the index at ``index_dir`` (which need not exist yet: until it
    does, the API answers 503 and the page says so). ``threads``: the search pool's size
    (default: one per core)."""
    from starlette.routing import Route

    svc = IndexService(index_dir, threads)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        log.info("mqt: serving %s with %d search thread(s) (pid %d)", svc.index_dir, svc.threads,
                 os.getpid())
        try:
            yield
        finally:
            svc.close()
            log.info("mqt: stopped (pid %d)", os.getpid())

    routes = api.routes + pages.routes + downloads.routes + [
        Route("/favicon.ico", favicon, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=str(resources.files(__package__) / "static")),
              name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.service = svc
    app.state.templates = pages.make_templates()
    app.add_middleware(SecurityHeaders)
    if access_log_enabled:
        app.add_middleware(AccessLog)
    return app


def setup_logging(level: int = logging.INFO) -> None:
    """mqt's own log lines (start, stop, errors, the access log) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for name in ("mqt.web", "mqt.access"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


def from_env() -> Starlette:
    """The factory ``mqt serve`` gives uvicorn: settings from ``MQT_INDEX``, ``MQT_SERVE_THREADS``
    and ``MQT_ACCESS_LOG`` (each worker process calls it)."""
    setup_logging()
    threads = int(os.environ.get("MQT_SERVE_THREADS") or 0) or None
    return create_app(os.environ.get("MQT_INDEX") or ".mqt-index", threads=threads,
                      access_log_enabled=os.environ.get("MQT_ACCESS_LOG", "1") != "0")
