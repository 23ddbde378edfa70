"""Helpers for the reindex tests: a seeded synthetic corpus that can be changed round by round,
and an independent check of an index against its corpus (read with plain Whoosh)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from whoosh import index as whoosh_index

from conftest import ROOT, question_file
from index_data.corpus import iter_corpus, parse_file
from index_data.errors import CorpusError

WORDS = ("housing transport police budget air quality cycling tram river bridge school tenants "
         "rents fares congestion knife crime youth parks libraries fire brigade homelessness "
         "affordable planning tower licence night economy pollution buses station").split()


def random_question(rng: random.Random, n: int, marker: str = "") -> str:
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 40)))
    answers = () if rng.random() < 0.2 else (("The Mayor", f"Answer {n}: {words} {marker}."),)
    title = f"Question {n} {rng.choice(WORDS)}"  # (the same random draws in the same order)
    date = f"20{rng.randint(10, 25)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
    return question_file(title=title, date=date, question=f"What about {words} {marker}? ({n})",
                         answers=answers)


class Corpus:
    """A synthetic corpus folder changed by seeded random edits."""

    def __init__(self, path: Path, seed: int = 1):
        self.path = path
        self.rng = random.Random(seed)
        self.serial = 0
        path.mkdir(parents=True, exist_ok=True)

    def add(self, n: int, sub: str = "") -> None:
        for _ in range(n):
            self.serial += 1
            p = self.path / sub / f"q{self.serial:06d}.txt"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(random_question(self.rng, self.serial), "utf-8")

    def files(self) -> list[Path]:
        return sorted(p for p in self.path.rglob("*.txt"))

    def mutate(self, add=10, modify=10, delete=5, touch=3, broken=1) -> None:
        """Add, rewrite, delete and touch files; sometimes break one or rewrite it unparseable."""
        self.add(add)
        files = self.files()
        for p in self.rng.sample(files, min(modify, len(files))):
            p.write_text(random_question(self.rng, self.rng.randint(1, 10**6)), "utf-8")
        files = self.files()
        for p in self.rng.sample(files, min(delete, len(files))):
            p.unlink()
        files = self.files()
        for p in self.rng.sample(files, min(touch, len(files))):
            st = p.stat()
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        files = self.files()
        for p in self.rng.sample(files, min(broken, len(files))):
            p.write_text("not a question file\n", "utf-8")


def expected_state(corpus: Path) -> dict[str, dict]:
    """What the index should hold: id -> record (minus source_path) of each valid owning file."""
    out: dict[str, dict] = {}
    claimed: set[str] = set()
    for f in iter_corpus(corpus):
        if f.problem or f.doc_id in claimed:
            continue
        claimed.add(f.doc_id)
        try:
            q = parse_file(f.path)
        except CorpusError:
            continue
        d = q.to_dict()
        d.pop("source_path")
        out[f.doc_id] = d
    return out


def index_state(index_dir: Path) -> tuple[dict[str, dict], int]:
    """(id -> record minus source_path, number of live documents) read straight from Whoosh."""
    ix = whoosh_index.open_dir(str(index_dir), indexname="MAIN", readonly=True)
    try:
        with ix.searcher() as s:
            docs = {}
            n = 0
            for fields in s.all_stored_fields():
                n += 1
                rec = json.loads(fields["record"])
                rec.pop("source_path")
                docs[fields["id"]] = rec
            return docs, n
    finally:
        ix.close()


def assert_index_matches(index_dir: Path, corpus: Path) -> None:
    """No document lost, none duplicated, none stale, every one with the file's current content."""
    want = expected_state(corpus)
    got, n = index_state(index_dir)
    assert n == len(got), f"{n - len(got)} duplicated document(s)"
    assert set(got) - set(want) == set(), "stale documents"
    assert set(want) - set(got) == set(), "lost documents"
    wrong = [k for k in want if want[k] != got[k]]
    assert not wrong, f"out-of-date documents: {wrong[:5]}"
    # facets come from columns, not the stored records: they must agree with the files too
    from searcher import Searcher

    with Searcher(index_dir) as s:
        page = s.search("", limit=1, facets=True)
    assert page.total == len(want)
    for name in ("party", "asker", "asked_of", "status", "meeting"):
        counts = Counter(rec[name] for rec in want.values() if rec[name])
        assert page.facets[name] == dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))), name
    years = Counter(rec["meeting_date"][:4] for rec in want.values())
    assert page.facets["year"] == dict(sorted(years.items(), key=lambda kv: (-kv[1], kv[0])))


def mqt(*args, cwd=None, env=None, **kw) -> subprocess.Popen:
    """Start ``mqt ARGS`` (this checkout's CLI) as a separate process."""
    full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "searcher.cli", *args], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run_mqt(*args, timeout=120, **kw) -> subprocess.CompletedProcess:
    p = mqt(*args, **kw)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)

