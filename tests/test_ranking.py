"""The ranking configuration (``searcher.ranking.Ranking``): its documented defaults, changing a
setting by name, and that one Ranking reaches every scorer: the executor and the Whoosh
weighting the reference matchers score with give the same scores for non-default settings too."""

from __future__ import annotations

import dataclasses

import pytest

from index_data import build_index
from index_data.engine.evaluate import execute
from index_data.engine.postings import SegmentArrays
from reference_matchers import reference
from searcher import Ranking, Searcher, parse_query
from searcher.ranking import PerField


def test_defaults_are_the_documented_ranking():
    r = Ranking()
    assert r.bm25.k1 == 1.2 and r.bm25.default_b == 0.75
    assert r.bm25.b.as_dict() == {"title": 0.5, "question": 0.75, "answer": 0.75}
    assert r.bm25.field_weights.as_dict() == {"title": 2.0, "question": 1.0, "answer": 0.7}
    assert (r.coordination.short_query_words, r.coordination.bonus) == (4, 1000.0)
    assert r.bm25.length_groups == (("title",), ("question",), ("answer",))
    assert r.bm25.name_as_word is True
    assert (r.neighbours.enabled, r.neighbours.depth, r.neighbours.k, r.neighbours.weight) == (True, 1000, 3, 3.0)
    assert r.neighbours.rule == "regularised"
    assert r.neighbours.min_words == 5
    assert r.feedback.enabled is False and (r.feedback.docs, r.feedback.terms) == (10, 10)
    assert (r.recency.weight, r.recency.half_life_days, r.recency.pool) == (0.1, 365.0, 200)
    assert r.similar.terms == 25
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.bm25.k1 = 2.0  # type: ignore[misc]


def test_settings_change_by_dotted_path_and_unknown_ones_are_refused():
    r = Ranking().with_settings({"bm25.k1": 1.5, "bm25.b.title": 0.3, "neighbours.enabled": False,
                                 "feedback.terms": 30})
    assert (r.bm25.k1, r.bm25.b.title, r.bm25.b.question) == (1.5, 0.3, 0.75)
    assert r.neighbours.enabled is False and r.feedback.terms == 30
    assert Ranking() == Ranking() and r != Ranking()
    for bad in ("bm25.k2", "nothing", "bm25.k1.x"):
        with pytest.raises(ValueError, match="no ranking setting"):
            Ranking().with_settings({bad: 1})


def test_coordination_bonus_follows_the_settings():
    c = Ranking().coordination
    assert [c.bonus_for(n) for n in (1, 2, 4, 5)] == [0.0, 1000.0, 1000.0, 0.0]
    c = dataclasses.replace(c, short_query_words=2)
    assert [c.bonus_for(n) for n in (2, 3)] == [1000.0, 0.0] and c.is_long(3)
    assert PerField(1, 2, 3).get("answer", 9) == 3 and PerField(1, 2, 3).get("asker", 9) == 9


def test_length_groups():
    b = Ranking().bm25
    assert [b.length_group(f) for f in ("title", "question", "answer", "asker")] == [
        ("title",), ("question",), ("answer",), ("asker",)]
    b = Ranking().with_settings({"bm25.length_groups": JOINT_LENGTHS}).bm25
    assert [b.length_group(f) for f in ("title", "question", "answer", "asker")] == [
        ("title",), ("question", "answer"), ("question", "answer"), ("asker",)]


@pytest.fixture(scope="module")
def index(tmp_path_factory, generate):
    base = tmp_path_factory.mktemp("ranking")
    corpus = generate.generate(base / "corpus", 200, seed=21)
    build_index(corpus, base / "ix")
    return base / "ix"


OTHER = Ranking().with_settings({"bm25.k1": 2.0, "bm25.b.title": 0.2, "bm25.default_b": 0.6,
                                 "bm25.field_weights.title": 1.0, "bm25.field_weights.answer": 1.5,
                                 "coordination.bonus": 50.0})
QUERIES = ["housing", "crime police", "title:budget", '"affordable homes"', "hous*", "transport bus fares",
           "what is the mayor doing about knife crime and youth services in london boroughs"]


JOINT_LENGTHS = (("title",), ("question", "answer"))
ONE_LENGTH = (("title", "question", "answer"),)
BM25F_QUERIES = {"housing", "crime police", "transport bus fares", QUERIES[-1]}


def _scores(s, ranking, text):
    """``(executor's {doc: score}, Whoosh's with the reference matchers)`` of query ``text``."""
    ws = s.engine.whoosh_searcher()
    q = s.engine.compile(parse_query(text)).query
    r = ws.search(reference(q, ranking), limit=None, terms=False)
    want = {r.docnum(i): float(r.score(i)) for i in range(r.scored_length())}
    docs, scores = execute(ws, q, SegmentArrays, ranking.bm25)
    return dict(zip(docs.tolist(), scores.tolist())), want


@pytest.mark.parametrize("ranking", [
    Ranking(), OTHER, Ranking().with_settings({"bm25.length_groups": JOINT_LENGTHS}),
    Ranking().with_settings({"bm25.length_groups": ONE_LENGTH, "bm25.b.question": 0.4})],
    ids=["default", "other", "joint-lengths", "one-length"])
def test_executor_and_whoosh_weighting_score_alike(index, ranking):
    with Searcher(index, ranking=ranking) as s, Searcher(index) as default:
        compared, changed = 0, set()
        for text in QUERIES:
            got, want = _scores(s, ranking, text)
            assert got.keys() == want.keys(), text
            for d, score in want.items():
                assert got[d] == pytest.approx(score, rel=1e-12, abs=1e-12), (text, d)
            compared += len(want)
            if got != _scores(default, Ranking(), text)[0]:
                changed.add(text)
        assert compared > 100
        # the words searched in every field (BM25F) move with its settings
        assert changed == set() if ranking == Ranking() else changed >= BM25F_QUERIES


def test_a_ranking_changes_the_scores(index):
    with Searcher(index) as a, Searcher(index, ranking=OTHER) as b:
        for text in ("housing", "crime police"):
            pa = a.search(text, limit=20, snippets=False)
            pb = b.search(text, limit=20, snippets=False)
            assert pa.total == pb.total > 0
            assert [h.score for h in pa.hits] != [h.score for h in pb.hits], text
        two = a.search("crime police", limit=1, snippets=False).hits[0].score
        assert two > 1000 and b.search("crime police", limit=1, snippets=False).hits[0].score < 1000
