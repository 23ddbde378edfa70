"""Query-time synonyms and acronyms (``data/synonyms.txt``): ``Met Police`` also finds ``MPS``.

Pure query-tree rewriting, no Whoosh: a run of plain words (or a whole quoted phrase) equal to a
name in a synonym group becomes ``Synonyms(original, "other name", ...)`` (an ``Or``), each other
name a phrase. The single word keeps its meaning, a run of several words that is a name matches as
that name (a phrase, as a quoted name would), the group counts as one word for coordination and
each name scores as one word (the compiler, ``BM25Settings.name_as_word``), and the compiled
synonyms are highlighted like typed words.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from index_data.analysis import tokenize

from . import query as q

#: Longest name, in words, that is looked for in a query.
MAX_NAME_WORDS = 8


def _key(text: str) -> tuple[str, ...]:
    return tuple(tokenize(text))


@lru_cache(maxsize=8)
def load_synonyms(path: str | None = None) -> dict[tuple[str, ...], tuple[str, ...]]:
    """``{name tokens: (other names...)}`` from ``path``, ``$MQT_SYNONYMS`` or the shipped file."""
    path = path or os.environ.get("MQT_SYNONYMS")
    if path:
        text = Path(path).read_text("utf-8")
    else:
        text = (Path(__file__).parent / "data" / "synonyms.txt").read_text("utf-8")  # package data
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        names = [n.strip() for n in line.split("|") if n.strip()]
        for name in names:
            key = _key(name)
            if key:
                others = tuple(n for n in names if _key(n) != key)
                table[key] = tuple(dict.fromkeys(table.get(key, ()) + others))
    return table


def expand(node, table=None):
    """The query tree with synonym groups added (see module doc); unchanged if none apply."""
    table = load_synonyms() if table is None else table
    if not table:
        return node
    if isinstance(node, q.Bool):
        return q.Bool(_expand_list(node.must, table), _expand_list(node.should, table),
                      _expand_list(node.must_not, table))
    if isinstance(node, q.Or):
        return type(node)(tuple(expand(c, table) for c in node.children))
    if isinstance(node, q.Phrase):
        others = table.get(_key(node.text))
        if others and node.slop == 0:
            return q.Synonyms((node,) + tuple(q.Phrase(o, node.field) for o in others))
    if isinstance(node, q.Words):
        return _expand_list((node,), table)[0]
    return node


def _expand_list(nodes: tuple, table) -> tuple:
    out = []
    i = 0
    while i < len(nodes):
        node = nodes[i]
        if not isinstance(node, q.Words):
            out.append(expand(node, table) if isinstance(node, (q.Bool, q.Or, q.Phrase)) else node)
            i += 1
            continue
        # the longest run of same-field plain words starting here that is a name
        best = None
        tokens: list[str] = []
        for j in range(i, min(len(nodes), i + MAX_NAME_WORDS)):
            w = nodes[j]
            if not isinstance(w, q.Words) or w.field != node.field:
                break
            tokens.extend(_key(w.text))
            if tuple(tokens) in table:
                best = (j, table[tuple(tokens)])
        if best is None:
            out.append(node)
            i += 1
            continue
        j, others = best
        run = nodes[i:j + 1]
        # a several-word name is meant as a name: it and its synonyms match as phrases
        original = run[0] if len(run) == 1 else q.Phrase(" ".join(w.text for w in run), node.field)
        out.append(q.Synonyms((original,) + tuple(q.Phrase(o, node.field) for o in others)))
        i = j + 1
    return tuple(out)
