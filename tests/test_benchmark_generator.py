"""The benchmark corpus generator writes files the corpus parser accepts, deterministically."""

from __future__ import annotations

from collections import Counter

from index_data.corpus import parse_file
from index_data.model import ANSWERED, HOLDING, UNANSWERED


def test_generated_files_parse_with_the_expected_mix(tmp_path, generate):
    out = generate.generate(tmp_path / "c", 400, seed=7)
    files = sorted(out.iterdir())
    assert len(files) == 400
    statuses, multi, years = Counter(), 0, set()
    g = generate.Generator(7)
    for i, path in enumerate(files):
        q = parse_file(path)
        want = g.question(i)
        assert q.title == want["title"]
        assert q.asker == want["asker"] and q.party == want["party"]
        assert q.asked_of == want["asked_of"] and q.meeting_date == want["date"]
        assert q.session_date == want["date"]
        assert q.question == "\n\n".join(p.replace("\u00a0", " ") for p in want["question"])
        assert len(q.answers) == len(want["answers"])
        statuses[q.status] += 1
        multi += len(q.answers) > 1
        years.add(q.meeting_date.year)
    assert 5 <= statuses[UNANSWERED] <= 40  # ~5%
    assert statuses[HOLDING] >= 1 and statuses[ANSWERED] > 300
    assert multi >= 4
    assert min(years) < 2005 and max(years) > 2020


def test_generation_is_deterministic_and_prefix_stable(tmp_path, generate):
    a = generate.generate(tmp_path / "a", 30, seed=3)
    b = generate.generate(tmp_path / "b", 60, seed=3)
    for p in a.iterdir():
        assert (b / p.name).read_bytes() == p.read_bytes()
    c = generate.generate(tmp_path / "c", 30, seed=4)
    assert {p.name for p in c.iterdir()} != {p.name for p in a.iterdir()}
