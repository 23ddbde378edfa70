"""Reading a segment's per-document columns in one go (dates, field lengths, facet values, term
vectors).

Whoosh's column readers fetch one value per call (a file read each: 0.26 s for 100k dates);
these slice every value from one read, through the layouts ``internals`` exposes. Both sides use
them: the searcher for facets, dates, field lengths and term vectors, the writer for the
per-segment term statistics. Reading only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from collections.abc import Sequence

from . import internals

if TYPE_CHECKING:
    import numpy as np


def numeric_column(reader, fieldname: str) -> np.ndarray:
    """One segment's unsigned-int column (``date``) as an int64 array, read in one go rather than
    a file read per document (0.26 s for 100k dates)."""
    import numpy as np  # here, not at import: importing columns (index workers do) stays light

    n = reader.doc_count_all()
    field = reader.schema[fieldname]
    cr = reader.column_reader(fieldname, translate=False) if n else None
    layout = internals.fixed_layout(cr)
    if (layout is not None and getattr(field, "signed", True) is False
            and getattr(field, "numtype", None) is int and not getattr(field, "decimal_places", 0)):
        raw = layout.dbfile.get(layout.base, layout.stored * layout.itemsize) if layout.stored else b""
        out = np.full(n, layout.default, dtype=np.int64)
        out[:layout.stored] = np.frombuffer(raw, dtype=np.dtype(layout.typecode).newbyteorder(">"))
        return out
    return np.array(list(reader.column_reader(fieldname)) if n else [], dtype=np.int64)


def length_bytes(cr, n: int) -> np.ndarray | None:
    """Every document's byte in a segment's field-length column ``cr`` (``internals.
    length_column``), as uint8 (0: no length), read in one go; None when the column is not laid
    out so (then ask ``doc_field_length`` per document)."""
    import numpy as np

    layout = internals.fixed_layout(cr)
    if layout is None or layout.itemsize != 1:
        return None
    raw = layout.dbfile.get(layout.base, layout.stored) if layout.stored else b""
    codes = np.zeros(n, dtype=np.uint8)
    codes[:len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    return codes


def bytes_column(reader, fieldname: str) -> list[bytes]:
    """One segment's variable-bytes column (facet values, term vectors) as a list."""
    n = reader.doc_count_all()
    return bytes_values(reader.column_reader(fieldname, translate=False), n, range(n)) if n else []


def bytes_values(cr, n: int, docs: Sequence[int]) -> list[bytes]:
    """Some documents' values from a bytes column reader ``cr`` of a segment of ``n`` documents:
    one read of the span that holds them when they fill enough of it, else a read each."""
    layout = internals.var_layout(cr)
    if docs and layout is not None and len(layout.lengths) == n:
        offsets = [layout.offsets[d] for d in docs]
        lengths = [layout.lengths[d] for d in docs]
        lo = min(offsets)
        hi = max(o + ln for o, ln in zip(offsets, lengths))
        if hi - lo <= 8 * sum(lengths) + 65536:
            blob = layout.dbfile.get(layout.base + lo, hi - lo)
            return [blob[o - lo:o - lo + ln] for o, ln in zip(offsets, lengths)]
    return [cr[d] for d in docs]


def coded_column(reader, fieldname: str) -> tuple[np.ndarray, list[bytes]]:
    """One segment's bytes column as ``(codes, values)``: a code per document (an int array)
    into the list of distinct values. Read straight from the references of a
    ``RefBytesColumn`` (facets); any other column is coded value by value."""
    import numpy as np

    n = reader.doc_count_all()
    cr = reader.column_reader(fieldname, translate=False) if n else None
    layout = internals.ref_layout(cr)
    if layout is not None and layout.itemsize in (1, 2):
        raw = layout.dbfile.get(layout.base, n * layout.itemsize)
        codes = np.frombuffer(raw, dtype=">u2" if layout.itemsize == 2 else np.uint8)
        return codes.astype(np.int32), list(layout.uniques)
    values: dict[bytes, int] = {}
    codes = np.fromiter((values.setdefault(v, len(values)) for v in bytes_column(reader, fieldname)),
                        dtype=np.int32, count=n)
    return codes, list(values)
