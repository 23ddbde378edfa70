"""Reading a Whoosh segment's per-document columns in one go (dates, facet values, term vectors).

Whoosh's column readers fetch one value per call (a file read each: 0.26 s for 100k dates); these
slice every value from one read. Both sides use them: the searcher for facets, dates and term
vectors, the writer for the per-segment term statistics. Reading only.
"""

from __future__ import annotations


def numeric_column(reader, fieldname: str):
    """One segment's unsigned-int column (``date``) as an int64 array, read in one go rather than
    a file read per document (0.26 s for 100k dates)."""
    import numpy as np  # here, not at import: index worker processes never need it
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
    """One segment's variable-bytes column (facet values, term vectors) as a list."""
    n = reader.doc_count_all()
    return bytes_values(reader.column_reader(fieldname, translate=False), n, range(n)) if n else []


def bytes_values(cr, n: int, docs) -> list[bytes]:
    """Some documents' values from a bytes column reader ``cr`` of a segment of ``n`` documents:
    one read of the span that holds them when they fill enough of it, else a read each."""
    from whoosh.columns import VarBytesColumn

    if docs and isinstance(cr, VarBytesColumn.Reader) and len(cr._lengths) == n:
        offsets = [cr._offsets[d] for d in docs]
        lengths = [cr._lengths[d] for d in docs]
        lo = min(offsets)
        hi = max(o + ln for o, ln in zip(offsets, lengths))
        if hi - lo <= 8 * sum(lengths) + 65536:
            blob = cr._dbfile.get(cr._basepos + lo, hi - lo)
            return [blob[o - lo:o - lo + ln] for o, ln in zip(offsets, lengths)]
    return [cr[d] for d in docs]


def coded_column(reader, fieldname: str):
    """One segment's bytes column as ``(codes, values)``: a code per document (an int array)
    into the list of distinct values. Read straight from the references of a
    ``RefBytesColumn`` (facets); any other column is coded value by value."""
    import numpy as np
    from whoosh.columns import RefBytesColumn

    n = reader.doc_count_all()
    cr = reader.column_reader(fieldname, translate=False) if n else None
    if isinstance(cr, RefBytesColumn.Reader) and cr._itemsize in (1, 2):
        raw = cr._dbfile.get(cr._basepos, n * cr._itemsize)
        codes = np.frombuffer(raw, dtype=">u2" if cr._itemsize == 2 else np.uint8)
        return codes.astype(np.int32), list(cr._uniques)
    values: dict[bytes, int] = {}
    codes = np.fromiter((values.setdefault(v, len(values)) for v in bytes_column(reader, fieldname)),
                        dtype=np.int32, count=n)
    return codes, list(values)
