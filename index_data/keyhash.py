"""The stable 64-bit key hash mqt saves in its own index files: the stem table's word keys
(``stemtable``) and the posting stores' term keys (``engine/poststore``).

BLAKE2b with an 8-byte digest, read little-endian (not Python's per-process ``hash``). The
function comes from ``_blake2``, the module whose ``blake2b`` ``hashlib`` re-exports (the same
function), because ``import hashlib`` also loads OpenSSL's ``_hashlib``: ~2.5 ms of a one-query
``mqt search``, which needs no other hash (``tests/test_cold_start.py``).
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # a Python without CPython's module: hashlib's, the same digests
    from hashlib import blake2b


def hash64(data: bytes) -> int:
    """The 64-bit key of ``data``."""
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little")
