"""Reading a Whoosh segment's per-document columns in one go (dates, facet values, term vectors).

Whoosh's column readers fetch one value per call (a file read each: 0.26 s for 100k dates); these
slice every value from one read. Both sides use them: the searcher for facets, dates and term
vectors, the writer for the per-segment term statistics. Reading only.
"""

from __future__ import annotations

import numpy as np


def numeric_column(reader, fieldname: str) -> np.ndarray:
    """One segment's unsigned-int column (``date``) as an int64 array, read in one go rather than
    a file read per document (0.26 s for 100k dates)."""
    from whoosh.columns import NumericColumn

    n = reader.doc_count_all()
    field = reader.schema[fieldname]
    cr = reader.column_reader(fieldname, translate=False) if n else None
    if (isinstance(cr, NumericColumn.Reader) and getattr(field, "signed", True) is False
            and getattr(field, "numtype", None) is int and not getattr(field, "decimal_places", 0)):
        raw = cr._dbfile.get(cr._basepos, cr._count * cr._fixedlen) if cr._count else b""
        out = np.full(n, cr._default, dtype=np.int64)
        out[:cr._count] = np.frombuffer(raw, dtype=np.dtype(cr._typecode).newbyteorder(">"))
        return out
    return np.array(list(reader.column_reader(fieldname)) if n else [], dtype=np.int64)


def bytes_column(reader, fieldname: str) -> list[bytes]:
    """One segment's variable-bytes column (facet values) as a list, sliced from one read."""
    from whoosh.columns import VarBytesColumn

    n = reader.doc_count_all()
    cr = reader.column_reader(fieldname, translate=False) if n else None
    if isinstance(cr, VarBytesColumn.Reader) and len(cr._lengths) == n:
        offsets, lengths = cr._offsets.tolist(), cr._lengths.tolist()
        size = max((o + ln for o, ln in zip(offsets, lengths)), default=0)
        blob = cr._dbfile.get(cr._basepos, size) if size else b""
        return [blob[o:o + ln] for o, ln in zip(offsets, lengths)]
    return list(reader.column_reader(fieldname)) if n else []
