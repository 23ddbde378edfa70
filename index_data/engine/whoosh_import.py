"""Whoosh, first imported here, without two imports of its own that mqt never calls.

A one-query ``mqt search`` process pays for every module it imports (docs/benchmarks.md, "cold
start"). Whoosh 2.7.4 imports two at load time only for functions mqt never calls:

- ``whoosh.compat`` does ``from urllib.request import urlretrieve`` (used only to download
  WordNet files), which loads ``urllib.request``, ``http.client``, ``ssl`` and ``email``: ~16 ms;
- ``whoosh.query.terms`` does ``from whoosh.lang.morph_en import variations`` (only for the
  ``Variations`` query, which mqt does not build), which compiles a large table of regular
  expressions: ~4.5 ms.

So while those two Whoosh modules load, :func:`deferred` puts a stand-in module in
``sys.modules`` whose function imports the real module and calls it; then it takes the stand-in
away, so any later ``import urllib.request`` (or of ``whoosh.lang.morph_en``) gets the real
module. Whoosh's names still reach the real functions, on first call
(``tests/test_engine_contract.py`` checks both). ``index_data/engine/__init__.py`` runs this
before any other engine module imports Whoosh.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: module -> the names Whoosh imports from it at load time and mqt never calls.
DEFERRED = {
    "urllib.request": ("urlretrieve",),
    "whoosh.lang.morph_en": ("variations",),
}


def _forward(module: str, name: str) -> Callable[..., Any]:
    """A function that imports ``module`` when called and calls its ``name``."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{module}.{name}, imported on first call (index_data.engine.whoosh_import)."
    return call


@contextmanager
def deferred(module: str, names: tuple[str, ...]) -> Iterator[None]:
    """Within the block, ``import module`` gives a stand-in whose ``names`` import the real
    module when called (nothing changes if the real module is already loaded)."""
    if module in sys.modules:
        yield
        return
    stand_in = types.ModuleType(module, f"stand-in for {module} (index_data.engine.whoosh_import)")
    for name in names:
        setattr(stand_in, name, _forward(module, name))
    sys.modules[module] = stand_in
    try:
        yield
    finally:
        if sys.modules.get(module) is stand_in:
            del sys.modules[module]
        parent, _, child = module.rpartition(".")
        if getattr(sys.modules.get(parent), child, None) is stand_in:
            delattr(sys.modules[parent], child)


def import_whoosh() -> None:
    """Import the Whoosh modules that load the deferred ones, with their stand-ins in place."""
    if "whoosh.query" in sys.modules:
        return
    with deferred("urllib.request", DEFERRED["urllib.request"]):
        import whoosh.compat  # noqa: F401
    import whoosh.lang  # the stand-in's parent package, real

    with deferred("whoosh.lang.morph_en", DEFERRED["whoosh.lang.morph_en"]):
        import whoosh.query  # noqa: F401
