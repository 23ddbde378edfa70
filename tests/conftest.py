"""Shared fixtures: the bundled corpus, synthetic question files, and built indexes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEED = CORPUS / "000_f69fb07d1f8a9a60.txt"
NBSP = "\u00a0"


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
