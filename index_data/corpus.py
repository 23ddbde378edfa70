"""The corpus parser: one plain-text question file in, one :class:`~index_data.model.Question` out.

The format (see ``corpus/FORMAT.md``)::

    Hate Crime (1)                      <- title

    MQT on 2017-09-14                   <- "<meeting> on <YYYY-MM-DD>"
    Session date:\\u00a0                 <- labels end in a no-break space; value on the next line(s)
    September 14, 2017
    Question By:\\u00a0
    Navin Shah                          <- asker
    Labour Group                        <- party (optional line)
    Asked Of:\\u00a0
    The Mayor

    <question paragraphs>

    Answer for Hate Crime (1)           <- answer header, usually repeated; absent when unanswered
    Answered By:\\u00a0
    The Mayor
    <answer paragraphs>                 <- more "Answered By:" blocks may follow

Parsing is strict about structure (a file that does not follow it raises :class:`CorpusError`
naming the file, the line and what was expected) and lenient about bytes: UTF-8 with or without a
BOM, cp1252/Latin-1, CRLF or CR line endings, trailing white space.
"""

from __future__ import annotations

import codecs
import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Iterator

from .errors import CorpusError
from .model import ANSWERED, HOLDING, UNANSWERED, Answer, Question

#: Files larger than this are rejected unread: real question files are a few kilobytes.
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Lines longer than this (in characters) are rejected: no real question has one.
MAX_LINE_CHARS = 100_000


