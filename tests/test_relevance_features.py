"""Relevance features on small synthetic corpora: keyword precision, synonyms, "did you mean",
similar questions and the recency sort."""

import json

import pytest
from click.testing import CliRunner

from conftest import question_file
from index_data import build_index
from searcher import Ranking, Searcher
from searcher.cli import cli
from searcher.synonyms import expand, load_synonyms
from searcher.query import Or, Phrase, parse_query


def _q(title, question, date="2018-03-22", answer=None):
    return question_file(title=title, question=question, date=date, session_date=None,
                         answers=(("The Mayor", answer),) if answer else ())


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    docs = {
        "mps_only.txt": _q("Stop and Search", "How many stop and search checks did the MPS carry out?"),
        "police_cuts.txt": _q("Police Budget", "Will police numbers fall after the budget cuts?"),
        "tfl_fares.txt": _q("Fares", "Will Transport for London freeze bus fares next year?"),
        "bus_only.txt": _q("Bus Routes", "Bus bus bus routes in Bexley: bus bus bus changes, bus bus."),
        "cycle_1_old.txt": _q("Cycle Lanes", "Cycle lanes on the Embankment.", date="2012-05-10"),
        "cycle_2_new.txt": _q("Cycle Lanes", "Cycle lanes on the Embankment.", date="2022-05-12"),
        "housing.txt": _q("Affordable Housing", "How many affordable homes were started in Hackney?",
                          answer="Affordable housing starts in Hackney rose to 1,200 homes."),
        "housing2.txt": _q("Affordable Homes Delivery", "What is the affordable housing delivery in Hackney?",
                           answer="Hackney delivered many affordable homes through the housing programme."),
        "fire.txt": _q("Fire Safety", "How many tower blocks still have unsafe cladding?"),
        "noise.txt": _q("Noise", "Residents report noise at night; the hour when it stops is dawn time."),
    }
    corpus = tmp_path_factory.mktemp("relcorpus")
    for name, text in docs.items():
        (corpus / name).write_text(text, encoding="utf-8")
    ix = tmp_path_factory.mktemp("relix") / "ix"
    assert build_index(corpus, ix).indexed == len(docs)
    with Searcher(ix) as s:
        yield s


def ids(page):
    return [h.id for h in page.hits]


def test_two_word_query_ranks_documents_with_both_words_first(index):
    # "bus_only" repeats one word many times; the fares question has both words once.
    page = index.search("bus fares")
    assert ids(page)[0] == "tfl_fares"
    assert "bus_only" in ids(page)


def test_hyphenated_word_is_a_phrase_when_typed_but_loose_in_a_pasted_question(index):
    assert "noise" not in ids(index.search("night-time"))  # "night" and "time" are not adjacent
    page = index.search("what is being done about night-time disturbance from loud music venues")
    assert "noise" in ids(page)


def test_met_police_finds_a_document_that_only_says_mps(index):
    page = index.search("Met Police")
    assert "mps_only" in ids(page)
    hit = page.hits[ids(page).index("mps_only")]
    assert "<mark>MPS</mark>" in hit.snippets.question[0]  # the synonym matched is marked


def test_synonyms_can_be_switched_off(index):
    assert "mps_only" not in ids(index.search("Met Police", synonyms=False))
    assert "tfl_fares" in ids(index.search("TfL"))
    assert "tfl_fares" not in ids(index.search("TfL", synonyms=False))


def test_synonym_of_a_phrase_and_exclusion(index):
    assert ids(index.search('"Transport for London"')) == ["tfl_fares"]
    assert "tfl_fares" not in ids(index.search("fares -tfl"))  # -TfL also excludes its long name


def test_each_name_of_a_synonym_group_scores_as_one_word(tmp_path):
    # "TfL" finds a question saying "Transport for London": as one word (the mean of its two
    # indexed words' scores, "for" is a stopword), not as two, so it no longer outranks the
    # question saying "TfL"
    corpus = tmp_path / "c"
    corpus.mkdir()
    for name, question in (("acronym", "How much more is there to cut at TfL this year?"),
                           ("long_name", "How much more is there to cut at Transport for London?")):
        (corpus / f"{name}.txt").write_text(_q("Budget", question), encoding="utf-8")
    for i in range(20):  # common words, so that "transport" and "london" weigh like "tfl"
        (corpus / f"other{i}.txt").write_text(_q("Other", f"Question {i} about the year ahead."),
                                              encoding="utf-8")
    assert build_index(corpus, tmp_path / "ix").indexed == 22
    with Searcher(tmp_path / "ix") as s:
        one = {h.id: h.score for h in s.search("TfL cut", snippets=False).hits}
        cut = {h.id: h.score for h in s.search("cut", snippets=False).hits}["long_name"]
    with Searcher(tmp_path / "ix", ranking=Ranking().with_settings({"bm25.name_as_word": False})) as s:
        summed = {h.id: h.score for h in s.search("TfL cut", snippets=False).hits}
    assert list(one) == ["acronym", "long_name"]
    assert list(summed) == ["long_name", "acronym"]
    assert one["acronym"] == pytest.approx(summed["acronym"])
    bonus = Ranking().coordination.bonus  # both match both query words: one bonus
    assert one["long_name"] - bonus - cut == pytest.approx((summed["long_name"] - bonus - cut) / 2)


