"""``mqt serve``: the web search page and the HTTP API, a thin layer over ``searcher.Searcher``.

``app.create_app(index_dir)`` is the ASGI application (Starlette); ``api`` holds the JSON endpoints,
``pages`` the HTML pages with ``views`` (what they show) and ``templates/``, ``service`` the one
Searcher and its thread pool, ``errors`` how an error becomes a status and a body. Only ``mqt serve``
imports this package: other commands never pay for the web stack.
"""
