"""Where a document's CPU time goes in ``mqt index``: parsing, analysis, buffering postings,
writing the segment (posting encoding, pickling, zlib, the term index), stored fields, columns,
the posting store, the commit.

    python benchmarks/profile_index.py /tmp/mqt-100k --files 10000

Copies the first ``--files`` files of the corpus to a temporary folder, builds them once plainly
(``build_index(procs=1)``: CPU seconds per document) and once with a timer around each stage
(the functions below, wrapped in place: one process, no profiler), in CPU time. Each stage's
time is its own (exclusive: time in stages it calls is theirs), so the rows add up to the whole
build; the wrappers' own cost (~0.5 µs a call, a few calls per posting list) is the difference
between the two runs' totals and is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


class Timers:
    """Exclusive and inclusive seconds and calls per label, for wrapped functions."""

    def __init__(self):
        self.excl: dict[str, float] = {}
        self.incl: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.order: list[str] = []
        self._stack: list[list] = []  # [label, start, time in wrapped callees]

    def wrap(self, fn, label: str):
        if label not in self.excl:
            self.excl[label] = self.incl[label] = 0.0
            self.calls[label] = 0
            self.order.append(label)
        stack, clock = self._stack, time.process_time  # CPU time: load on a shared machine aside
        excl, incl, calls = self.excl, self.incl, self.calls

        def wrapper(*args, **kwargs):
            frame = [label, clock(), 0.0]
            stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = clock() - frame[1]
                stack.pop()
                excl[label] += elapsed - frame[2]
                incl[label] += elapsed
                calls[label] += 1
                if stack:
                    stack[-1][2] += elapsed

        wrapper.__wrapped__ = fn
        return wrapper

    def patch(self, obj, name: str, label: str) -> None:
        setattr(obj, name, self.wrap(getattr(obj, name), label))


class _Shim:
    """A module stand-in whose listed functions are wrapped (``zlib.compress`` as called from
    one module only)."""

    def __init__(self, module, timers: Timers, **labels):
        self._module = module
        for name, label in labels.items():
            setattr(self, name, timers.wrap(getattr(module, name), label))

    def __getattr__(self, name):
        return getattr(self._module, name)


#: (module path, attribute (Class.method or function), label) in the order the report lists them.
STAGES = [
    ("index_data.build", "load_question", "read + decode + parse (load_question)"),
    ("index_data.sources", "read_bytes", "  read the file"),
    ("index_data.sources", "decode", "  decode bytes"),
    ("index_data.sources", "parse_text", "  parse the text (parse_text)"),
    ("index_data.engine.writer", "document_fields", "document fields (document_fields)"),
    ("index_data.model", "Question.to_dict", "  record: Question.to_dict"),
    ("index_data.engine.segment_writer", "FastSegmentWriter.prepare", "analysis (prepare): the rest"),
    ("index_data.engine.segment_writer", "index_tokens", "  tokenise (index_tokens, cached chunks)"),
    ("index_data.analysis", "_TermCache.__missing__", "  tokenise a new chunk (regex, normalise)"),
    ("index_data.engine.segment_writer", "stem_tokens", "  stem (stem_tokens, cached words)"),
    ("index_data.analysis", "_StemCache.__missing__", "  stem a new word (NLTK Snowball)"),
    ("index_data.engine.segment_writer", "real_terms", "  gaps and sentence ends out (real_terms)"),
    ("index_data.engine.segment_writer", "term_positions", "  positions (term_positions)"),
    ("index_data.engine.segment_writer", "Counter", "  term vector counts (Counter)"),
    ("index_data.engine.lexicon", "encode_words", "  spelling words column (encode_words)"),
    ("index_data.termvectors", "encode", "  term vector (termvectors.encode)"),
    ("index_data.engine.segment_writer", "FastSegmentWriter._analyse", "  name fields (_analyse)"),
    ("index_data.engine.segment_writer", "FastSegmentWriter.add_prepared",
     "buffer postings (add_prepared): the rest"),
    ("whoosh.codec.whoosh3", "W3PerDocWriter.add_field", "  stored field values"),
    ("whoosh.codec.whoosh3", "W3PerDocWriter.add_column_value",
     "  column values (facets, date, fileinfo, vector, spelling words)"),
    ("whoosh.codec.whoosh3", "W3PerDocWriter.finish_doc", "  stored fields of the document (finish_doc)"),
    ("index_data.engine.segment_writer", "FastSegmentWriter._write_run", "  spill a sorted run (memory budget)"),
    ("index_data.engine.segment_writer", "FastSegmentWriter.finish", "write the segment (finish): the rest"),
    ("index_data.engine.segment_writer", "FastSegmentWriter._write_lengths", "  length columns"),
    ("whoosh.codec.whoosh3", "W3PerDocWriter.close", "  stored fields and columns to files"),
    ("index_data.engine.segment_writer", "FastSegmentWriter._write_postings",
     "  postings: sort terms, merge runs, loop"),
    ("index_data.engine.segment_writer", "write_posting_list", "  posting lists: block encoding"),
    ("index_data.engine.format", "dumps", "  posting lists: pickle (blocks, block infos)"),
    ("index_data.engine.format", "zlib.compress", "  posting lists: zlib"),
    ("index_data.engine.format", "TermIndexWriter.add", "  term index entries (md5 per term)"),
    ("index_data.engine.format", "TermIndexWriter.close", "  term index hash tables"),
    ("index_data.engine.poststore", "WriterFeed.add", "  posting store: each term's postings handed over"),
    ("index_data.engine.poststore", "WriterFeed.finish",
     "posting store written with the segment (windows, combined field, file)"),
    ("index_data.engine.lexicon", "save_lexicon", "the segment's lexicon file (save_lexicon)"),
    ("index_data.engine.writer", "SegmentBuilder.stems", "stems of the vocabulary (stem table)"),
    ("index_data.engine.writer", "NewIndexWriter.commit", "commit (TOC, stem table): the rest"),
    ("index_data.engine.writer", "write_side_tables", "  term-vector df tables, lexicons checked"),
    ("index_data.engine.writer", "write_stores", "  posting stores checked (derived when missing)"),
    ("index_data.build", "flush_to_disk", "fsync the new index"),
]


def install(timers: Timers) -> None:
    import importlib

    for modname, attr, label in STAGES:
        mod = importlib.import_module(modname)
        if attr == "zlib.compress":
            mod.zlib = _Shim(mod.zlib, timers, compress=label)
            continue
        if "." in attr:
            cls, meth = attr.split(".")
            timers.patch(getattr(mod, cls), meth, label)
        else:
            timers.patch(mod, attr, label)


def copy_corpus(src: Path, dst: Path, count: int) -> int:
    from index_data.corpus import iter_corpus

    dst.mkdir(parents=True)
    n = 0
    for f in iter_corpus(src):
        if n >= count:
            break
        shutil.copyfile(f.path, dst / f.path.name)
        n += 1
    return n


def cpu() -> float:
    t = os.times()
    return t.user + t.system


def build(corpus: Path, out: Path) -> tuple[float, float, int]:
    from index_data.build import build_index

    shutil.rmtree(out, ignore_errors=True)
    c, w = cpu(), time.perf_counter()
    report = build_index(corpus, out, procs=1)
    return cpu() - c, time.perf_counter() - w, report.indexed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus_dir", type=Path)
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--work", type=Path, default=None, help="(default: a temporary folder)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="mqt-profile-index-"))
    try:
        corpus = work / "corpus"
        if not corpus.exists():
            copy_corpus(args.corpus_dir, corpus, args.files)
        from index_data.analysis import warm_up

        warm_up()  # NLTK imported before the clock starts, as a worker process does
        plain_cpu, plain_wall, n = build(corpus, work / "ix-plain")
        import importlib

        import index_data.analysis as analysis

        # fresh analysis caches, as the plain build had
        analysis._STEM_CACHE.clear()
        for cache in analysis._TERM_CACHES.values():
            cache.clear()
        timers = Timers()
        install(timers)
        importlib.invalidate_caches()
        timed_cpu, timed_wall, n2 = build(corpus, work / "ix-timed")
        assert n == n2
        total = sum(timers.excl.values())
        whole = timed_cpu
        print(f"{n:,} documents ({args.corpus_dir}, first {args.files:,} files); load average "
              f"{os.getloadavg()[0]:.2f}")
        print(f"plain build: {plain_cpu:.2f} CPU s, {plain_wall:.2f} s wall = "
              f"{plain_cpu / n * 1e6:,.0f} µs CPU a document")
        print(f"timed build: {timed_cpu:.2f} CPU s, {timed_wall:.2f} s wall; timed stages "
              f"{total:.2f} s (the wrappers' cost: {timed_cpu - plain_cpu:+.2f} CPU s)\n")
        other = whole - total
        print("| stage | calls | CPU s | share | µs a document |\n|---|---:|---:|---:|---:|")
        for label in timers.order:
            s = timers.excl[label]
            print(f"| {label} | {timers.calls[label]:,} | {s:.2f} | {s / whole:.1%} | "
                  f"{s / n * 1e6:,.0f} |")
        print(f"| everything else (listing, the build loop, opening/creating the index...) | | "
              f"{other:.2f} | {other / whole:.1%} | {other / n * 1e6:,.0f} |")
        print(f"| **whole build** | | {whole:.2f} | 100% | {whole / n * 1e6:,.0f} |")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
