"""Whoosh, first imported here, without the imports of its own that a search never calls.

A one-query ``mqt search`` process pays for every module it imports (docs/benchmarks.md, "cold
start"). Whoosh 2.7.4 imports some at load time only for functions mqt never calls, or calls only
when indexing:

- ``whoosh.compat`` does ``from urllib.request import urlretrieve`` (used only to download
  WordNet files), which loads ``urllib.request``, ``http.client``, ``ssl`` and ``email``: ~16 ms;
- ``whoosh.query.terms`` does ``from whoosh.lang.morph_en import variations`` (only for the
  ``Variations`` query, which mqt does not build), which compiles a large table of regular
  expressions: ~4.5 ms;
- ``whoosh.codec.base`` does ``from whoosh.automata import lev`` (only for ``terms_within``:
  fuzzy words like ``polise~`` and "did you mean", loaded on the first such call), which loads
  the automata of ``whoosh.automata.fsa``: ~0.4 ms;
- ``whoosh.filedb.filetables`` does ``from hashlib import md5`` (hashing the term index's keys:
  Whoosh's own term lookups and writers; a search through the posting stores makes a few, for
  "did you mean", answered by CPython's ``_md5``: see ``SOURCES``), and ``hashlib`` loads
  OpenSSL's ``_hashlib``: ~2.5 ms;
- ``whoosh.filedb.compound`` does ``from shutil import copyfileobj`` and
  ``whoosh.filedb.filestore`` ``import tempfile`` (for ``gettempdir``), both only for writing;
  ``shutil`` loads ``bz2`` and ``lzma``: ~2-3 ms together.

So while those Whoosh modules load, :func:`deferred` puts a stand-in module in ``sys.modules``
whose functions import the real module and call it; then it takes the stand-in away, so any later
``import urllib.request`` (or of the others) gets the real module. A module that loads meanwhile
and asks the stand-in for another name gets the real module's (which replaces the stand-in then).
Whoosh's names still reach the real functions, on first call (``tests/test_engine_contract.py``
checks each, and that no other module kept a stand-in). ``index_data/engine/__init__.py`` runs
this before any other engine module imports Whoosh.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

#: module -> the names Whoosh imports from it at load time that a search calls late or never.
DEFERRED = {
    "urllib.request": ("urlretrieve",),
    "whoosh.lang.morph_en": ("variations",),
    "whoosh.automata.lev": ("levenshtein_automaton",),
    "hashlib": ("md5",),
    "shutil": ("copyfileobj",),
    "tempfile": ("gettempdir",),
}


#: Where a stand-in's function is found, if not in its own module: ``hashlib.md5`` in CPython's
#: ``_md5`` (the same digests, without OpenSSL), as "did you mean" looks a few words up in Whoosh's
#: term index (hashed with md5) on every search; ``hashlib`` where there is no ``_md5``.
SOURCES = {"hashlib": "_md5"}


def _real(module: str, name: str) -> Callable[..., Any]:
    """The function a stand-in's ``name`` stands for (its module imported now)."""
    try:
        return getattr(importlib.import_module(SOURCES.get(module, module)), name)
    except ImportError:
        return getattr(importlib.import_module(module), name)


def _forward(module: str, name: str) -> Callable[..., Any]:
    """A function that imports ``module`` when first called and then calls its ``name`` (the
    function is looked up once: Whoosh's writers hash every term through ``md5``)."""
    found: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not found:
            found.append(_real(module, name))
        return found[0](*args, **kwargs)

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

    def withdraw() -> None:
        if sys.modules.get(module) is stand_in:
            del sys.modules[module]
        parent, _, child = module.rpartition(".")
        if getattr(sys.modules.get(parent), child, None) is stand_in:
            delattr(sys.modules[parent], child)

    def any_other(name: str) -> Any:
        """Another module loading meanwhile (``random`` takes ``sha512`` from ``hashlib`` where
        there is no ``_sha512``; another thread's ``import tempfile``) asks for a name the
        stand-in lacks: the real module replaces it, and answers."""
        if name.startswith("__"):
            raise AttributeError(name)
        withdraw()
        return getattr(importlib.import_module(module), name)

    stand_in.__getattr__ = any_other  # type: ignore[method-assign]
    sys.modules[module] = stand_in
    try:
        yield
    finally:
        withdraw()


def import_whoosh() -> None:
    """Import the Whoosh modules that load the deferred ones (its query types, its index reading
    and its codec), with their stand-ins in place."""
    if "whoosh.query" in sys.modules:
        return
    with deferred("urllib.request", DEFERRED["urllib.request"]):
        import whoosh.compat  # noqa: F401
    import whoosh.automata  # noqa: F401  the stand-ins' parent packages, real
    import whoosh.lang  # noqa: F401

    with ExitStack() as stack:
        for module in ("whoosh.lang.morph_en", "whoosh.automata.lev", "hashlib", "shutil", "tempfile"):
            stack.enter_context(deferred(module, DEFERRED[module]))
        import whoosh.codec.whoosh3  # noqa: F401
        import whoosh.query  # noqa: F401
