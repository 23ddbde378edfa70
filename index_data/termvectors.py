"""Per-document term vectors and per-segment document frequencies, for ranking by similarity.

Each document carries a compact vector of its body text (title, question and answer analysed
together, as the index terms): for each distinct term a 32-bit hash and its count, in the
``termvec`` column. Beside the index, ``mqt-df/<segment>.npy`` holds each hash's document
frequency in that segment, written after every commit, so that a query can weigh the vectors of
its best hits by idf without a term-dictionary lookup per word (~25 µs each in Whoosh: 0.4 s
for the ~15,000 distinct words of 1,000 hits). The query side reads these; ``searcher.neighbours``
does the arithmetic.

Format of one vector: ``n`` little-endian uint32 hashes (CRC-32 of the term's UTF-8), then ``n``
uint8 counts (capped at 255). Hash collisions between two different words (a handful in a
vocabulary of 10^5) only blur a similarity a little; nothing else depends on them.

>>> decode([encode({"hate": 2, "crime": 1})])[1].tolist() == [term_hash("hate"), term_hash("crime")]
True
"""

from __future__ import annotations

import os
import sys
import zlib
from array import array
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from pathlib import Path

#: The schema's column holding each document's vector.
FIELD = "termvec"
#: Folder (inside the index folder) of the per-segment document-frequency tables.
DF_DIR = "mqt-df"
_BYTES_PER_TERM = 5


def term_hash(term: str) -> int:
    """The 32-bit hash a term is stored under."""
    return zlib.crc32(term.encode("utf-8"))


def encode(counts: Mapping[str, int]) -> bytes:
    """A document's vector (term -> count) as column bytes. Plain ``array``, no numpy: index
    worker processes stay small."""
    hashes = array("I", [zlib.crc32(t.encode("utf-8")) for t in counts])  # 4 bytes each
    if sys.byteorder == "big":  # pragma: no cover
        hashes.byteswap()
    return hashes.tobytes() + bytes(min(c, 255) for c in counts.values())


def decode(blobs: Sequence[bytes]):
    """``(rows, hashes, counts)`` numpy arrays for several documents' vectors: entry ``e`` says
    document ``rows[e]`` (its position in ``blobs``) has term ``hashes[e]`` ``counts[e]`` times."""
    import numpy as np

    sizes = [len(b) // _BYTES_PER_TERM for b in blobs]
    hashes = np.frombuffer(b"".join(map(_hash_bytes, blobs)), dtype="<u4")
    counts = np.frombuffer(b"".join(b[4 * n:5 * n] for b, n in zip(blobs, sizes)), dtype=np.uint8)
    rows = np.repeat(np.arange(len(blobs), dtype=np.int64), sizes)
    return rows, hashes, counts.astype(np.float64)


def _hash_bytes(blob: bytes) -> bytes:
    """The hashes part of one vector."""
    return blob[:4 * (len(blob) // _BYTES_PER_TERM)]


def df_table(blobs: Iterable[bytes], chunk: int = 50_000):
    """A ``(2, n)`` uint32 array: the distinct hashes of these documents' vectors (sorted) and
    how many documents have each. Counted ``chunk`` documents at a time, so memory stays near
    the size of the vectors themselves (a 1,000,000-document segment holds ~150 million words)."""
    import numpy as np

    uniqs, counts = [], []
    batch: list[bytes] = []
    for blob in chain(blobs, [None]):
        if blob is not None:
            batch.append(_hash_bytes(blob))
        if batch and (blob is None or len(batch) >= chunk):
            u, c = np.unique(np.frombuffer(b"".join(batch), dtype="<u4"), return_counts=True)
            uniqs.append(u)
            counts.append(c)
            batch = []
    if not uniqs:
        return np.zeros((2, 0), dtype=np.uint32)
    if len(uniqs) == 1:
        return np.vstack([uniqs[0].astype(np.uint32), counts[0].astype(np.uint32)])
    uniq, where = np.unique(np.concatenate(uniqs), return_inverse=True)
    total = np.bincount(where.reshape(-1), weights=np.concatenate(counts), minlength=len(uniq))
    return np.vstack([uniq.astype(np.uint32), total.astype(np.uint32)])


def df_lookup(table, hashes):
    """The document frequency of each of ``hashes`` (sorted or not) in one segment's table
    (0 for a hash it lacks), as a float array."""
    import numpy as np

    if not table.shape[1] or not len(hashes):
        return np.zeros(len(hashes))
    at = np.minimum(np.searchsorted(table[0], hashes), table.shape[1] - 1)
    return np.where(table[0][at] == hashes, table[1][at], 0).astype(np.float64)


def df_path(index_dir: str | os.PathLike, segment_id: str) -> Path:
    return Path(index_dir) / DF_DIR / f"{segment_id}.npy"


def save_df_table(index_dir: str | os.PathLike, segment_id: str, table) -> None:
    """Write one segment's table atomically (a reader sees the whole table or none)."""
    import numpy as np

    path = df_path(index_dir, segment_id)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(table, dtype="<u4"))
    os.replace(tmp, path)


def load_df_table(index_dir: str | os.PathLike, segment_id: str):
    """One segment's table, or None when it is missing or unreadable (the caller computes it)."""
    import numpy as np

    try:
        table = np.load(df_path(index_dir, segment_id), allow_pickle=False)
    except (OSError, ValueError):
        return None
    if table.ndim != 2 or table.shape[0] != 2:
        return None
    return table


def prune_df_tables(index_dir: str | os.PathLike, keep: Iterable[str]) -> None:
    """Delete the tables of segments that no longer exist (merged away)."""
    prune_folder(Path(index_dir) / DF_DIR, {f"{s}.npy" for s in keep})


def prune_folder(folder: Path, keep: set[str]) -> None:
    """Delete the files of a per-segment side folder but those named in ``keep``."""
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.name not in keep:
            try:
                p.unlink()
            except OSError:
                pass
