"""What a cold one-query ``mqt search`` process loads (docs/benchmarks.md, "Cold start"): the
modules it never needs stay unimported, so that a change that imports one again fails here
rather than only slowing the cold-start benchmark (``benchmarks/cold_start.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, question_file
from index_data import build_index

#: Modules a ``mqt search`` (with snippets and facets, through the posting stores) never imports,
#: and why: NLTK (the stem table), Whoosh's download and English-variations helpers and its
#: writing side's hashlib (OpenSSL), shutil (with bz2 and lzma) and tempfile
#: (``index_data/engine/whoosh_import.py``, ``index_data/keyhash.py``), logging (only when a store
#: fails), the package data reader, the corpus parser, the writing side (mqt's and Whoosh's),
#: trends, watch and the web server.
NEVER = ("nltk", "urllib.request", "http.client", "ssl", "email", "whoosh.lang.morph_en", "whoosh.writing",
         "hashlib", "_hashlib", "shutil", "tempfile", "bz2", "lzma",
         "logging", "importlib.resources", "index_data.corpus", "index_data.reports",
         "index_data.fileinfo", "index_data.build", "index_data.reindexing",
         "index_data.engine.writer", "multiprocessing", "searcher.trends", "searcher.watch",
         "sqlite3", "starlette", "uvicorn", "jinja2")

_CODE = """
import json, sys
from searcher.cli import main
sys.argv = ["mqt"] + sys.argv[1:]
try:
    main()
except SystemExit:
    pass
loaded = sorted(sys.modules)
from searcher import Searcher
with Searcher(sys.argv[sys.argv.index("--index") + 1]) as s:
    stores = s.engine.snapshot().fast() is not None
print(json.dumps(dict(loaded=loaded, stores=stores)), file=sys.stderr)
"""


def test_a_cold_search_imports_only_what_it_uses(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"q{i}.txt").write_text(question_file(title=f"Housing Targets {i}",
                                                        question="How many affordable homes were built?"))
    build_index(corpus, tmp_path / "ix")
    for args in (["housing policing", "--facets"], ["housing", "--json"], ["afordable homes"], ["homs~"]):
        out = subprocess.run([sys.executable, "-c", _CODE, "search", *args, "--index", str(tmp_path / "ix")],
                             capture_output=True, text=True, cwd=ROOT)
        assert out.returncode == 0, out.stderr
        assert "Housing Targets" in out.stdout
        report = json.loads(out.stderr.strip().splitlines()[-1])
        assert report["stores"], "the search did not go through the posting stores"
        loaded = set(report["loaded"])
        assert "index_data.engine.blockmax" in loaded and "whoosh.query" in loaded  # it did search
        assert sorted(m for m in loaded if any(m == n or m.startswith(n + ".") for n in NEVER)) == [], args
        # Whoosh's Levenshtein automata: only for a fuzzy word or a "did you mean" (terms_within;
        # "policing" is not in this index), imported when first used
        if args[0] in ("housing", "homs~"):
            assert ("whoosh.automata.fsa" in loaded) == (args[0] == "homs~"), args


def test_the_search_stack_is_imported_without_collections_then_frozen(tmp_path):
    """``mqt search`` imports numpy, Whoosh and the engine with the garbage collector paused (no
    collection runs while ``searcher.search`` imports them), freezes what they made, and runs the
    command with the collector on again."""
    code = ("import gc, sys\nfrom searcher.cli import main\nduring = []\n"
            "def mid_import():\n    m = sys.modules.get('searcher.search')\n"
            "    return m is not None and not hasattr(m, 'Searcher')\n"
            "def cb(phase, info):\n    if phase == 'start' and mid_import():\n"
            "        during.append(info['generation'])\n"
            "gc.callbacks.append(cb)\nimport searcher.display\nformat_page = searcher.display.format_page\n"
            "def check(*a, **k):\n    print('command', gc.isenabled(), gc.get_freeze_count() > 5000, file=sys.stderr)\n"
            "    return format_page(*a, **k)\n"
            "searcher.display.format_page = check\n"
            "sys.argv = ['mqt'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('during', during, file=sys.stderr)")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "q.txt").write_text(question_file(title="Housing Targets", question="How many homes?"))
    build_index(corpus, tmp_path / "ix")
    out = subprocess.run([sys.executable, "-c", code, "search", "housing", "--index", str(tmp_path / "ix")],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "Housing Targets" in out.stdout
    lines = [line for line in out.stderr.splitlines() if line.startswith(("command", "during"))]
    assert lines == ["command True True", "during []"], out.stderr


def test_the_console_script_leaves_the_objects_alive_at_exit_out_of_the_last_collections():
    """``searcher.cli.main`` ends with ``gc.freeze()`` (see its doc), even when the command
    exits with an error."""
    code = ("import gc, sys\nfrom searcher.cli import main\nsys.argv = ['mqt'] + sys.argv[1:]\n"
            "before = gc.get_freeze_count()\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print(before, gc.get_freeze_count() > 1000, code, file=sys.stderr)")
    for args, exit_code in ((["--version"], 0), (["search", "x", "--index", "/nonexistent/ix"], 1)):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT)
        assert out.stderr.strip().splitlines()[-1] == f"0 True {exit_code}", out.stderr


def test_the_console_script_starts_numpy_with_one_blas_thread_unless_told_otherwise():
    """``main`` sets ``OPENBLAS_NUM_THREADS=1`` before anything imports numpy (its idle BLAS
    threads cost a cold search ~0.1 s of CPU), and keeps a value the user set."""
    code = ("import os, sys\nfrom searcher.cli import main\nassert 'numpy' not in sys.modules\n"
            "sys.argv = ['mqt', '--version']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(os.environ['OPENBLAS_NUM_THREADS'], file=sys.stderr)")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    for given, expected in ((None, "1"), ("2", "2")):
        if given:
            env["OPENBLAS_NUM_THREADS"] = given
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
        assert out.stderr.strip().splitlines()[-1] == expected, out.stderr


def test_modules_loading_while_whoosh_loads_get_the_real_modules_not_the_stand_ins():
    """``random`` takes ``sha512`` from ``hashlib`` on a Python without ``_sha512``; while Whoosh
    loads, ``hashlib`` is a stand-in with only ``md5``: it must hand over the real module."""
    code = ("import sys; sys.modules['_sha512'] = None; sys.modules['_md5'] = None\n"
            "import index_data.engine, random, hashlib, tempfile, shutil\n"
            "import whoosh.filedb.filetables as ft\n"
            "print(random._sha512(b'x').hexdigest()[:8], ft.md5(b'x').hexdigest()[:8],\n"
            "      callable(hashlib.sha256), callable(tempfile.mkdtemp), callable(shutil.rmtree))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True).stdout.split()
    assert out == ["a4abd444", "9dd4e461", "True", "True", "True"]
