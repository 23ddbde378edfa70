"""What may import what (docs/architecture.md, "Layers"), checked on the source: the engine is the
only code that knows Whoosh, the index side knows nothing of the query side, the query side
reaches the engine only through its interface and never loads the writing side."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (at any depth of the code), absolute; ``from a import b``
    gives ``a`` and ``a.b``."""
    here = _module(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
    return out


def _sources(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), _imports(path)


def _bad(imports: set[str], *prefixes: str) -> list[str]:
    return sorted(m for m in imports if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_only_the_engine_imports_whoosh():
    found = {rel: _bad(imps, "whoosh") for folder in ("index_data", "searcher")
             for rel, imps in _sources(folder) if not rel.startswith("index_data/engine/")}
    assert {rel: m for rel, m in found.items() if m} == {}


def test_the_index_side_knows_nothing_of_the_query_side():
    found = {rel: _bad(imps, "searcher") for rel, imps in _sources("index_data")
             if not rel.startswith("index_data/engine/")}
    assert {rel: m for rel, m in found.items() if m} == {}


def test_the_engine_uses_only_the_query_tree_and_the_ranking_settings_of_the_query_side():
    found = {rel: [m for m in _bad(imps, "searcher")
                   if not (m.startswith("searcher.query") or m.startswith("searcher.ranking"))
                   and m != "searcher"]
             for rel, imps in _sources("index_data/engine")}
    assert {rel: m for rel, m in found.items() if m} == {}


def test_only_build_and_reindexing_drive_the_engine_on_the_index_side():
    found = {rel: _bad(imps, "index_data.engine") for rel, imps in _sources("index_data")
             if not rel.startswith("index_data/engine/")
             and rel not in ("index_data/build.py", "index_data/reindexing.py")}
    assert {rel: m for rel, m in found.items() if m} == {}


def test_the_query_side_uses_the_engines_interface_and_never_the_writing_side():
    engine_modules = {p.stem for p in (ROOT / "index_data" / "engine").glob("*.py")} - {"__init__"}
    found = {}
    for rel, imps in _sources("searcher"):
        bad = _bad(imps, *(f"index_data.engine.{m}" for m in engine_modules))
        if rel != "searcher/cli.py":  # the CLI runs `mqt index` and `mqt reindex` too
            bad += _bad(imps, "index_data.build", "index_data.reindexing", "index_data.build_index",
                        "index_data.reindex")
        if bad:
            found[rel] = bad
    assert found == {}


#: The web stack: only ``searcher/web/`` (``mqt serve``) imports it.
WEB_STACK = ("starlette", "uvicorn", "jinja2", "markupsafe", "orjson", "uvloop", "httptools")


def test_the_web_stack_lives_in_searcher_web_and_no_other_command_imports_it():
    """``searcher/web/`` alone imports Starlette, uvicorn, Jinja2, orjson and uvloop, and nothing outside it
    imports ``searcher.web``; ``cli.py`` starts uvicorn inside ``mqt serve`` only (not at import)."""
    found = {}
    for folder in ("index_data", "searcher"):
        for rel, imps in _sources(folder):
            if rel.startswith("searcher/web/"):
                continue
            bad = _bad(imps, *WEB_STACK, "searcher.web")
            if rel == "searcher/cli.py":
                bad = [m for m in bad if m != "uvicorn"]
            if bad:
                found[rel] = bad
    assert found == {}
    cli = ast.parse((ROOT / "searcher" / "cli.py").read_text("utf-8"))
    top = {a.name for node in cli.body if isinstance(node, ast.Import) for a in node.names}
    top |= {node.module or "" for node in cli.body if isinstance(node, ast.ImportFrom)}
    assert not _bad(top, *WEB_STACK, "searcher.web")


def test_the_web_server_uses_the_searcher_not_the_engine():
    """``searcher/web/`` is a shell over ``Searcher``: it never reaches the engine itself."""
    found = {rel: _bad(imps, "index_data.engine", "whoosh", "numpy")
             for rel, imps in _sources("searcher/web")}
    assert {rel: m for rel, m in found.items() if m} == {}
