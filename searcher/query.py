"""The query language: a user's string in, a small syntax tree out. Knows nothing of Whoosh.

Syntax (README "Query syntax" has more examples)::

    hate crime                  words, ranked by relevance (documents need not have every word,
                                those with more of them rank higher)
    "hate crime"                a phrase; "hate crime"~3 allows up to 3 words between
    -islamophobia  NOT x        exclude; +word requires a word
    knife OR gun                either; OR binds loosest:  a b OR c d  =  (a b) OR (c d)
    a AND b                     both required
    (knife OR gun) crime        grouping
    asker:"Navin Shah"          field filters: asker party asked_of answered_by meeting status id
    title:budget                words in one text field: title question answer
    year:2017  year:2016..2018  date:2017-09  date:2017-01-01..2017-06-30  date:>=2020
    hous*  polise~  polise~2    prefix, fuzzy (edit distance 1 or 2)

A stray ``-``, ``+``, ``*``, ``~`` or ``:`` standing alone is punctuation and ignored, so pasted text
searches as it reads. Invalid syntax raises :class:`QueryError` with the position at fault.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from dataclasses import field as dc_field

from index_data.errors import QueryError
from index_data.fields import TEXT_FIELDS

#: Fields whose value is matched word by word in a name or label.
NAME_FIELDS = ("asker", "party", "asked_of", "answered_by", "meeting", "status", "id")
DATE_FIELDS = ("date", "year")
FIELD_ALIASES = {"asked-of": "asked_of", "askedof": "asked_of", "answered-by": "answered_by",
                 "answeredby": "answered_by", "by": "asker", "text": "question"}
ALL_FIELDS = NAME_FIELDS + TEXT_FIELDS + DATE_FIELDS
MAX_QUERY_CHARS = 10_000


# ---- syntax tree -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Words:
    """Plain text to match (one word, or several if the analyzer splits it, e.g. ``COVID-19``)."""

    text: str
    field: str | None = None  # None: title, question and answer
    pos: int = dc_field(default=-1, compare=False, repr=False)  # offset in the query string


@dataclass(frozen=True)
class Phrase:
    """Words in order: ``"hate crime"``; ``slop`` extra words allowed between them (``"a b"~2``)."""

    text: str
    field: str | None = None
    slop: int = 0
    pos: int = dc_field(default=-1, compare=False, repr=False)  # offset of ``text`` in the query


@dataclass(frozen=True)
class Prefix:
    """Words starting with ``text``: ``hous*``."""

    text: str
    field: str | None = None


@dataclass(frozen=True)
class Fuzzy:
    """Words within ``distance`` edits of ``text``: ``polise~`` (1), ``polise~2``."""

    text: str
    field: str | None = None
    distance: int = 1


@dataclass(frozen=True)
class Match:
    """A name/label filter: ``party:labour``; ``value`` is matched as a phrase, case-insensitively."""

    field: str
    value: str
    pos: int = dc_field(default=-1, compare=False, repr=False)  # offset of ``value`` in the query


@dataclass(frozen=True)
class DateRange:
    """Meeting dates from ``start`` to ``end`` inclusive (either may be open)."""

    start: dt.date | None
    end: dt.date | None


@dataclass(frozen=True)
class Or:
    """Any of ``children``: ``a OR b``."""

    children: tuple


@dataclass(frozen=True)
class Synonyms(Or):
    """Other names of one thing (``searcher.synonyms``: ``TfL``, ``"Transport for London"``),
    matched as an ``Or``; one ranked word, and each name scores as one word (``ranking.
    BM25Settings.name_as_word``)."""


@dataclass(frozen=True)
class Bool:
    """A list of clauses: ``should`` are ranked words, ``must`` required, ``must_not`` excluded."""

    must: tuple = ()
    should: tuple = ()
    must_not: tuple = ()

    @property
    def is_empty(self) -> bool:
        return not (self.must or self.should or self.must_not)


Node = Words | Phrase | Prefix | Fuzzy | Match | DateRange | Or | Synonyms | Bool


# ---- dates -------------------------------------------------------------------------------------

_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def date_bounds(text: str) -> tuple[dt.date, dt.date]:
    """The first and last day a partial ISO date covers: ``"2017-09"`` -> Sep 1 .. Sep 30 2017."""
    m = _DATE_RE.match(text.strip())
    if not m:
        raise ValueError(f"not a date: {text!r} (use YYYY, YYYY-MM or YYYY-MM-DD)")
    y, mo, d = int(m[1]), m[2], m[3]
    try:
        if d is not None:
            day = dt.date(y, int(mo), int(d))
            return day, day
        if mo is not None:
            last = calendar.monthrange(y, int(mo))[1]
            return dt.date(y, int(mo), 1), dt.date(y, int(mo), last)
        return dt.date(y, 1, 1), dt.date(y, 12, 31)
    except ValueError:
        raise ValueError(f"not a date: {text!r}") from None


def parse_date_range(value: str) -> DateRange:
    """``2017``, ``2016..2018``, ``2017-03..``, ``..2018-06-30``, ``>=2020``, ``<2019-04``."""
    v = value.strip()
    for op in (">=", "<=", ">", "<"):
        if v.startswith(op):
            lo, hi = date_bounds(v[len(op):])
            return {">=": DateRange(lo, None), ">": DateRange(hi + dt.timedelta(days=1), None),
                    "<=": DateRange(None, hi), "<": DateRange(None, lo - dt.timedelta(days=1))}[op]
    if ".." in v:
        a, b = v.split("..", 1)
        start = date_bounds(a)[0] if a else None
        end = date_bounds(b)[1] if b else None
        if start is None and end is None:
            raise ValueError("a date range needs at least one end")
        if start and end and start > end:
            raise ValueError(f"date range {v!r} ends before it starts")
        return DateRange(start, end)
    lo, hi = date_bounds(v)
    return DateRange(lo, hi)


# ---- lexer -------------------------------------------------------------------------------------

@dataclass
class _Tok:
    """One token of the query string, with where it starts (for error positions)."""

    kind: str  # WORD PHRASE LPAREN RPAREN OR AND NOT
    text: str
    pos: int
    modifier: str = ""  # "-" or "+" written directly before it
    field: str | None = None
    slop: int = 0
    text_pos: int = -1  # where ``text`` starts in the query


_FIELD_RE = re.compile(r"([A-Za-z][A-Za-z_-]*):")
#: A web address in a query is text ("see https://www.london.gov.uk/questions/2017/3660"), not a
#: field named "https".
_URL_RE = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)[^\s()\"]+")
_SPACE = re.compile(r"\s+")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _lex(q: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c.isspace():
            i += 1
            continue
        start = i
        modifier = ""
        if c in "-+" and i + 1 < n and not q[i + 1].isspace() and q[i + 1] not in "-+)":
            modifier, i = c, i + 1
        fld = None
        url = _URL_RE.match(q, i)
        if url:
            toks.append(_Tok("WORD", url.group(), start, modifier, None, text_pos=i))
            i = url.end()
            continue
        fm = _FIELD_RE.match(q, i)
        if fm and fm.end() < n and not q[fm.end()].isspace():
            name = fm.group(1).lower()
            name = FIELD_ALIASES.get(name, name)
            if name not in ALL_FIELDS:
                raise QueryError(f"unknown field {fm.group(1)!r}; fields are: {', '.join(ALL_FIELDS)}",
                                 start, q)
            fld, i = name, fm.end()
        c = q[i]
        if c == '"':
            end = q.find('"', i + 1)
            if end < 0:
                raise QueryError("unclosed quote", i, q)
            tok = _Tok("PHRASE", q[i + 1:end], start, modifier, fld, text_pos=i + 1)
            i = end + 1
            sm = re.match(r"~(\d+)", q[i:])
            if sm:
                tok.slop = int(sm.group(1))
                if tok.slop > 50:
                    raise QueryError("phrase proximity must be at most ~50", i, q)
                i += sm.end()
            toks.append(tok)
            continue
        if c == "(":
            if fld:
                raise QueryError(f"{fld}:(...) is not supported; write {fld}:a OR {fld}:b", start, q)
            toks.append(_Tok("LPAREN", c, start, modifier))
            i += 1
            continue
        if c == ")":
            toks.append(_Tok("RPAREN", c, start))
            i += 1
            continue
        j = i
        while j < n and not q[j].isspace() and q[j] not in '()"':
            j += 1
        word = q[i:j]
        i = j
        if fld is None and not modifier and word in ("OR", "AND", "NOT"):
            toks.append(_Tok(word, word, start))
        elif fld is None and word in ("OR", "AND", "NOT"):
            toks.append(_Tok("WORD", word.lower(), start, modifier, text_pos=i - len(word)))
        else:
            toks.append(_Tok("WORD", word, start, modifier, fld, text_pos=i - len(word)))
    return toks


# ---- parser ------------------------------------------------------------------------------------

_FUZZY_RE = re.compile(r"^(?P<w>.+?)~(?P<d>\d*)$")


class _Parser:
    def __init__(self, q: str):
        self.q = q
        self.toks = _lex(q)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def parse(self) -> Node:
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise QueryError("unmatched closing bracket", tok.pos, self.q)
        return node

    def or_expr(self) -> Node:
        parts = [self.clause_list()]
        while (tok := self.peek()) is not None and tok.kind == "OR":
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.kind in ("OR", "RPAREN"):
                raise QueryError("OR needs something on both sides", tok.pos, self.q)
            parts.append(self.clause_list())
        parts = [p for p in parts if not (isinstance(p, Bool) and p.is_empty)]
        if not parts:
            return Bool()
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def clause_list(self) -> Bool:
        must: list[Node] = []
        should: list[Node] = []
        must_not: list[Node] = []
        pending_and = False
        last: tuple[list, Node] | None = None
        while (tok := self.peek()) is not None and tok.kind not in ("OR", "RPAREN"):
            if tok.kind == "AND":
                self.i += 1
                nxt = self.peek()
                if last is None or nxt is None or nxt.kind in ("OR", "RPAREN", "AND"):
                    raise QueryError("AND needs something on both sides", tok.pos, self.q)
                if last[0] is should:  # the left side becomes required
                    should.remove(last[1])
                    must.append(last[1])
                pending_and = True
                continue
            negate = False
            if tok.kind == "NOT":
                self.i += 1
                nxt = self.peek()
                if nxt is None or nxt.kind in ("OR", "AND", "RPAREN", "NOT"):
                    raise QueryError("NOT needs a word, phrase or group after it", tok.pos, self.q)
                negate = True
                tok = nxt
            node, required = self.primary()
            if node is None:
                continue
            if negate or tok.modifier == "-":
                target = must_not
            elif tok.modifier == "+" or required or pending_and:
                target = must
            else:
                target = should
            target.append(node)
            last = (target, node)
            pending_and = False
        return Bool(tuple(must), tuple(should), tuple(must_not))

    def primary(self) -> tuple[Node | None, bool]:
        """The next item and whether it is a filter (required by nature)."""
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "LPAREN":
            node = self.or_expr()
            close = self.peek()
            if close is None or close.kind != "RPAREN":
                raise QueryError("unclosed bracket", tok.pos, self.q)
            self.i += 1
            if isinstance(node, Bool) and node.is_empty:
                return None, False
            return node, False
        if tok.kind == "PHRASE":
            if not tok.text.strip():
                return None, False
            if tok.field in DATE_FIELDS:
                return self.date(tok, tok.text), True
            lead = len(tok.text) - len(tok.text.lstrip())
            if tok.field in NAME_FIELDS:
                return Match(tok.field, tok.text.strip(), pos=tok.text_pos + lead), True
            return (Phrase(tok.text.strip(), tok.field, tok.slop, pos=tok.text_pos + lead),
                    tok.field is not None)
        if tok.kind == "RPAREN":  # pragma: no cover - handled by callers
            raise QueryError("unmatched closing bracket", tok.pos, self.q)
        return self.word(tok)

    def date(self, tok: _Tok, value: str) -> DateRange:
        v = value.strip()
        if tok.field == "year" and re.fullmatch(r"[<>]=?\d{4}|\d{4}(\.\.\d{4})?|\.\.\d{4}|\d{4}\.\.", v) is None:
            raise QueryError(f"year:{v} is not a year or a range of years like 2016..2018",
                             tok.pos, self.q)
        try:
            return parse_date_range(v)
        except ValueError as e:
            raise QueryError(str(e), tok.pos, self.q) from None

    def word(self, tok: _Tok) -> tuple[Node | None, bool]:
        w = tok.text
        if tok.field in DATE_FIELDS:
            return self.date(tok, w), True
        if tok.field in NAME_FIELDS:
            return Match(tok.field, w, pos=tok.text_pos), True
        stripped = w.strip("-+*~:.,;!?'")
        if not any(ch.isalnum() for ch in w):
            return None, False  # lone punctuation such as "-", "*", "~", ":"
        fm = _FUZZY_RE.match(w)
        if fm and "~" not in fm["w"]:
            d = fm["d"]
            distance = int(d) if d else 1
            if distance not in (1, 2):
                raise QueryError("fuzzy distance must be 1 or 2 (word~ or word~2)", tok.pos, self.q)
            return Fuzzy(fm["w"], tok.field, distance), tok.field is not None
        if "*" in w:
            body = w[:-1] if w.endswith("*") else w
            if "*" in body:
                raise QueryError("wildcards are only supported at the end of a word (hous*)",
                                 tok.pos, self.q)
            if sum(ch.isalnum() for ch in body) < 2:
                raise QueryError("a prefix search needs at least 2 letters before *", tok.pos, self.q)
            return Prefix(body, tok.field), tok.field is not None
        if not stripped:
            return None, False
        return Words(w, tok.field, pos=tok.pos + len(tok.modifier)), tok.field is not None


def parse_query(q: str) -> Node:
    """Parse a query string into a syntax tree; raises :class:`QueryError`.

    >>> parse_query('hate crime -islamophobia party:labour')
    Bool(must=(Match(field='party', value='labour'),), should=(Words(text='hate', field=None), \
Words(text='crime', field=None)), must_not=(Words(text='islamophobia', field=None),))
    """
    if len(q) > MAX_QUERY_CHARS:
        raise QueryError(f"query is {len(q):,} characters long; the limit is {MAX_QUERY_CHARS:,}")
    q = _CONTROL_RE.sub(" ", q)
    return _Parser(q).parse()
