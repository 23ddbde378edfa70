"""Shared fixtures: the bundled corpus, synthetic question files, the corpus generator, built
indexes; and the switch for slow tests.

Tests marked ``@pytest.mark.slow`` (soak, crash kills, Cranfield, concurrency waits, large
builds) run only with ``MQT_SLOW_TESTS=1`` or ``--runslow``; ``.ci/run`` sets it, so CI runs
everything while a plain local ``python -m pytest`` stays under a minute.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = CORPUS / "000_f69fb07d1f8a9a60.txt"
NBSP = "\u00a0"
#: The real-dev questions, when ``../shared`` has them (never copied into the repo).
REAL_DEV = ROOT.parent / "shared" / "real-dev" / "corpus"


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (or set MQT_SLOW_TESTS=1)")


def _run_slow(config) -> bool:
    return config.getoption("--runslow") or os.environ.get("MQT_SLOW_TESTS", "") not in ("", "0")


def pytest_report_header(config):
    return ("slow tests: included" if _run_slow(config)
            else "slow tests: left out (set MQT_SLOW_TESTS=1 or pass --runslow to run them)")


def pytest_collection_modifyitems(config, items):
    if _run_slow(config):
        return
    slow = [item for item in items if "slow" in item.keywords]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if "slow" not in item.keywords]


@pytest.fixture(scope="session")
def generate():
    """The synthetic corpus generator (``index_data.synthetic``, also ``benchmarks/generate.py``
    and ``mqt demo``): ``generate.generate(dir, n, seed=...)`` writes ``n`` realistic question
    files."""
    from index_data import synthetic

    return synthetic


@pytest.fixture(scope="session")
def question_texts(generate, tmp_path_factory) -> list[str]:
    """Question and answer texts (for the snippet tests): the seed, 80 generated questions and
    60 of the real-dev set (when ``../shared`` has it)."""
    from index_data.corpus import iter_corpus, parse_file

    corpus = generate.generate(tmp_path_factory.mktemp("snip") / "corpus", 80, seed=11)
    files = [SEED] + [f.path for f in iter_corpus(corpus)]
    if REAL_DEV.is_dir():
        files += sorted(REAL_DEV.glob("*.txt"))[:60]
    out = []
    for path in files:
        q = parse_file(path)
        out += [t for t in (q.question, q.answer_text) if t]
    return out


def question_file(title="Housing Targets", meeting="MQT", date="2018-03-22",
                  session_date="March 22, 2018", asker="Tom Copley", party="Labour Group",
                  asked_of="The Mayor", question="How many homes were built this year?",
                  answers=(("The Mayor", "Over 10,000 homes were completed."),)) -> str:
    """The text of a question file in the exact corpus format (labels end in a no-break space)."""
    lines = [title, "", f"{meeting} on {date}"]
    if session_date is not None:
        lines += [f"Session date:{NBSP}", session_date]
    lines += [f"Question By:{NBSP}", asker]
    if party:
        lines.append(party)
    lines += [f"Asked Of:{NBSP}", asked_of, "", "", question]
    if answers:
        lines += ["", "", f"Answer for {title}", "", f"Answer for {title}", ""]
        for by, text in answers:
            lines += [f"Answered By:{NBSP}", by, "", text, ""]
    return "\n".join(lines).rstrip("\n")


@pytest.fixture
def write_corpus(tmp_path):
    """Write ``{name: text_or_bytes}`` into a fresh corpus folder and return it."""

    def write(files: dict, seed: bool = False) -> Path:
        corpus = tmp_path / "corpus"
        corpus.mkdir(exist_ok=True)
        if seed:
            shutil.copy(SEED, corpus / SEED.name)
        for name, content in files.items():
            p = corpus / name
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                p.write_bytes(content)
            else:
                p.write_text(content, encoding="utf-8")
        return corpus

    return write


def _library_docs() -> dict[str, str]:
    """A small synthetic corpus (plus the real seed) with known answers for search tests."""
    docs = {
        "knife.txt": question_file(
            title="Knife Crime in Croydon", date="2019-05-16", session_date="May 16, 2019",
            asker="Susan Hall", party="Conservative Group",
            question="What is the Mayor doing about knife crime in Croydon?",
            answers=(("The Mayor", "Knife crime fell by 5% after the Violence Reduction Unit started."),)),
        "hate_reporting.txt": question_file(
            title="Reporting Online Hate", date="2016-02-10", session_date="February 10, 2016",
            asker="Caroline Pidgeon", party="Liberal Democrat Group",
            question="How can Londoners report online hate?",
            answers=(("The Mayor", "Online hate crimes rose sharply; the Online Hate Crime Hub "
                                   "investigates them."),)),
        "housing.txt": question_file(),
        "air.txt": question_file(
            title="Air Quality", meeting="Plenary", date="2019-11-21", session_date="November 21, 2019",
            asker="Siân Berry", party="Green Party",
            question="Will the ULEZ expansion improve air quality in outer London?", answers=()),
        "crime_stats.txt": question_file(
            title="Crime Statistics in Harrow", date="2020-01-30", session_date="January 30, 2020",
            asker="Navin Shah", party="Labour Group",
            question="What are the latest crime figures for Harrow?",
            answers=(("The Mayor", "Recorded offences in Harrow were stable."),)),
        "hatred.txt": question_file(
            title="Graffiti", date="2018-06-14", session_date="June 14, 2018", asker="Andrew Boff",
            party="Conservative Group", question="Who removes graffiti expressing hate on bridges?",
            answers=(("The Mayor", "Boroughs remove it within 24 hours."),)),
        "fire.txt": question_file(
            title="Fire Safety", date="2021-07-08", session_date="July 8, 2021", asker="Andrew Boff",
            party="Conservative Group", asked_of="London Fire Commissioner",
            question="How many tower blocks still have unsafe cladding?",
            answers=(("London Fire Commissioner", "Officers are drafting a response."),)),
        "script.txt": question_file(
            title="Website <script>alert(1)</script> Security", date="2021-03-18",
            session_date="March 18, 2021", asker="Tony Devenish", party="Conservative Group",
            question="Is the website safe from <script>alert('x')</script> injection & attacks?",
            answers=(("The Mayor", "Yes: <b>all</b> input is escaped."),)),
        "covid.txt": question_file(
            title="COVID-19 Recovery Fund", date="2021-03-18", session_date="March 18, 2021",
            asker="Sian Berry", party="Green Party",
            question="How will the £1.2bn recovery fund (question 2017/3660) help O’Connell's shop?",
            answers=(("The Mayor", "The fund supports small businesses."),)),
    }
    for i in range(12):
        docs[f"transport_{i:02d}.txt"] = question_file(
            title=f"Transport Question {i}", date=f"{2010 + i}-04-0{1 + i % 9}",
            session_date=None, asker=["Caroline Pidgeon", "Keith Prince", "Tom Copley"][i % 3],
            party=["Liberal Democrat Group", "Conservative Group", "Labour Group"][i % 3],
            question=f"What will TfL do about transport in borough number {i}?",
            answers=(("The Mayor", "TfL is reviewing bus routes."),) if i % 2 else ())
    return docs


@pytest.fixture(scope="session")
def library_corpus(tmp_path_factory) -> Path:
    corpus = tmp_path_factory.mktemp("library") / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED.name)
    for name, text in _library_docs().items():
        (corpus / name).write_text(text, encoding="utf-8")
    return corpus


@pytest.fixture(scope="module")
def web_index(tmp_path_factory, library_corpus) -> Path:
    """The web tests' index: the library corpus plus hostile and odd documents (one per module)."""
    from web_util import build_web_index

    return build_web_index(tmp_path_factory, library_corpus)


@pytest.fixture(scope="session")
def library_index(library_corpus, tmp_path_factory) -> Path:
    from index_data import build_index

    index_dir = tmp_path_factory.mktemp("library_ix") / "ix"
    report = build_index(library_corpus, index_dir)
    assert report.rejected == [] and report.indexed == 22
    return index_dir


@pytest.fixture
def searcher(library_index):
    from searcher import Searcher

    with Searcher(library_index) as s:
        yield s
