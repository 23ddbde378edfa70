"""Phrases do not jump over removed stopwords or sentence ends (issue 12.3).

A removed stopword keeps its position (Lucene's and Elasticsearch's position increments), and a
sentence end or paragraph break adds one, so ``"reducing crimes"`` does not match "reducing these
crimes" and ``"rough sleeping"`` does not match "rough. And against sleeping", while a phrase
that contains a stopword (``"secretary of state"``) still finds "Secretary of State".
"""

from __future__ import annotations

import pytest

from conftest import question_file
from index_data import build_index
from searcher import Searcher

DOCS = {
    "rough_apart": "We spoke to people sleeping rough. And against sleeping in doorways, nothing.",
    "rough_together": "How many people are rough sleeping in Westminster this winter?",
    "reducing_these": "What progress has been made in reducing these crimes across London?",
    "reducing_direct": "Is the Mayor reducing crimes of violence in Croydon?",
    "secretary": "Has the Mayor written to the Secretary of State about the budget?",
    "secretary_split": "The secretary said the state of the roads is poor.",
    "mr_smith": "Did Mr. Smith reply to the letter from the Mayor?",
    "paragraphs": "The first paragraph ends with knife\n\nCrime figures are in the second one.",
    "covid": "How will the COVID-19 recovery fund help small shops?",
}


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("gaps") / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / f"{name}.txt").write_text(question_file(title=name.replace("_", " ").title(),
                                                          question=text, answers=()),
                                            encoding="utf-8")
    index = corpus.parent / "ix"
    build_index(corpus, index)
    with Searcher(index) as searcher:
        yield searcher


def ids(page) -> set[str]:
    return {h.id for h in page.hits}


def test_a_phrase_does_not_jump_over_a_sentence_end_and_stopwords(s):
    assert ids(s.search('"rough sleeping"')) == {"rough_together"}


def test_a_phrase_does_not_jump_over_a_removed_stopword(s):
    assert ids(s.search('"reducing crimes"')) == {"reducing_direct"}
    assert ids(s.search('"reducing these crimes"')) == {"reducing_these"}


def test_a_phrase_with_a_stopword_in_it_still_matches(s):
    assert ids(s.search('"secretary of state"')) == {"secretary"}
    assert ids(s.search('"Secretary of State"', synonyms=False)) == {"secretary"}
    assert ids(s.search('"secretary state"')) == set()  # the "of" is a word between them


def test_abbreviations_are_not_sentence_ends(s):
    assert ids(s.search('"mr smith"')) == {"mr_smith"}
    assert ids(s.search('"Mr. Smith"')) == {"mr_smith"}


def test_a_paragraph_break_is_a_sentence_end(s):
    assert ids(s.search('"knife crime"')) == set()
    assert ids(s.search('"knife crime"~2')) == {"paragraphs"}  # slop lets a phrase cross it


def test_slop_counts_the_removed_words(s):
    assert ids(s.search('"reducing crimes"~1')) == {"reducing_direct", "reducing_these"}
    assert ids(s.search('"secretary state"~1')) == {"secretary"}


def test_split_words_still_match_as_phrases(s):
    assert ids(s.search("COVID-19")) == {"covid"}


def test_words_still_match_anywhere(s):
    assert ids(s.search("rough sleeping")) >= {"rough_apart", "rough_together"}


def test_follow_keeps_the_positions_within_delta_and_slop():
    import numpy as np

    from index_data.engine.phrases import follow

    reach, keys = np.array([3, 10]), np.array([4, 5, 12, 13])
    assert follow(reach, keys, 1, 0).tolist() == [4]
    assert follow(reach, keys, 1, 1).tolist() == [4, 5, 12]
    assert follow(reach, keys, 2, 1).tolist() == [5, 12, 13]
