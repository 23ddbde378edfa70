"""The query side's stemmer (``index_data.snowball``) gives NLTK's stems, without importing NLTK."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from nltk.stem.snowball import EnglishStemmer

from index_data import build_index, snowball
from index_data.analysis import tokenize

ROOT = Path(__file__).resolve().parent.parent
NLTK = EnglishStemmer()


def _vocabulary(index_dir) -> list[str]:
    from index_data.engine import EngineReader

    engine = EngineReader(index_dir)
    try:
        return list(engine.snapshot().lexicon().expand_prefix(""))
    finally:
        engine.close()


def _differences(words) -> list[tuple[str, str, str]]:
    return [(w, NLTK.stem(w), snowball.stem(w)) for w in words if NLTK.stem(w) != snowball.stem(w)]


def test_same_stems_over_an_index_vocabulary(library_index):
    vocab = _vocabulary(library_index)
    assert len(vocab) > 100
    assert _differences(vocab) == []


def test_same_stems_over_cranfield_and_real_questions():
    texts = [(ROOT / "benchmarks/data/cranfield/cran.all.1400").read_text("utf-8", "replace")]
    real = ROOT.parent / "shared" / "real-dev" / "corpus"
    if real.is_dir():
        texts += [p.read_text("utf-8") for p in sorted(real.glob("*.txt"))]
    words = {w for t in texts for w in tokenize(t)}
    assert len(words) > 8000
    assert _differences(words) == []


@pytest.mark.slow
def test_same_stems_over_an_english_word_list():
    from english_words import get_english_words_set

    words = get_english_words_set(["web2", "gcide"], lower=True, alpha=False)
    assert len(words) > 200_000
    assert _differences(words) == []


def test_same_stems_for_edge_cases():
    words = ["", "a", "ys", "yes", "sky", "skies", "'s", "o'neill", "generously", "communism",
             "arsenal", "succeeding", "ied", "ties", "cries", "agreed", "feed", "hopping", "hoping",
             "fizzing", "luxuriating", "ideally", "bbc", "covid", "2017", "1.2bn", "siân", "naïve",
             "ǆemal", "yyyy", "eeedly", "cionion", "x" * 50]
    words += ["".join(c) for c in re.findall(r"\w{3,12}", "the quick brown fox ionising alisms "
              "fulnesses ousnesses iveness biliti logi lessli entli ational ization")]
    assert _differences(words) == []


def test_unknown_words_prefixes_or_and_fuzzy_queries_never_import_nltk(tmp_path):
    from conftest import question_file

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(question_file(title="Housing Targets",
                                                question="How many affordable homes were built?"))
    build_index(corpus, tmp_path / "ix")
    code = ("import sys; from searcher.cli import main; sys.argv = ['mqt'] + sys.argv[1:]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('NLTK' if 'nltk' in sys.modules else 'no NLTK', file=sys.stderr)")
    for query in ("zeppelins overhead", "hous*", "housing OR zeppelins", "hosuing~2",
                  '"affordable zeppelins"', "afordable"):
        out = subprocess.run([sys.executable, "-c", code, "search", query, "--index",
                              str(tmp_path / "ix"), "--json"], capture_output=True, text=True,
                             cwd=ROOT)
        assert out.returncode == 0 and out.stdout.startswith("{"), out.stderr
        assert out.stderr.strip().endswith("no NLTK"), (query, out.stderr)
