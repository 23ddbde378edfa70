"""The engine: the only code that knows Whoosh (2.7.4, pinned), and the interface the rest of mqt
uses to write and read an index.

Read side (``searcher`` uses it; it never writes)::

    EngineReader(index_dir, ranking)      open an index; .snapshot() per request, .compile(tree)...
    Snapshot                              one consistent view: .ranked(compiled, want, order),
                                          .matches(), .records(), ... (through the segments'
                                          posting stores when usable, else .run: same results)
    Compiled                              a compiled query and the terms snippets mark
    top_k, top_by_date                    the best matches of a run, in Whoosh's order

Write side (``index_data.build`` and ``index_data.reindexing`` use it)::

    NewIndexWriter, SegmentBuilder, SegmentSpec     a brand-new index, one segment per part
    finish_new_index, flush_to_disk, swap_into_place, write_lexicons, write_stores
    IndexUpdater, IndexedDoc, IndexFacts, remove_write_leftovers, MAX_SEGMENTS,
    MAX_DELETED_FRACTION
    indexed_ids, live_segment_ids

Each name is imported from its module on first use, so a search never loads the writing side
and an indexing worker loads none of the reading side, and numpy only once it writes its
postings (the segment writer's grouping, the posting store). ``docs/architecture.md`` has the
module map; private Whoosh names are used in ``internals.py`` and ``format.py`` only. Whoosh is
first imported here, by ``whoosh_import`` (without the modules it loads for functions a search
calls late or never).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .whoosh_import import import_whoosh

import_whoosh()

if TYPE_CHECKING:
    from .compiler import Compiled
    from .facts import IndexFacts
    from .reader import EngineReader, RawHit, Snapshot
    from .storage import flush_to_disk
    from .topk import top_by_date, top_k
    from .update import (MAX_DELETED_FRACTION, MAX_SEGMENTS, IndexedDoc, IndexUpdater,
                         indexed_ids, live_segment_ids, remove_write_leftovers)
    from .writer import (NewIndexWriter, SegmentBuilder, SegmentSpec, finish_new_index,
                         swap_into_place, write_lexicons, write_stores)

_INTERFACE = {
    "EngineReader": "reader", "Snapshot": "reader", "RawHit": "reader", "Compiled": "compiler",
    "top_k": "topk", "top_by_date": "topk",
    "NewIndexWriter": "writer", "SegmentBuilder": "writer", "SegmentSpec": "writer",
    "finish_new_index": "writer", "swap_into_place": "writer", "flush_to_disk": "storage",
    "IndexUpdater": "update", "IndexedDoc": "update", "IndexFacts": "facts", "remove_write_leftovers": "update",
    "MAX_SEGMENTS": "update", "MAX_DELETED_FRACTION": "update", "live_segment_ids": "update",
    "indexed_ids": "update", "write_lexicons": "writer", "write_stores": "writer",
}

__all__ = [
    "MAX_DELETED_FRACTION", "MAX_SEGMENTS", "Compiled", "EngineReader", "IndexFacts",
    "IndexUpdater", "IndexedDoc", "NewIndexWriter", "RawHit", "SegmentBuilder", "SegmentSpec", "Snapshot",
    "finish_new_index", "flush_to_disk", "indexed_ids", "live_segment_ids", "remove_write_leftovers",
    "swap_into_place", "top_by_date", "top_k", "write_lexicons", "write_stores",
]


def __getattr__(name: str) -> Any:
    """An interface name, imported from its module on first use (PEP 562)."""
    module = _INTERFACE.get(name)
    if module is None:
        raise AttributeError(f"module 'index_data.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
