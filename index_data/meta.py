"""The index's version and metadata file (``mqt-index.json``), read before the engine opens
anything.

Bump :data:`SCHEMA_VERSION` whenever a field, the analysis or the engine's classes change what
is written or where it is unpickled from: an index of another version is refused with a
"rebuild the index" message (see :func:`check_index`) instead of being misread, and ``mqt
reindex`` rebuilds it. Engine-agnostic: a small JSON file beside the engine's own files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import IndexCorruptError, IndexMissingError, IndexVersionError

#: 5: the Whoosh field and analyzer classes moved to ``index_data.engine`` (an index pickles them).
#: 6: positions keep a gap where a stopword was removed and at sentence ends (phrases).
#: 7: the body's words for spelling and expansion in a ``spell`` column and per-segment lexicon
#: files (``engine.lexicon``), no longer a Whoosh field with posting lists.
SCHEMA_VERSION = 7
META_FILE = "mqt-index.json"


def write_meta(index_dir: str | os.PathLike, **extra: object) -> None:
    """Record the schema version (and build facts) beside the index files."""
    meta = {"schema_version": SCHEMA_VERSION, **extra}
    path = Path(index_dir) / META_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=2), "utf-8")
    os.replace(tmp, path)


def update_meta(index_dir: str | os.PathLike, **changes: object) -> None:
    """Change some facts recorded beside the index (after a reindex), keeping the others."""
    write_meta(index_dir, **{**{k: v for k, v in read_meta(index_dir).items()
                                if k != "schema_version"}, **changes})


def read_meta(index_dir: str | os.PathLike) -> dict:
    """The index's metadata; raises the error a user should see when it is missing or foreign."""
    d = Path(index_dir)
    if not d.exists():
        raise IndexMissingError(f"no index at {d}: build one with `mqt index CORPUS_DIR`")
    if not d.is_dir():
        raise IndexMissingError(f"{d} is not a directory, so not an mqt index")
    path = d / META_FILE
    if not path.exists():
        raise IndexMissingError(
            f"{d} is not an mqt index (no {META_FILE}): build one with `mqt index CORPUS_DIR`")
    try:
        meta: dict = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as e:
        raise IndexCorruptError(f"cannot read {path}: {e}; rebuild the index") from None
    return meta


def check_index(index_dir: str | os.PathLike) -> dict:
    """Refuse an index of another schema version with a clear "rebuild" message; return its meta."""
    meta = read_meta(index_dir)
    version = meta.get("schema_version")
    if version != SCHEMA_VERSION:
        raise IndexVersionError(
            f"the index at {index_dir} has schema version {version}, this mqt needs version "
            f"{SCHEMA_VERSION}: rebuild it with `mqt index CORPUS_DIR`")
    return meta


def is_index_dir(path: str | os.PathLike) -> bool:
    """True when ``path`` holds an mqt index (so it may be replaced by a rebuild)."""
    return (Path(path) / META_FILE).exists()
