"""The document model: one parsed question file, as typed records.

These dataclasses are the boundary between the corpus parser, the index and the query side; they
know nothing about files or Whoosh, and round-trip through plain dicts (``to_dict``/``from_dict``)
so they can be stored in the index and printed as JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, get_args

#: Where a question stands: answered, a holding reply only ("officers are drafting a response"),
#: or no answer yet.
Status = Literal["answered", "holding", "unanswered"]
ANSWERED: Status = "answered"
UNANSWERED: Status = "unanswered"
HOLDING: Status = "holding"
STATUSES: tuple[Status, ...] = get_args(Status)


@dataclass(frozen=True)
class Answer:
    """One answer block: who answered and what they said (paragraphs separated by blank lines)."""

    answered_by: str | None
    text: str


@dataclass(frozen=True)
class Question:
    """A question to the Mayor and its answers, as parsed from one corpus file.

    ``id`` is the file name without its ``.txt`` extension (``000_f69fb07d1f8a9a60``), so it stays
    the same across rebuilds and reindexes as long as the file keeps its name.
    """

    id: str
    title: str
    meeting: str
    meeting_date: dt.date
    session_date: dt.date | None
    asker: str
    party: str | None
    asked_of: str
    question: str
    answers: tuple[Answer, ...] = field(default_factory=tuple)
    status: Status = UNANSWERED
    source_path: str = ""

    @property
    def answer_text(self) -> str:
        """All answers' text, blocks separated by blank lines."""
        return "\n\n".join(a.text for a in self.answers if a.text)

    @property
    def answered_by(self) -> tuple[str, ...]:
        """Distinct answerers in order of appearance."""
        seen: dict[str, None] = {}
        for a in self.answers:
            if a.answered_by:
                seen.setdefault(a.answered_by, None)
        return tuple(seen)

    def to_dict(self) -> dict:
        """A JSON-ready dict (dates as ISO strings), keys in field order (what ``asdict`` gives,
        written out: ``asdict`` deep-copies and costs ~20 µs a question when indexing)."""
        return {
            "id": self.id,
            "title": self.title,
            "meeting": self.meeting,
            "meeting_date": self.meeting_date.isoformat(),
            "session_date": self.session_date.isoformat() if self.session_date else None,
            "asker": self.asker,
            "party": self.party,
            "asked_of": self.asked_of,
            "question": self.question,
            "answers": [{"answered_by": a.answered_by, "text": a.text} for a in self.answers],
            "status": self.status,
            "source_path": self.source_path,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Question:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=d["id"],
            title=d["title"],
            meeting=d["meeting"],
            meeting_date=dt.date.fromisoformat(d["meeting_date"]),
            session_date=dt.date.fromisoformat(d["session_date"]) if d.get("session_date") else None,
            asker=d["asker"],
            party=d.get("party"),
            asked_of=d["asked_of"],
            question=d["question"],
            answers=tuple(Answer(a.get("answered_by"), a["text"]) for a in d.get("answers", ())),
            status=d.get("status", UNANSWERED),
            source_path=d.get("source_path", ""),
        )
