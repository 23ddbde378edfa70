"""Search semantics through the library API, on the synthetic corpus in conftest."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from conftest import SEED
from index_data import parse_file
from searcher import NotFoundError, QueryError, Searcher

SEED_ID = "000_f69fb07d1f8a9a60"


def ids(page):
    return [h.id for h in page.hits]


def test_hate_crime_returns_seed_first_with_marks_and_party_facet(searcher):
    page = searcher.search("hate crime")
    assert page.hits[0].id == SEED_ID
    assert any("<mark>" in s for s in page.hits[0].snippets.question)
    assert any("<mark>" in s for s in page.hits[0].snippets.answer)
    assert "Labour Group" in page.facets["party"]


def test_two_word_query_ranks_documents_with_both_words_first(searcher):
    page = searcher.search("hate crime", limit=20)
    both = {SEED_ID, "hate_reporting"}
    one = {"knife", "crime_stats", "hatred"}
    ranks = {h.id: h.rank for h in page.hits}
    assert both | one <= set(ranks)
    assert max(ranks[i] for i in both) < min(ranks[i] for i in one)


def test_hit_fields(searcher):
    hit = searcher.search('"hate crime" asker:"navin shah"').hits[0]
    assert (hit.id, hit.title, hit.meeting, hit.meeting_date) == (SEED_ID, "Hate Crime (1)", "MQT",
                                                                  dt.date(2017, 9, 14))
    assert (hit.asker, hit.party, hit.asked_of, hit.status) == ("Navin Shah", "Labour Group",
                                                                "The Mayor", "answered")
    assert hit.rank == 1 and hit.score > 0


def test_phrase_needs_adjacent_words_and_matches_stemmed_variants(searcher):
    assert set(ids(searcher.search('"hate crime"'))) == {SEED_ID, "hate_reporting"}
    assert ids(searcher.search('"crime hate"')) == []


def test_phrase_with_proximity(searcher):
    assert "knife" not in ids(searcher.search('"knife Croydon"'))
    assert "knife" in ids(searcher.search('"knife Croydon"~3'))


def test_exclusion(searcher):
    got = ids(searcher.search("crime -knife", limit=50))
    assert "knife" not in got and SEED_ID in got
    assert "knife" not in ids(searcher.search("crime NOT croydon", limit=50))


def test_or_and_grouping(searcher):
    assert set(ids(searcher.search("cladding OR graffiti"))) == {"fire", "hatred"}
    got = set(ids(searcher.search("(knife OR hate) AND crime", limit=50)))
    assert got == {"knife", SEED_ID, "hate_reporting"}
    assert set(ids(searcher.search("knife crime OR cladding"))) >= {"knife", "fire"}


def test_required_word(searcher):
    assert set(ids(searcher.search("+harrow crime", limit=50))) == {"crime_stats"}


def test_field_filters_in_query(searcher):
    assert set(ids(searcher.search("party:labour crime", limit=50))) == {SEED_ID, "crime_stats"}
    assert set(ids(searcher.search('asker:"Navin Shah"', limit=50))) == {SEED_ID, "crime_stats"}
    assert set(ids(searcher.search("asked_of:commissioner"))) == {"fire"}
    assert set(ids(searcher.search("status:holding"))) == {"fire"}
    assert set(ids(searcher.search("meeting:plenary"))) == {"air"}
    assert set(ids(searcher.search("title:graffiti hate"))) == {"hatred"}


def test_keyword_filters_are_case_insensitive(searcher):
    a = ids(searcher.search("crime", party="LABOUR", limit=50))
    b = ids(searcher.search("crime", party="labour group", limit=50))
    assert set(a) == set(b) == {SEED_ID, "crime_stats"}
    assert set(ids(searcher.search("", asker="navin SHAH", limit=50))) == {SEED_ID, "crime_stats"}
    assert set(ids(searcher.search("", asked_of="london fire commissioner"))) == {"fire"}
    assert set(ids(searcher.search("", status="unanswered", limit=50))) == \
        {"air"} | {f"transport_{i:02d}" for i in range(0, 12, 2)}


def test_accents_fold_in_names(searcher):
    assert set(ids(searcher.search("", asker="Sian Berry"))) == {"air", "covid"}


def test_date_filters(searcher):
    got = ids(searcher.search("crime", date_from="2017-01-01", date_to=dt.date(2019, 12, 31), limit=50))
    assert set(got) == {SEED_ID, "knife"}
    assert set(ids(searcher.search("crime year:2017"))) == {SEED_ID}
    assert set(ids(searcher.search("crime year:2016..2017", limit=50))) == {SEED_ID, "hate_reporting"}
    assert set(ids(searcher.search("crime date:2019-05", limit=50))) == {"knife"}
    assert set(ids(searcher.search("crime date:>=2020", limit=50))) == {"crime_stats"}
    assert set(ids(searcher.search("crime", date_from="2020", limit=50))) == {"crime_stats"}


def test_sort_by_date(searcher):
    newest = searcher.search("transport", sort="newest", limit=50)
    dates = [h.meeting_date for h in newest.hits]
    assert dates == sorted(dates, reverse=True) and len(dates) == 12
    oldest = searcher.search("transport", sort="oldest", limit=50)
    assert [h.id for h in oldest.hits] == [h.id for h in reversed(newest.hits)]


def test_pagination(searcher):
    p1 = searcher.search("transport", limit=5, page=1)
    p2 = searcher.search("transport", limit=5, page=2)
    p3 = searcher.search("transport", limit=5, page=3)
    assert p1.total == p2.total == p3.total == 12
    assert (len(p1.hits), len(p2.hits), len(p3.hits)) == (5, 5, 2)
    assert not set(ids(p1)) & set(ids(p2)) and not set(ids(p2)) & set(ids(p3))
    assert [h.rank for h in p2.hits] == [6, 7, 8, 9, 10]
    assert p1.pages == 3
    assert searcher.search("transport", limit=5, page=4).hits == []


def test_facets_count_the_whole_result_set_not_the_page(searcher):
    page = searcher.search("transport", limit=2)
    assert len(page.hits) == 2 and page.total == 12
    assert page.facets["party"] == {"Conservative Group": 4, "Labour Group": 4, "Liberal Democrat Group": 4}
    assert sum(page.facets["year"].values()) == 12
    assert page.facets["status"] == {"answered": 6, "unanswered": 6}
    assert list(page.facets) == ["party", "asker", "asked_of", "year", "status", "meeting"]


def test_facets_follow_filters(searcher):
    page = searcher.search("crime", party="labour")
    assert page.facets["party"] == {"Labour Group": 2}
    assert page.facets["year"] == {"2017": 1, "2020": 1}


def test_long_pasted_question_finds_its_document(searcher):
    text = parse_file(SEED).question
    page = searcher.search(text)
    assert page.hits[0].id == SEED_ID
    assert page.total > 1  # not every word is demanded


def test_long_query_with_one_foreign_word_still_matches(searcher):
    page = searcher.search("knife crime Croydon zanzibar quidditch violence reduction")
    assert page.hits[0].id == "knife"


def test_prefix_and_fuzzy(searcher):
    assert set(ids(searcher.search("graffit*"))) == {"hatred"}
    assert set(ids(searcher.search("claddin~"))) == {"fire"}
    assert set(ids(searcher.search("graffitti~2"))) == {"hatred"}


def test_tokens_from_the_issue_are_searchable(searcher):
    assert ids(searcher.search("COVID-19")) == ["covid"]
    assert ids(searcher.search("£1.2bn")) == ["covid"]
    assert ids(searcher.search("2017/3660")) == ["covid"]
    assert ids(searcher.search("O'Connell")) == ["covid"]  # straight apostrophe finds the curly one
    assert ids(searcher.search("ulez")) == ["air"]


def test_stemming_both_ways(searcher):
    assert "hate_reporting" in ids(searcher.search("crimes"))  # query plural, doc singular/plural
    assert SEED_ID in ids(searcher.search("reassure"))         # doc has "reassuring"


@pytest.mark.parametrize("query, pos, needle", [
    ('"hate crime', 1, "unclosed quote"),
    ("(hate crime", 1, "unclosed bracket"),
    ("hate crime)", 11, "unmatched closing bracket"),
    ("foo:bar", 1, "unknown field"),
    ("year:twenty", 1, "not a year"),
    ("date:2017-13", 1, "not a date"),
    ("*ate", 1, "only supported at the end"),
    ("a*", 1, "a prefix search needs"),
    ("h*te", 1, "only supported at the end"),
    ("hate~3", 1, "fuzzy distance"),
    ("hate OR", 6, "OR needs"),
])
def test_invalid_syntax_points_at_the_problem(searcher, query, pos, needle):
    with pytest.raises(QueryError) as e:
        searcher.search(query)
    assert needle in str(e.value) and e.value.position == pos and e.value.offset == pos - 1
    assert f"position {pos}" in str(e.value)


@pytest.mark.parametrize("kwargs", [dict(sort="best"), dict(limit=0), dict(page=0),
                                    dict(date_from="yesterday"), dict(status="done"),
                                    dict(date_from="2020", date_to="2019")])
def test_invalid_arguments(searcher, kwargs):
    with pytest.raises(QueryError):
        searcher.search("crime", **kwargs)


def test_stray_punctuation_is_ignored(searcher):
    assert ids(searcher.search("knife - crime : croydon *"))[0] == "knife"


def test_only_exclusion_matches_everything_else(searcher):
    page = searcher.search("-transport")
    assert page.total == 10


def test_empty_query_lists_everything_with_filters(searcher):
    assert searcher.search("").total == 22
    assert ids(searcher.search("", party="green", sort="newest")) == ["covid", "air"]


def test_stopword_only_query_finds_nothing(searcher):
    page = searcher.search("the of and")
    assert page.total == 0 and page.hits == []


def test_get_full_record(searcher):
    rec = searcher.get(SEED_ID)
    assert rec == parse_file(SEED).__class__.from_dict(rec.to_dict())
    assert rec.answers[0].text.startswith("There is a small minority")
    with pytest.raises(NotFoundError, match="no-such-id"):
        searcher.get("no-such-id")
    with pytest.raises(NotFoundError, match="no-such-id"):
        searcher.similar("no-such-id")


def test_snippets_escape_markup_from_documents(searcher):
    page = searcher.search("website injection")
    hit = page.hits[0]
    assert hit.id == "script"
    text = json.dumps([h["snippets"] for h in page.to_dict()["hits"]])
    assert "<script" not in text and "<b>" not in text
    assert "&lt;script&gt;" in hit.snippets.question[0]
    assert "<mark>injection</mark>" in hit.snippets.question[0]
    assert "&amp;" in hit.snippets.question[0]
    assert "&lt;b&gt;" in hit.snippets.answer[0]


def test_snippet_marks_stemmed_variants_only(searcher):
    snip = searcher.search("crimes").hits[0].snippets
    joined = " ".join(snip.question + snip.answer)
    assert "<mark>" in joined
    for marked in joined.split("<mark>")[1:]:
        assert marked.split("</mark>")[0].lower().startswith("crime")


def test_suggestion_for_misspelling_and_none_for_correct_words(searcher):
    assert searcher.search("cladd").suggestion is None or searcher.search("cladd").suggestion == "cladding"
    page = searcher.search("graffitti")
    assert page.total == 0 and page.suggestion == "graffiti"
    assert searcher.search("hatte crime").suggestion == "hate crime"
    assert searcher.search("hate crime").suggestion is None
    assert searcher.search("graffiti").suggestion is None


def test_known_words_are_those_with_a_frequency(searcher):
    """"Did you mean" leaves alone the words the index knows (``Snapshot.knows_word``, from the
    term tables): exactly those whose document frequency is above 0, in the body text and in
    the name fields it corrects."""
    snap = searcher.engine.snapshot()
    rec = snap.records([(0, 0.0)])[0].record
    words = ["graffiti", "graffitti", "crime", "the", "zzzqqq", "hate", "cladding", "policing"]
    words += rec["question"].lower().split()[:12]
    checked = known = 0
    for field in (None, "asker", "party", "meeting"):
        names = [w.lower() for w in str(rec.get(field or "", "")).split()] if field else []
        for word in words + names + ["nobody"]:
            assert snap.knows_word(word, field) == (snap.word_frequency(word, field) > 0), (word, field)
            checked += 1
            known += snap.knows_word(word, field)
    assert known >= 5 and checked - known >= 5


def test_result_page_json_shape(searcher):
    d = searcher.search("hate crime").to_dict()
    assert set(d) == {"query", "total", "page", "pages", "limit", "sort", "took_ms", "suggestion",
                      "filters", "hits", "facets"}
    assert set(d["hits"][0]) == {"id", "rank", "score", "title", "meeting", "meeting_date", "asker",
                                 "party", "asked_of", "status", "snippets"}
    assert set(d["hits"][0]["snippets"]) == {"question", "answer"}
    json.dumps(d)


def test_hit_dict_is_the_dataclass_as_json(searcher):
    """Hit.to_dict is written out by hand (cheaper than dataclasses.asdict): the same keys in the
    same order, the date as ISO text and the score rounded, and lists of its own."""
    from dataclasses import asdict

    for hit in searcher.search("crime", limit=20).hits:
        expected = {**asdict(hit), "meeting_date": hit.meeting_date.isoformat(), "score": round(hit.score, 4)}
        d = hit.to_dict()
        assert d == expected and list(d) == list(expected)
        assert d["snippets"]["question"] == hit.snippets.question
        assert d["snippets"]["question"] is not hit.snippets.question


def test_to_json_writes_markup_characters_as_escapes():
    from searcher.results import to_json

    obj = {"s": "<mark>a & b</mark> > c", "n": 1.5, "d": dt.date(2020, 1, 2)}
    text = to_json(obj, indent=None)
    assert text == ('{"s": "\\u003cmark\\u003ea \\u0026 b\\u003c/mark\\u003e \\u003e c", "n": 1.5, '
                    '"d": "2020-01-02"}')
    assert json.loads(text) == {**obj, "d": "2020-01-02"}


def test_library_from_other_threads(searcher):
    expected = ids(searcher.search("crime", limit=50))
    results, errors = [], []

    def work():
        try:
            for _ in range(20):
                results.append(ids(searcher.search("crime", limit=50)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 80 and all(r == expected for r in results)


def test_searcher_sees_a_rebuilt_index(write_corpus, tmp_path):
    from conftest import question_file
    from index_data import build_index

    corpus = write_corpus({"a.txt": question_file(title="Alpha", question="Bicycles on bridges?")})
    build_index(corpus, tmp_path / "ix")
    with Searcher(tmp_path / "ix") as s:
        assert ids(s.search("bicycles")) == ["a"]
        (corpus / "b.txt").write_text(question_file(title="Beta", question="More bicycles?"))
        build_index(corpus, tmp_path / "ix")
        assert set(ids(s.search("bicycles"))) == {"a", "b"}


def test_a_rebuilt_index_never_serves_the_old_facets_or_dates(write_corpus, tmp_path):
    """Facet and date caches are keyed by segment (id and deletions), not by the reader object's
    id and the index generation: a rebuilt index swapped in under a long-lived Searcher has the
    same document count and generation as the old one, and Python may give its reader the freed
    reader's id, yet every answer comes from the new data."""
    import gc

    from conftest import question_file
    from index_data import build_index

    index = tmp_path / "ix"
    parties = ["Labour Group", "Green Party", "Conservative Group", "Liberal Democrat Group"]
    searcher = None
    try:
        for round_ in range(4):
            party, year = parties[round_], 2010 + round_
            corpus = write_corpus({f"q{i}.txt": question_file(
                title=f"Buses {i}", question=f"Bus route {i} in Croydon?", party=party,
                date=f"{year}-0{1 + i}-1{i}", session_date=None) for i in range(5)})
            build_index(corpus, index)
            if searcher is None:
                searcher = Searcher(index)
            page = searcher.search("buses", sort="newest", limit=10)
            assert page.total == 5
            assert page.facets["party"] == {party: 5}, round_
            assert page.facets["year"] == {str(year): 5}, round_
            assert [h.meeting_date.year for h in page.hits] == [year] * 5
            assert [h.meeting_date.month for h in page.hits] == [5, 4, 3, 2, 1]
            assert searcher.search("buses", date_from=str(year), limit=10).total == 5
            stats = searcher.stats()
            assert (stats.first_date.year, stats.last_date.year) == (year, year)
            assert stats.top_parties == {party: 5}
            gc.collect()  # free the old readers: their ids may be given to the new ones
    finally:
        if searcher is not None:
            searcher.close()
