"""Compare two Whoosh indexes of the same schema: documents, stored fields, columns, field lengths,
and for every field and term the statistics and the postings, block by block.

Used by tests/test_fast_segment.py to check that the fast segment writer writes what Whoosh's own
``SegmentWriter`` writes for the same documents.
"""

from __future__ import annotations

from whoosh.filedb.filestore import FileStorage
from whoosh.searching import Searcher

from index_data.engine import format, internals


def open_reader(index_dir, indexname="MAIN"):
    return FileStorage(str(index_dir), supports_mmap=False).open_index(indexname).reader()


def id_order(reader, field="id"):
    """Global docnums ordered by the unique ``id`` stored field (to compare indexes whose
    document numbers differ)."""
    return sorted(range(reader.doc_count_all()), key=lambda d: reader.stored_fields(d)[field])


def _blocks(leaf, fieldname, btext):
    """Each block of a term's posting list in one segment: (info tuple, ids, weights, values)."""
    ti = leaf.term_info(fieldname, btext)
    if ti.is_inlined():
        return [("inlined", ti.inlined_postings())]
    offset, length = ti.extent()
    if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves it as struct.unpack's tuple
        length = length[0]
    return format.read_blocks(internals.postings_file(leaf).get(offset, length))


def compare_indexes(a_dir, b_dir, *, same_docnums=True, blocks=True, merged=False) -> dict:
    """Assert that two indexes hold the same thing; returns counts of what was compared.

    With ``same_docnums`` the documents must have the same numbers; otherwise they are matched by
    their ``id`` and only the term statistics and decoded postings (renumbered) are compared.
    With ``blocks`` (both single-segment, same numbers) the posting blocks themselves must match:
    block boundaries, block statistics and decoded contents.
    With ``merged`` (``b`` is a merge of segments by Whoosh's writer) a field's total length in
    ``b`` is the sum of its documents' stored lengths: Whoosh's merge adds up each document's
    length as read back from its one-byte encoding, not the exact lengths.
    """
    ra, rb = open_reader(a_dir), open_reader(b_dir)
    try:
        return _compare(ra, rb, same_docnums, blocks, merged)
    finally:
        ra.close()
        rb.close()


def _compare(ra, rb, same_docnums, blocks, merged=False):
    counts = {"docs": 0, "terms": 0, "postings": 0, "blocks": 0, "raw blocks": 0}
    assert ra.schema.names() == rb.schema.names()
    schema = ra.schema
    n = ra.doc_count_all()
    assert n == rb.doc_count_all() and ra.doc_count() == rb.doc_count()
    counts["docs"] = n
    if same_docnums:
        mapping = list(range(n))
    else:
        oa, ob = id_order(ra), id_order(rb)
        mapping = [0] * n  # a docnum -> b docnum
        for x, y in zip(oa, ob):
            mapping[x] = y
    # stored fields, columns and field lengths, document by document
    for name in schema.names():
        field = schema[name]
        if field.column_type:
            ca, cb = ra.column_reader(name), rb.column_reader(name)
            for d in range(n):
                assert ca[d] == cb[mapping[d]], (name, d)
        if field.scorable:
            if merged:
                assert rb.field_length(name) == sum(ra.doc_field_length(d, name, 0) or 0
                                                    for d in range(n)), name
            else:
                assert ra.field_length(name) == rb.field_length(name), name
                assert (Searcher(ra, closereader=False).avg_field_length(name)
                        == Searcher(rb, closereader=False).avg_field_length(name)), name
            assert ra.max_field_length(name) == rb.max_field_length(name), name
            assert ra.min_field_length(name) == rb.min_field_length(name), name
            for d in range(n):
                assert ra.doc_field_length(d, name) == rb.doc_field_length(mapping[d], name), (name, d)
    for d in range(n):
        assert ra.stored_fields(d) == rb.stored_fields(mapping[d]), d
    # terms: the same lexicon per field, the same statistics and postings per term
    assert sorted(ra.indexed_field_names()) == sorted(rb.indexed_field_names())
    for name in ra.indexed_field_names():
        fmt = schema[name].format
        la, lb = list(ra.lexicon(name)), list(rb.lexicon(name))
        assert la == lb, name
        for btext in la:
            ta, tb = ra.term_info(name, btext), rb.term_info(name, btext)
            for stat in ("doc_frequency", "weight", "min_length", "max_length", "max_weight"):
                assert getattr(ta, stat)() == getattr(tb, stat)(), (name, btext, stat)
            assert ra.frequency(name, btext) == rb.frequency(name, btext)
            assert ra.doc_frequency(name, btext) == rb.doc_frequency(name, btext)
            pa = _postings(ra, name, btext, fmt)
            pb = _postings(rb, name, btext, fmt)
            if same_docnums:
                assert ta.min_id() == tb.min_id() and ta.max_id() == tb.max_id(), (name, btext)
                assert pa == pb, (name, btext)
            else:
                assert sorted((mapping[d], w, v) for d, w, v in pa) == sorted(pb), (name, btext)
            counts["terms"] += 1
            counts["postings"] += len(pa)
        if blocks and same_docnums:
            (leaf_a, _), = ra.leaf_readers()
            (leaf_b, _), = rb.leaf_readers()
            for btext in la:
                ba, bb = _blocks(leaf_a, name, btext), _blocks(leaf_b, name, btext)
                assert _levelless(ba) == _levelless(bb), (name, btext)
                counts["blocks"] += len(ba)
                counts["raw blocks"] += sum(1 for b in ba + bb if b[0] != "inlined" and b[0][3] == 0)
    return counts


