"""Party names: a filter for one name of a party also finds its other names (``data/parties.txt``).

Pure query-tree rewriting, no Whoosh, like ``synonyms``: a ``party`` filter (``--party``,
``party:``) whose value is one of a line's names, in any case and word order ("lib dem",
"Dem Lib"), becomes an ``Or`` of ``party`` filters, one per name of the line; each matches a
recorded party holding all of its words, so ``conservatives`` finds both "GLA Conservatives" and
"Conservative Group", and ``Lib Dem`` finds "Liberal Democrats". Other values are left as typed.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from index_data.analysis import tokenize

from . import query as q

#: The name fields aliases apply to.
FIELDS = ("party",)


def name_key(text: str) -> tuple[str, ...]:
    """A name as the words a filter matches, order ignored: ``"Dem Lib"`` -> ``("dem", "lib")``."""
    return tuple(sorted(set(tokenize(text))))


@lru_cache(maxsize=8)
def load_aliases(path: str | None = None) -> dict[tuple[str, ...], tuple[str, ...]]:
    """``{name key: (every name of its line...)}`` from ``path``, ``$MQT_PARTIES`` or the
    shipped file."""
    path = path or os.environ.get("MQT_PARTIES")
    if path:
        text = Path(path).read_text("utf-8")
    else:
        text = (Path(__file__).parent / "data" / "parties.txt").read_text("utf-8")  # package data
    table: dict[tuple[str, ...], tuple[str, ...]] = {}
    for line in text.splitlines():
        names = [n.strip() for n in line.split("#", 1)[0].split("|") if n.strip()]
        for name in names:
            key = name_key(name)
            if key:
                table[key] = tuple(dict.fromkeys(table.get(key, ()) + tuple(names)))
    return table


def expand(node, table=None):
    """The query tree with each aliased party filter replaced by the ``Or`` of its names."""
    table = load_aliases() if table is None else table
    if isinstance(node, q.Match):
        names = table.get(name_key(node.value)) if node.field in FIELDS else None
        if not names:
            return node
        return q.Or(tuple(q.Match(node.field, n, pos=node.pos) for n in names))
    if isinstance(node, q.Bool):
        return q.Bool(tuple(expand(c, table) for c in node.must),
                      tuple(expand(c, table) for c in node.should),
                      tuple(expand(c, table) for c in node.must_not))
    if isinstance(node, q.Or):
        return type(node)(tuple(expand(c, table) for c in node.children))  # Synonyms stay Synonyms
    return node
