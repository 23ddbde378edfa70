"""The corpus parser: the real seed file byte for byte, format variants, and errors."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from conftest import NBSP, SEED, question_file
from index_data import CorpusError, parse_file
from index_data.corpus import decode, doc_id_for, iter_corpus, parse_text


def parse(text: str | bytes, name: str = "q.txt"):
    if isinstance(text, bytes):
        text = decode(text, name)
    return parse_text(text, name)


def test_seed_file_parses_to_every_field():
    q = parse_file(SEED)
    assert q.id == "000_f69fb07d1f8a9a60"
    assert q.title == "Hate Crime (1)"
    assert q.meeting == "MQT"
    assert q.meeting_date == dt.date(2017, 9, 14)
    assert q.session_date == dt.date(2017, 9, 14)
    assert q.asker == "Navin Shah"
    assert q.party == "Labour Group"
    assert q.asked_of == "The Mayor"
    assert q.question.startswith("There are reports of huge spike in hate crimes")
    assert q.question.endswith("as a way of support?")
    # the repeated "Answer for" header gives one answer, not two, and is not part of any text
    assert len(q.answers) == 1
    assert q.answers[0].answered_by == "The Mayor"
    assert q.answers[0].text.startswith("There is a small minority")
    assert q.answers[0].text.endswith("the support we collectively provide to victims.")
    assert "Answer for" not in q.answers[0].text
    assert q.answers[0].text.count("\n\n") == 3  # four paragraphs
    assert "\u00a0" not in q.answers[0].text  # no-break spaces inside text become plain spaces
    assert q.status == "answered"
    assert q.source_path.endswith(SEED.name)


def test_seed_labels_really_end_in_no_break_space():
    raw = SEED.read_bytes().decode("utf-8")
    assert f"Question By:{NBSP}\n" in raw and f"Asked Of:{NBSP}\n" in raw


def test_round_trip_through_dict():
    q = parse_file(SEED)
    from index_data import Question
    assert Question.from_dict(q.to_dict()) == q


@pytest.mark.parametrize("text", [SEED.read_text("utf-8"), question_file(answers=()),
                                  question_file(session_date=None, party=None),
                                  question_file(answers=(("The Mayor", "One."), ("Deputy Mayor", "Two.")))])
def test_to_dict_is_asdict_with_iso_dates(text):
    """The stored record: every field in declaration order (json.dumps keeps that order)."""
    import dataclasses

    q = parse(text)
    want = dataclasses.asdict(q)
    want["meeting_date"] = q.meeting_date.isoformat()
    want["session_date"] = q.session_date.isoformat() if q.session_date else None
    want["answers"] = [dataclasses.asdict(a) for a in q.answers]
    assert list(q.to_dict().items()) == list(want.items())


def test_no_answer_section_is_unanswered():
    q = parse(question_file(answers=()))
    assert q.answers == () and q.status == "unanswered"
    assert q.question == "How many homes were built this year?"


def test_several_answer_blocks():
    q = parse(question_file(answers=(("The Mayor", "First answer."),
                                     ("Deputy Mayor for Housing", "Second answer.\n\nMore."))))
    assert [a.answered_by for a in q.answers] == ["The Mayor", "Deputy Mayor for Housing"]
    assert q.answers[1].text == "Second answer.\n\nMore."
    assert q.answered_by == ("The Mayor", "Deputy Mayor for Housing")


def test_crlf_line_endings():
    q = parse(question_file().replace("\n", "\r\n").encode("utf-8"))
    assert q.asker == "Tom Copley" and q.answers[0].text == "Over 10,000 homes were completed."
    assert "\r" not in q.question


def test_utf8_bom():
    q = parse(b"\xef\xbb\xbf" + question_file(title="Café Culture").encode("utf-8"))
    assert q.title == "Café Culture"


def test_cp1252_bytes():
    text = question_file(question="Is the £1.2bn budget “fair”? Siân asks.")
    q = parse(text.encode("cp1252"))
    assert q.question == "Is the £1.2bn budget “fair”? Siân asks."


def test_latin1_bytes_undefined_in_cp1252():
    q = parse(question_file(question="Odd byte \x81 here.").encode("latin-1"))
    assert q.question == "Odd byte \x81 here."


def test_invalid_utf8_mixed_with_valid_utf8_is_rejected_with_line():
    data = question_file(question="Siân said £5.").encode("utf-8").replace(b"said", b"s\xffid")
    with pytest.raises(CorpusError) as e:
        parse(data)
    assert "invalid UTF-8" in e.value.reason and e.value.line == 13


def test_trailing_whitespace_everywhere():
    text = "\n".join(line + " \t " for line in question_file().split("\n")) + "\n\n\n"
    q = parse(text)
    assert q.title == "Housing Targets" and q.asker == "Tom Copley" and q.party == "Labour Group"
    assert q.answers[0].text == "Over 10,000 homes were completed."


def test_missing_party_line():
    q = parse(question_file(party=None))
    assert q.asker == "Tom Copley" and q.party is None and q.asked_of == "The Mayor"


@pytest.mark.parametrize("meeting", ["Plenary", "Budget and Performance Committee", "People's Question Time"])
def test_other_meeting_types(meeting):
    q = parse(question_file(meeting=meeting, date="2020-01-30"))
    assert q.meeting == meeting and q.meeting_date == dt.date(2020, 1, 30)


def test_supplementary_title():
    q = parse(question_file(title="Policing (Supplementary) [3]"))
    assert q.title == "Policing (Supplementary) [3]"


def test_missing_session_date():
    q = parse(question_file(session_date=None))
    assert q.session_date is None and q.meeting_date == dt.date(2018, 3, 22)


def test_label_value_on_the_same_line():
    text = question_file().replace(f"Question By:{NBSP}\nTom Copley", "Question By: Tom Copley")
    assert parse(text).asker == "Tom Copley"


@pytest.mark.parametrize("reply", ["Officers are drafting a response.",
                                   "A response is being prepared and will be sent shortly.",
                                   "Awaiting a response from TfL."])
def test_holding_reply_is_holding_not_answered(reply):
    assert parse(question_file(answers=(("The Mayor", reply),))).status == "holding"


@pytest.mark.parametrize("reply", [
    "Officers are drafting a response which will be sent shortly.\n\nWritten response from the "
    "Mayor received 13/06/2016\n\nThe Mayor has asked TfL to review the bus routes.",
    "Officers are drafting a response which will be sent shortly.\n\nWritten response received "
    "29/11/2012 There is no current list of the type requested.",
    "Officers are drafting a response which will be sent shortly.\n\nWritten response provided on "
    "5 January 2011:\n\n£3,407,500 has been received by TfL to date.",
])
def test_placeholder_followed_by_a_written_response_is_answered(reply):
    q = parse(question_file(answers=(("The Mayor", reply),)))
    assert q.status == "answered"
    assert "Written response" in q.answers[0].text  # the text, with its date, is kept whole


@pytest.mark.parametrize("reply", [
    "Officers are drafting a response which will be sent shortly.",
    "Officers are drafting a response which will be sent shortly.\n\nWritten response received "
    "on 1 July 2013.",  # the note of a response, and no response
])
def test_only_the_placeholder_is_holding(reply):
    assert parse(question_file(answers=(("The Mayor", reply),))).status == "holding"


def test_long_answer_mentioning_awaiting_is_answered():
    long = "We are awaiting a response from government. " + "Detail. " * 80
    assert parse(question_file(answers=(("The Mayor", long),))).status == "answered"


@pytest.mark.parametrize("mutate, line, expected", [
    (lambda t: t.replace("MQT on 2018-03-22", "MQT 2018-03-22"), 3, "MEETING on YYYY-MM-DD"),
    (lambda t: t.replace("2018-03-22", "2018-02-30"), 3, "invalid meeting date"),
    (lambda t: t.replace("March 22, 2018", "the 22nd"), 5, "session date"),
    (lambda t: t.replace(f"Question By:{NBSP}\nTom Copley\nLabour Group\n", ""), None, "Question By"),
    (lambda t: t.replace(f"Asked Of:{NBSP}\nThe Mayor", f"Asked Of:{NBSP}"), 9, "Asked Of"),
    (lambda t: t.split("\n\n\nAnswer for")[0].replace("How many homes were built this year?", ""),
     None, "question text"),
])
def test_errors_name_file_line_and_expectation(mutate, line, expected):
    with pytest.raises(CorpusError) as e:
        parse(mutate(question_file()), "corpus/bad.txt")
    err = e.value
    assert err.path == "corpus/bad.txt"
    assert expected in err.reason
    if line is not None:
        assert err.line == line
        assert str(err).startswith(f"corpus/bad.txt:{line}: ")


@pytest.mark.parametrize("data, reason", [(b"", "empty file"), (b"  \n\n", "empty file"),
                                          (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file")])
def test_empty_and_binary_files(data, reason):
    with pytest.raises(CorpusError) as e:
        decode(data, "x.txt")
    assert reason in e.value.reason


def test_doc_id_is_file_name_without_extension():
    assert doc_id_for("corpus/sub/000_abc.txt") == "000_abc"
    assert doc_id_for("x/Q.TXT") == "Q"


def test_iter_corpus_ignores_hidden_and_other_files(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / ".hidden.txt").write_text("x")
    (tmp_path / "notes.md").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "b.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("x")
    assert [f.doc_id for f in iter_corpus(tmp_path)] == ["a", "c"]


def test_iter_corpus_missing_folder(tmp_path):
    with pytest.raises(CorpusError):
        list(iter_corpus(tmp_path / "nope"))


def test_list_corpus_threaded_stats_match_a_plain_walk(tmp_path, monkeypatch):
    """The listing a reindex uses, with its stats done by threads in chunks (forced on a small
    folder), gives what a plain os.walk and os.stat give, in iter_corpus's order."""
    import index_data.corpus as corpus

    for n in range(23):
        (tmp_path / f"q{n:03d}.TXT" if n == 5 else tmp_path / f"q{n:03d}.txt").write_text("x" * n)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text("abc")
    (tmp_path / "notes.md").write_text("no")
    (tmp_path / "link.txt").symlink_to(tmp_path / "q001.txt")
    (tmp_path / "out.txt").symlink_to("/etc/hostname")
    monkeypatch.setattr(corpus, "_STAT_CHUNK", 4)
    monkeypatch.setattr(corpus, "STAT_THREADS", 4)  # the threaded path (the default is one thread)
    listing = corpus.list_corpus(tmp_path)
    want = []
    for folder, dirs, files in os.walk(tmp_path):
        dirs.sort()
        for name in sorted(f for f in files if f.lower().endswith(".txt")):
            p = os.path.join(folder, name)
            st = os.stat(p)
            want.append((os.path.relpath(p, tmp_path), name[:-4], st.st_size, st.st_mtime_ns))
    got = [(listing.rel[i], listing.ids[i], listing.size[i], listing.mtime[i])
           for i in range(len(listing)) if i not in listing.problems]
    assert got == [w for w in want if w[0] != "out.txt"]
    assert [listing.rel[i] for i in listing.problems] == ["out.txt"]
    assert [(str(f.path), f.doc_id, f.size, f.mtime_ns, f.problem) for f in iter_corpus(tmp_path)] == \
        [(listing.path(i), listing.ids[i], listing.size[i], listing.mtime[i], listing.problems.get(i))
         for i in range(len(listing))]