def _levelless(blocks):
    """Blocks (see ``_blocks``) without their info tuple's compression level, which must be
    Whoosh's (``format.COMPRESSION``) or 0 (stored uncompressed: see ``format.COMPRESS_FROM``);
    the rest of the info and the decoded contents stay compared."""
    out = []
    for b in blocks:
        if b[0] != "inlined":
            info = b[0]
            assert info[3] in (0, format.COMPRESSION), info
            b = (info[:3] + info[4:],) + tuple(b[1:])
        out.append(b)
    return out


def _postings(reader, name, btext, fmt):
    m = reader.postings(name, btext)
    out = []
    while m.is_active():
        out.append((m.id(), m.weight(), m.value()))
        m.next()
    return out



def compare_live(ref_dir, ix_dir) -> dict:
    """Assert that the live documents of ``ix_dir`` (which may have several segments and deleted
    documents) hold what the single reference index ``ref_dir`` holds, matched by ``id``: stored
    fields, columns, field lengths, and for every term its postings (deleted documents ignored;
    a term whose every posting is deleted must not be in the reference). Returns counts."""
    ra, rb = open_reader(ref_dir), open_reader(ix_dir)
    try:
        return _compare_live(ra, rb)
    finally:
        ra.close()
        rb.close()


def _compare_live(ra, rb):
    assert ra.schema.names() == rb.schema.names()
    schema = ra.schema
    assert not ra.has_deletions()
    live = list(rb.all_doc_ids())
    ids_a = {ra.stored_fields(d)["id"]: d for d in range(ra.doc_count_all())}
    ids_b = {rb.stored_fields(d)["id"]: d for d in live}
    assert len(ids_b) == len(live) and ids_a.keys() == ids_b.keys()
    to_a = {b: ids_a[i] for i, b in ids_b.items()}  # live b docnum -> a docnum
    counts = dict(docs=len(live), terms=0, postings=0)
    for name in schema.names():
        field = schema[name]
        if field.column_type:
            ca, cb = ra.column_reader(name), rb.column_reader(name)
            for b, a in to_a.items():
                assert ca[a] == cb[b], (name, a)
        if field.scorable:
            for b, a in to_a.items():
                assert ra.doc_field_length(a, name) == rb.doc_field_length(b, name), (name, a)
    for b, a in to_a.items():
        assert ra.stored_fields(a) == rb.stored_fields(b), a
    for name in ra.indexed_field_names():
        fmt = schema[name].format
        la, lb = set(ra.lexicon(name)), set(rb.lexicon(name))
        for btext in la | lb:
            pa = _postings(ra, name, btext, fmt) if btext in la else []
            pb = [(to_a[d], w, v) for d, w, v in
                  (_postings(rb, name, btext, fmt) if btext in lb else []) if d in to_a]
            assert sorted(pa) == sorted(pb), (name, btext)
            counts["terms"] += 1 if pa else 0
            counts["postings"] += len(pa)
    return counts