def test_expansion_keeps_phrases_whole():
    table = load_synonyms()
    tree = expand(parse_query('"Met Police officers"'), table)  # not a name: left alone
    assert tree == parse_query('"Met Police officers"')
    tree = expand(parse_query("Met Police"), table)
    group = tree.should[0]
    assert isinstance(group, Or) and Phrase("Met Police") in group.children
    assert Phrase("MPS") in group.children


def test_did_you_mean_for_a_misspelling(index):
    page = index.search("afordable housing")
    assert page.suggestion == "affordable housing"
    assert index.search("clading").suggestion == "cladding"


def test_no_suggestion_for_correct_words(index):
    assert index.search("affordable housing").suggestion is None
    assert index.search("cladding").suggestion is None
    assert index.search("zebra").suggestion is None  # unknown, but nothing close either


def test_similar_questions_exclude_the_question_itself(index):
    page = index.similar("housing", limit=5)
    assert "housing" not in ids(page)
    assert ids(page)[0] == "housing2"
    assert index.similar("cycle_1_old").hits[0].id == "cycle_2_new"


def test_similar_unknown_id_is_a_user_error(index):
    from searcher import MqtError, NotFoundError, QueryError

    with pytest.raises(NotFoundError, match="no question with id") as e:
        index.similar("nope")
    assert isinstance(e.value, MqtError) and not isinstance(e.value, QueryError)


def test_relevance_recent_prefers_the_newer_of_equals(index):
    assert ids(index.search("cycle lanes"))[:2] == ["cycle_1_old", "cycle_2_new"]  # a tie: index order
    assert ids(index.search("cycle lanes", sort="relevance_recent"))[:2] == ["cycle_2_new", "cycle_1_old"]
    # a nudge only: both-words documents still beat one-word ones
    page = index.search("affordable homes cycle", sort="relevance_recent")
    assert set(ids(page)[:2]) == {"housing", "housing2"}  # two words beat the newest one-word match
    assert "cycle_2_new" in ids(page)[2:]


def test_cli_similar_and_no_synonyms(index):
    runner = CliRunner()
    ix = str(index.index_dir)
    r = runner.invoke(cli, ["similar", "housing", "--index", ix, "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["hits"][0]["id"] == "housing2" and all(h["id"] != "housing" for h in d["hits"])
    r = runner.invoke(cli, ["similar", "nope", "--index", ix])
    assert r.exit_code == 1 and "no question with id" in r.stderr
    r = runner.invoke(cli, ["search", "Met", "Police", "--no-synonyms", "--json", "--index", ix])
    assert "mps_only" not in r.stdout
    r = runner.invoke(cli, ["search", "Met", "Police", "--json", "--index", ix])
    assert "mps_only" in r.stdout
    assert "Example:" in runner.invoke(cli, ["similar", "--help"]).stdout


def test_joint_lengths_keep_a_long_answer_mentioning_the_words_in_passing_below_the_question(
        write_corpus, tmp_path):
    """With ``bm25.length_groups`` joining question and answer, BM25F normalises their counts by
    the joint length: the short question about the cable car ranks above a long budget answer
    that names it four times in passing. Each field normalised alone (the default: the joint
    form fails the halves check, ``benchmarks/halves_check.py``), the answer's counts come
    free and it ranks first."""
    filler = " ".join(f"The transport budget line {i} covers maintenance, staffing and renewals."
                      for i in range(20))
    passing = " ".join(["The cable car plans were noted."] * 4)
    docs = {"cable.txt": _q("Thames Crossing", "What are the cable car plans?"),
            "budget.txt": _q("Transport Budget", "What is in the transport budget?",
                             answer=f"{filler} {passing} {filler}")}
    for i in range(6):  # answers as long as the budget's are usual (as in the real archive)
        docs[f"other{i}.txt"] = _q(f"Housing {i}", f"How many homes were built in borough {i}?",
                                   answer=f"Homes in borough {i} were built. {filler} {filler}")
    corpus = write_corpus(docs)
    build_index(corpus, tmp_path / "ix")
    joint = Ranking().with_settings({"bm25.length_groups": (("title",), ("question", "answer"))})
    with Searcher(tmp_path / "ix", ranking=joint) as s, Searcher(tmp_path / "ix") as t:
        assert ids(s.search("cable car plans"))[:2] == ["cable", "budget"]
        assert ids(t.search("cable car plans"))[:2] == ["budget", "cable"]
