"""Writing every match of a search for spreadsheets and scripts: CSV, JSON Lines, or ids.

Rows are written as they come from ``Searcher.iter_results`` (one question at a time), so an
export of 100,000 questions never holds them in memory. The columns are
``results.EXPORT_COLUMNS`` in that order, for every format:

- ``csv``: RFC 4180 (comma-separated, fields quoted when they need it, CRLF line ends), UTF-8, a
  header row; ``answers`` is the answers joined by a blank line, each as ``"<answered by>: <text>"``;
- ``jsonl``: one JSON object a line (UTF-8), ``answers`` a list of ``{"answered_by", "text"}``;
- ``ids``: one question id a line.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import Literal, TextIO

from .results import EXPORT_COLUMNS, Result

Format = Literal["csv", "jsonl", "ids"]
FORMATS: tuple[Format, ...] = ("csv", "jsonl", "ids")


def answers_text(answers: list[dict]) -> str:
    """A question's answers as one CSV cell."""
    return "\n\n".join(f"{a['answered_by']}: {a['text']}" if a["answered_by"] else a["text"]
                       for a in answers)


def write(results: Iterable[Result], out: TextIO, fmt: Format) -> int:
    """Write every result to ``out`` in ``fmt`` (see the module doc); returns the rows written."""
    n = 0
    if fmt == "ids":
        for r in results:
            out.write(r.question.id + "\n")
            n += 1
    elif fmt == "jsonl":
        for r in results:
            out.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
            n += 1
    elif fmt == "csv":
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(EXPORT_COLUMNS)
        for r in results:
            row = r.to_dict()
            row["answers"] = answers_text(row["answers"])
            w.writerow(["" if row[c] is None else row[c] for c in EXPORT_COLUMNS])
            n += 1
    else:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    return n