_MEETING_RE = re.compile(r"^(?P<meeting>\S.*?)\s+on\s+(?P<date>\d{4}-\d{2}-\d{2})$")
_LABEL_RE = re.compile(
    r"^(?P<label>session date|question by|asked of|answered by)\s*:\s*(?P<value>.*)$", re.IGNORECASE
)
_ANSWER_HEADER_RE = re.compile(r"^answer for\b", re.IGNORECASE)
_HOLDING_RE = re.compile(
    r"\b(?:officers are (?:currently |still )?drafting|"
    r"(?:response|reply|answer) (?:is|are) (?:being|currently being) (?:drafted|prepared)|"
    r"awaiting (?:a |the )?(?:response|reply)|holding (?:reply|response)|"
    r"(?:will|shall) (?:respond|reply) (?:in due course|shortly))",
    re.IGNORECASE,
)
#: The note that introduces a late written answer: "Written response from the Mayor received
#: 13/06/2016", "Written response received on 1 July 2013.", "Written response provided on 5
#: January 2011:" (the date in any common form).
_WRITTEN_RESPONSE_RE = re.compile(
    r"\bwritten (?:response|answer|reply)(?: from [\w .'’-]+?)?\s+(?:was\s+)?"
    r"(?:received|provided|sent|given)(?:\s+on)?\s*"
    r"(?:\d{1,2}(?:st|nd|rd|th)?[ /.-]\w+[ /.-]\d{2,4}|\w+ \d{1,2}(?:st|nd|rd|th)?,? \d{4})?[:.]?",
    re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|\n+")
#: An answer keeps at least this many words once its placeholder sentences are taken out.
_ANSWER_MIN_WORDS = 3
_SESSION_DATE_FORMATS = ("%B %d, %Y", "%d %B %Y", "%Y-%m-%d", "%b %d, %Y", "%d %b %Y", "%d/%m/%Y")
_UTF8_MULTIBYTE_RE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def decode(data: bytes, path: str | os.PathLike = "<bytes>") -> str:
    """Decode a file's bytes: UTF-8 (BOM optional), else cp1252, else Latin-1; normalise newlines.

    A file that holds valid multi-byte UTF-8 *and* invalid sequences is damaged, not cp1252: it is
    rejected rather than silently turned into mojibake. A NUL byte marks a binary file.
    """
    if not data.strip():
        raise CorpusError(path, None, "empty file")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise CorpusError(path, data.count(b"\n", 0, nul) + 1, f"binary file (NUL byte at offset {nul})")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if _UTF8_MULTIBYTE_RE.search(data):
            line = data.count(b"\n", 0, e.start) + 1
            raise CorpusError(path, line, f"invalid UTF-8 at byte offset {e.start}") from None
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _clean(line: str) -> str:
    """A line with no-break spaces made plain and trailing white space removed."""
    return line.replace("\u00a0", " ").rstrip()


def _paragraphs(lines: list[str]) -> str:
    """Join text lines, keeping paragraph breaks as one blank line."""
    paras: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paras[-1].append(line.strip())
        elif paras[-1]:
            paras.append([])
    return "\n\n".join("\n".join(p) for p in paras if p)


def _session_date(value: str, path, lineno: int) -> dt.date:
    for fmt in _SESSION_DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise CorpusError(path, lineno, f"expected a session date like 'September 14, 2017', got {value!r}")


def is_holding_reply(text: str) -> bool:
    """True for an answer that is nothing but a placeholder ("Officers are drafting a response
    which will be sent shortly."). A placeholder followed by the late written response ("Written
    response from the Mayor received 13/06/2016" and its text) is an answer, as is a long answer
    that mentions "awaiting a response" in passing."""
    if not _HOLDING_RE.search(text):
        return False
    rest = _WRITTEN_RESPONSE_RE.sub(" ", text)
    rest = " ".join(s for s in _SENTENCE_END_RE.split(rest) if not _HOLDING_RE.search(s))
    return len(re.findall(r"\w+", rest)) < _ANSWER_MIN_WORDS


def parse_text(text: str, path: str | os.PathLike, doc_id: str | None = None) -> Question:
    """Parse a decoded question file. Raises :class:`CorpusError` naming the line at fault."""
    lines = [_clean(l) for l in text.split("\n")]
    for n, line in enumerate(lines, 1):
        if len(line) > MAX_LINE_CHARS:
            raise CorpusError(path, n, f"line longer than {MAX_LINE_CHARS} characters")
    n = len(lines)
    i = 0

    def skip_blank(i: int) -> int:
        while i < n and not lines[i].strip():
            i += 1
        return i

    i = skip_blank(i)
    if i == n:
        raise CorpusError(path, None, "empty file")
    title = lines[i].strip()
    if _LABEL_RE.match(title) or _MEETING_RE.match(title):
        raise CorpusError(path, i + 1, f"expected a title line, got {title!r}")
    i = skip_blank(i + 1)
    m = _MEETING_RE.match(lines[i].strip()) if i < n else None
    if not m:
        got = repr(lines[i].strip()) if i < n else "end of file"
        raise CorpusError(path, min(i, n - 1) + 1, f"expected 'MEETING on YYYY-MM-DD', got {got}")
    meeting = m["meeting"].strip()
    try:
        meeting_date = dt.date.fromisoformat(m["date"])
    except ValueError:
        raise CorpusError(path, i + 1, f"invalid meeting date {m['date']!r}") from None
    i += 1

    # Header: "Label:" followed by its value on the same line or on the following non-blank lines.
    header: dict[str, tuple[int, list[str]]] = {}
    while True:
        i = skip_blank(i)
        lm = _LABEL_RE.match(lines[i].strip()) if i < n else None
        if not lm or lm["label"].lower() == "answered by":
            break
        label, lineno = lm["label"].lower(), i + 1
        values = [lm["value"].strip()] if lm["value"].strip() else []
        i += 1
        while i < n and lines[i].strip() and not _LABEL_RE.match(lines[i].strip()):
            if _ANSWER_HEADER_RE.match(lines[i].strip()):
                break
            values.append(lines[i].strip())
            i += 1
        if label in header:
            raise CorpusError(path, lineno, f"'{lm['label']}:' given twice")
        header[label] = (lineno, values)

    session_date = None
    if "session date" in header:
        lineno, values = header["session date"]
        if values:
            session_date = _session_date(" ".join(values), path, lineno + 1)
    if "question by" not in header or not header["question by"][1]:
        where = header["question by"][0] if "question by" in header else min(i, n - 1) + 1
        raise CorpusError(path, where, "expected 'Question By:' followed by the asker's name")
    _, who = header["question by"]
    asker, party = who[0], (" ".join(who[1:]) or None)
    if "asked of" not in header or not header["asked of"][1]:
        where = header["asked of"][0] if "asked of" in header else min(i, n - 1) + 1
        raise CorpusError(path, where, "expected 'Asked Of:' followed by who was asked")
    asked_of = " ".join(header["asked of"][1])

    # Question text runs to the first answer header (or "Answered By:") or the end of the file.
    start = i
    while i < n and not _ANSWER_HEADER_RE.match(lines[i].strip()):
        lm = _LABEL_RE.match(lines[i].strip())
        if lm and lm["label"].lower() == "answered by":
            break
        i += 1
    question = _paragraphs(lines[start:i])
    if not question:
        raise CorpusError(path, min(start, n - 1) + 1, "expected the question text after the header")

    # Answer section: headers repeat and are skipped; each "Answered By:" starts a block.
    answers: list[Answer] = []
    by: str | None = None
    body: list[str] = []
    started = False

    def flush():
        text = _paragraphs(body)
        if text:
            answers.append(Answer(by, text))

    while i < n:
        s = lines[i].strip()
        lm = _LABEL_RE.match(s)
        if _ANSWER_HEADER_RE.match(s):
            if body and any(b.strip() for b in body):
                flush()
                body, by = [], None
            i += 1
            continue
        if lm and lm["label"].lower() == "answered by":
            if started or body:
                flush()
            body, started = [], True
            value = lm["value"].strip()
            i += 1
            if not value:
                i = skip_blank(i)
                value = lines[i].strip() if i < n else ""
                i += 1
            by = value or None
            continue
        body.append(lines[i])
        i += 1
    flush()

    if not answers:
        status = UNANSWERED
    elif all(is_holding_reply(a.text) for a in answers):
        status = HOLDING
    else:
        status = ANSWERED
    return Question(
        id=doc_id or doc_id_for(path),
        title=title,
        meeting=meeting,
        meeting_date=meeting_date,
        session_date=session_date,
        asker=asker,
        party=party,
        asked_of=asked_of,
        question=question,
        answers=tuple(answers),
        status=status,
        source_path=str(path),
    )


def doc_id_for(path: str | os.PathLike) -> str:
    """The document id of a corpus file: its file name without the ``.txt`` extension."""
    name = os.path.basename(os.fspath(path))  # not Path(path).name: called once per file listed
    return name[:-4] if name.lower().endswith(".txt") else name


def read_bytes(path: str | os.PathLike) -> bytes:
    """A corpus file's bytes, refusing files over :data:`MAX_FILE_BYTES` before reading them."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise CorpusError(path, None, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}")
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise CorpusError(path, None, f"cannot read file: {e.strerror or e}") from None
    if len(data) > MAX_FILE_BYTES:
        raise CorpusError(path, None, f"file grew past the {MAX_FILE_BYTES:,}-byte limit while read")
    return data


def parse_file(path: str | os.PathLike) -> Question:
    """Read and parse one corpus file. Raises :class:`CorpusError` on any problem.

    >>> q = parse_file("corpus/000_f69fb07d1f8a9a60.txt")   # doctest: +SKIP
    >>> q.asker, q.party, q.status
    ('Navin Shah', 'Labour Group', 'answered')
    """
    return parse_text(decode(read_bytes(path), path), path)


@dataclass(frozen=True)
class CorpusFile:
    """A file found in the corpus folder: path, document id, size, modification time (ns).

    ``problem`` is set (and the file is to be reported, not parsed) when it cannot be used as found.
    """

    path: Path
    doc_id: str
    size: int
    mtime_ns: int
    problem: str | None = None


def iter_corpus(corpus_dir: str | os.PathLike) -> Iterator[CorpusFile]:
    """Every ``*.txt`` file below ``corpus_dir``, in a stable (sorted) order.

    Hidden files and folders (name starting with ``.``) and other extensions are ignored.
    Symbolic links are followed only when they point to a regular file inside the corpus folder;
    other links come back with ``problem`` set, to be reported. Symlinked folders are not entered
    (so a link loop cannot trap the walk). (:func:`list_corpus` gives the same as plain lists.)
    """
    listing = list_corpus(corpus_dir)
    for i in range(len(listing)):
        yield CorpusFile(Path(listing.path(i)), listing.ids[i], listing.size[i], listing.mtime[i],
                         listing.problems.get(i))


#: Threads that ``stat`` a large folder's files (1: the calling thread alone). At a million files
#: on 2 busy cores four threads overlapped the system calls (stats 4.8 s with one thread, 2.7 s
#: with four); on an idle machine each ``stat`` re-takes the GIL from the others and the whole
#: listing took 7.4-7.5 s with one thread against 11.2-12.7 s with four (from a cold page cache
#: 15.1-18.3 s against 14.8-17.5 s), and the no-op reindex 8.7-8.9 s against 11.3-12.5 s.
STAT_THREADS = 1
#: Files a thread stats at a time; a folder with fewer is done in the calling thread.
_STAT_CHUNK = 4096


@dataclass
class CorpusListing:
    """Every ``*.txt`` file below a corpus folder (as :func:`iter_corpus`, in the same order) as
    plain lists, without an object per file: ``rel`` (path relative to the folder, ``/``-
    separated), ``ids`` (document ids), ``size`` and ``mtime`` (ns); ``problems``: position ->
    why the file cannot be used as found (its size is -1)."""

    root: str
    prefix: str  # the folder as given, ready for a relative path ("" for ".")
    rel: list[str]
    ids: list[str]
    size: list[int]
    mtime: list[int]
    problems: dict[int, str]

    def __len__(self) -> int:
        return len(self.rel)

    def path(self, i: int) -> str:
        """The file's path as ``Path(root) / rel`` spells it."""
        return self.prefix + self.rel[i]


def list_corpus(corpus_dir: str | os.PathLike) -> CorpusListing:
    """The files :func:`iter_corpus` yields, as a :class:`CorpusListing`: names compared as
    strings, one ``stat`` per regular file (through ``os.scandir``'s entries, several at once
    in a large folder), no ``pathlib`` per file: a no-op reindex of a million files is mostly
    this listing."""
    root = Path(corpus_dir)
    if not root.is_dir():
        raise CorpusError(root, None, "corpus folder does not exist or is not a folder")
    out = CorpusListing(str(root), str(root / "x")[:-1], [], [], [], [], {})
    _list(out, str(root), "", root.resolve())
    return out


def _list(out: CorpusListing, folder: str, relprefix: str, real_root: Path) -> None:
    """:func:`list_corpus` below one folder: its files, then its sub-folders, each in name
    order; unreadable folders are skipped, as ``os.walk`` does."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError:
        return
    entries.sort(key=_name)
    subdirs = []
    names: list[str] = []
    todo: list[os.DirEntry | None] = []  # the entry to stat, None for a file with a problem
    problems: dict[int, str] = {}
    for entry in entries:
        name = entry.name
        if name[0] == ".":
            continue
        if entry.is_file(follow_symlinks=False):  # the common case: no system call
            if name[-4:].lower() == ".txt":
                names.append(name)
                todo.append(entry)
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            if not entry.is_symlink():
                subdirs.append(name)
            continue
        if not name.lower().endswith(".txt"):
            continue
        problem = _symlink_problem(Path(folder) / name, real_root) if entry.is_symlink() else None
        if problem:
            problems[len(names)] = problem
        names.append(name)
        todo.append(None if problem else entry)
    size, mtime = [-1] * len(names), [0] * len(names)

    def stat(lo: int, hi: int) -> None:  # each position is written by one thread only
        for j in range(lo, min(hi, len(todo))):
            entry = todo[j]
            if entry is None:
                continue
            try:
                st = entry.stat()
            except OSError as e:
                problems[j] = f"cannot read file: {e.strerror or e}"
                continue
            size[j] = st.st_size
            mtime[j] = st.st_mtime_ns

    if STAT_THREADS <= 1 or len(todo) < 2 * _STAT_CHUNK:
        stat(0, len(todo))
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(STAT_THREADS) as pool:
            list(pool.map(stat, range(0, len(todo), _STAT_CHUNK),
                          range(_STAT_CHUNK, len(todo) + _STAT_CHUNK, _STAT_CHUNK)))
    base = len(out.rel)
    out.rel.extend([relprefix + n for n in names] if relprefix else names)
    out.ids.extend([n[:-4] for n in names])  # doc_id_for: every name here ends in .txt
    out.size.extend(size)
    out.mtime.extend(mtime)
    out.problems.update((base + j, p) for j, p in problems.items())
    for name in subdirs:
        _list(out, os.path.join(folder, name), f"{relprefix}{name}/", real_root)


def _name(entry: os.DirEntry) -> str:
    return entry.name


def _symlink_problem(p: Path, real_root: Path) -> str | None:
    """Why a symlinked corpus file cannot be used (None: it can, as the file it points to)."""
    try:
        target = p.resolve(strict=True)
        if not target.is_relative_to(real_root):
            return "symlink points outside the corpus folder"
        if not target.is_file():
            return "symlink does not point to a file"
    except RuntimeError:
        return "symlink loop"
    except OSError as e:
        return f"cannot read file: {e.strerror or e}"
    return None
