"""The stem table: exact lookups, the file format, and that build and reindex keep it whole."""

from __future__ import annotations

import subprocess
import sys


from conftest import ROOT, question_file
from index_data import build_index, reindex, stemtable
from index_data.analysis import stem
from index_data.stemtable import StemTable


def _vocabulary(index_dir) -> set[str]:
    """Every word of the index's lexicon (its ``spell`` column's words)."""
    from index_data.engine import EngineReader

    engine = EngineReader(index_dir)
    try:
        return set(engine.snapshot().lexicon().expand_prefix(""))
    finally:
        engine.close()


def test_lookups_are_exact_and_unknown_words_miss():
    words = ["crimes", "crime", "policing", "housing", "siân", "happy", "news", "dying", "x"]
    t = StemTable.from_items((w, stem(w)) for w in words)
    assert [t.get(w) for w in words] == [stem(w) for w in words]
    assert [t.get(w) for w in ("crimess", "polic", "", "housings")] == [None] * 4
    assert t.get("dying") == "die" and t.get("news") == "news"


def test_save_load_round_trip_and_damage(tmp_path):
    words = [f"word{i}s" for i in range(500)] + ["ünïcode", "crimes"]
    t = StemTable.from_items((w, stem(w)) for w in words)
    path = tmp_path / stemtable.FILE
    t.save(path)
    back = StemTable.load(path)
    assert len(back) == len(words) and all(back.get(w) == stem(w) for w in words)
    raw = path.read_bytes()
    for damaged in (raw[:-1], raw[:20], b"NOTSTEMS" + raw[8:], b""):
        path.write_bytes(damaged)
        assert StemTable.load(path) is None
    assert StemTable.load(tmp_path / "missing") is None


def test_colliding_hashes_are_dropped(monkeypatch):
    """Two words with one hash and different stems: neither is answered from the table."""
    monkeypatch.setattr(stemtable, "word_hash", lambda w: 7 if w in ("crimes", "housing") else len(w))
    t = StemTable.from_items([("crimes", "crime"), ("housing", "hous"), ("rents", "rent")])
    assert t.get("crimes") is None and t.get("housing") is None and t.get("rents") == "rent"
    # the same hash with the same answer is no clash ("the word itself" for both)
    t = StemTable.from_items([("crimes", "crimes"), ("housing", "housing")])
    assert t.get("crimes") == "crimes" and t.get("housing") == "housing"


def test_merge_keeps_the_base_and_adds(tmp_path):
    base = StemTable.from_items([("crimes", "crime"), ("homes", "home")])
    merged = StemTable.from_items([("policing", "polic"), ("homes", "home")], base=base)
    assert len(merged) == 3
    assert [merged.get(w) for w in ("crimes", "homes", "policing")] == ["crime", "home", "polic"]


def _files(n, extra=""):
    return {f"q{i:03d}.txt": question_file(
        title=f"Question {i} on housing", question=f"Were rents and evictions rising {extra}?",
        answers=(("The Mayor", f"Councils reported {i} evictions; landlords disagreed."),))
        for i in range(n)}


def test_build_covers_the_vocabulary_and_reindex_adds_new_words(write_corpus, tmp_path):
    corpus = write_corpus(_files(12))
    ix = tmp_path / "ix"
    build_index(corpus, ix)
    table = StemTable.load(ix / stemtable.FILE)
    vocab = _vocabulary(ix)
    assert len(table) == len(vocab) > 20
    assert all(table.get(w) == stem(w) for w in vocab)
    assert table.get("zeppelins") is None

    (corpus / "new.txt").write_text(question_file(
        title="Airships", question="Will zeppelins patrol Hammersmith's skies?"), encoding="utf-8")
    reindex(corpus, ix)
    table = StemTable.load(ix / stemtable.FILE)
    vocab = _vocabulary(ix)
    assert "zeppelins" in vocab and len(table) == len(vocab)
    assert all(table.get(w) == stem(w) for w in vocab)
    assert table.get("zeppelins") == "zeppelin" and table.get("skies") == "sky"

    # a fresh process searching and snippeting the new document never imports NLTK
    code = ("import sys; from searcher import Searcher; s = Searcher(sys.argv[1]); "
            "p = s.search('zeppelins skies'); assert p.hits[0].title == 'Airships', p; "
            "assert '<mark>zeppelins</mark>' in p.hits[0].snippets.question[0]; "
            "print('nltk' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(ix)], capture_output=True, text=True,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_missing_table_is_rebuilt_from_new_segments_only(write_corpus, tmp_path):
    """An index without a table (say, built by an older version) gets one for what reindex adds;
    searches still stem the other words, with the same results."""
    corpus = write_corpus(_files(6))
    ix = tmp_path / "ix"
    build_index(corpus, ix)
    (ix / stemtable.FILE).unlink()
    (corpus / "new.txt").write_text(question_file(title="Airships", question="Zeppelins?"),
                                    encoding="utf-8")
    reindex(corpus, ix)
    table = StemTable.load(ix / stemtable.FILE)
    assert table is not None and table.get("zeppelins") == "zeppelin"
    assert table.get("evictions") in (None, "evict")


def test_stem_uses_the_attached_table(tmp_path, monkeypatch):
    from index_data import analysis

    path = tmp_path / stemtable.FILE
    StemTable.from_items([("zorblings", "zorbl")]).save(path)  # not what Snowball says
    monkeypatch.setattr(analysis, "_STEM_CACHE", analysis._StemCache())
    monkeypatch.setattr(analysis, "_table", None)
    assert analysis.use_stem_table(path)
    assert analysis.stem("zorblings") == "zorbl"  # answered by the table, not by NLTK
    assert analysis.stem("crimes") == "crime"  # a miss falls through to NLTK
    assert not analysis.use_stem_table(tmp_path / "none") and analysis._table is None
