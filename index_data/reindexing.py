"""Incremental reindexing: bring an index up to date with its corpus folder, changing only what
changed, safely while others search and even if killed half-way.

How a run works (all under the index's job lock, see ``locking``):

1. No index yet, or one of another schema version (or unreadable): build a fresh one beside it
   and swap it in atomically (``build``) -- searchers keep the old one until the swap.
2. Otherwise list the corpus (``corpus.list_corpus``: ``stat`` only) and what the index holds
   (ids and each source file's ``fileinfo.FileInfo``, read in one go from the facts files
   beside the segments, ``engine.facts``; never the stored records).
3. A file whose size, mtime and path match its document is unchanged and is not read. A file
   whose size and path match but not its mtime is read and hashed: the same SHA-1 (touched, or
   a corpus copied without its mtimes) is *unchanged*, not rewritten; its new mtime is kept in
   the facts files so the next run skips it unread. Any other file is read and parsed: a new id
   is *added*; a known id whose content hash differs is *updated*; same content at another path
   (moved) is *unchanged* but its document is rewritten with the new path (*refreshed*). Ids
   with no file any more are *deleted*; so is a document whose file is now rejected (a file
   that no longer parses must not keep showing).
4. Everything is applied as one commit (``engine.update``): searchers see the old state or the
   new one.

The index itself is the only record of what was indexed (the facts files are derived from it,
checked, and derived again when missing or damaged), so a run killed at any point leaves the
last committed state, and the next run simply finds the same differences again.

Duplicate ids (same file name in two folders): the first file in sorted path order owns the id;
the others are rejected and reported -- never silently indexed over each other (``sources.screen``,
as in a build).

The module is ``reindexing`` so that ``index_data.reindex`` is always the function.
"""

from __future__ import annotations

import hashlib
import os
import time
from itertools import chain
from pathlib import Path
from collections.abc import Iterator

from .analysis import warm_up
from .build import build_unlocked, now_iso
from .corpus import list_corpus
from .engine import (MAX_DELETED_FRACTION, MAX_SEGMENTS, IndexedDoc, IndexUpdater,
                     remove_write_leftovers, write_lexicons, write_stores)
from .errors import (CorpusError, IndexCorruptError, IndexMissingError, IndexVersionError,
                     IndexWriteError, MqtError)
from .locking import DEFAULT_WAIT_SECONDS, index_lock
from .fileinfo import FileInfo
from .meta import check_index, read_meta, update_meta
from .model import Question
from .reports import NO_INDEX, Progress, ReindexReport
from .safety import DEFAULT_MAX_DELETE, DeleteLimit, check_deletions
from .sources import content_sha1, load_question, rejection, screen_listing

#: What the refusal of a run that would remove too much (see ``safety``) tells the user to do.
HOW_TO_ALLOW = "run mqt reindex again with --allow-deletes (or a larger --max-delete N|PCT)"


def reindex(corpus_dir: str | os.PathLike, index_dir: str | os.PathLike, *,
            wait: float = DEFAULT_WAIT_SECONDS, optimize: bool = False,
            progress: Progress | None = None,
            max_delete: DeleteLimit | str | int | None = DEFAULT_MAX_DELETE,
            verify_stores: bool = False) -> ReindexReport:
    """Bring the index at ``index_dir`` up to date with ``corpus_dir`` (building it if missing).

    Waits up to ``wait`` seconds for another indexing job (raises :class:`IndexLockedError`).
    ``optimize`` merges the index into one segment. Rejected files are listed in the report.
    ``verify_stores`` reads every posting store whole and rewrites one whose bytes fail their
    CRCs (every run checks their structure and directories only: reading them all takes seconds
    at a million questions).

    A run that would remove more than ``max_delete`` of the documents (``"10%"``, a count, or
    None for no limit), every document, or that finds no question files in ``corpus_dir``
    changes nothing and raises :class:`TooManyDeletionsError` (see ``safety``): an unmounted or
    mistyped corpus folder never empties the index.

    >>> r = reindex("corpus", ".mqt-index")          # doctest: +SKIP
    >>> r.added, r.updated, r.deleted, r.unchanged, r.rejected
    (0, 1, 0, 41230, [])
    """
    start = time.perf_counter()
    try:
        limit = DeleteLimit.parse(max_delete)
    except ValueError as e:
        raise MqtError(str(e)) from None
    if not Path(corpus_dir).is_dir():
        raise CorpusError(corpus_dir, None, "corpus folder does not exist or is not a folder")
    with index_lock(index_dir, wait=wait):
        report = ReindexReport(index_dir=str(index_dir), corpus_dir=str(corpus_dir))
        reason = _rebuild_reason(index_dir)
        if reason:
            built = build_unlocked(corpus_dir, index_dir, progress=progress, limit=limit,
                                   same_folder_may_shrink=False, how_to_allow=HOW_TO_ALLOW)
            report.added, report.rejected, report.rebuilt = built.indexed, built.rejected, reason
            report.files_read = built.indexed + len(built.rejected)
            with IndexUpdater(index_dir) as u:
                report.segments = u.segment_count()
        else:
            try:
                _update(corpus_dir, index_dir, report, optimize=optimize, progress=progress,
                        limit=limit, verify_stores=verify_stores)
            except OSError as e:
                raise IndexWriteError(
                    f"cannot update the index at {index_dir}: {e.strerror or e}; the index keeps "
                    f"its last complete state (an update is applied all at once or not at all)"
                ) from None
    report.seconds = time.perf_counter() - start
    return report


def _rebuild_reason(index_dir) -> str:
    """Why the index must be built from scratch, or "" when it can be updated in place."""
    try:
        check_index(index_dir)
    except IndexMissingError:
        if Path(index_dir).is_dir() and any(Path(index_dir).iterdir()):
            raise  # a folder that is not an mqt index: never replace it
        return NO_INDEX
    except IndexVersionError as e:
        return f"schema changed: {e}"
    except IndexCorruptError as e:
        return f"unreadable index: {e}"
    return ""


def _update(corpus_dir, index_dir, report: ReindexReport, *, optimize: bool,
            progress: Progress | None, limit: DeleteLimit, verify_stores: bool = False) -> None:
    remove_write_leftovers(index_dir)
    try:
        updater = IndexUpdater(index_dir, verify_stores=verify_stores)
    except (IndexVersionError, IndexCorruptError) as e:
        built = build_unlocked(corpus_dir, index_dir, progress=progress, limit=limit,
                               same_folder_may_shrink=False, how_to_allow=HOW_TO_ALLOW)
        report.added, report.rejected, report.rebuilt = built.indexed, built.rejected, str(e)
        with IndexUpdater(index_dir) as u:
            report.segments = u.segment_count()
        return
    with updater as u:
        u.remove_orphans()
        indexed = u.indexed_facts()
        listing = list_corpus(corpus_dir)
        owners, report.rejected = screen_listing(listing)
        candidates: list[tuple[str, str, str, int, list[IndexedDoc]]] = []
        touched: list[tuple[int, int]] = []  # (entry, mtime): only touched, the same bytes
        first, sizes, mtimes, rels = indexed.first, indexed.size, indexed.mtime, indexed.rel
        lsize, lmtime, lrel = listing.size, listing.mtime, listing.rel
        for doc_id, i in owners.items():
            k = first.get(doc_id)
            if k is not None and sizes[k] == lsize[i] and rels[k] == lrel[i]:
                if mtimes[k] == lmtime[i]:
                    report.unchanged += 1
                    continue
                if _same_bytes(listing.path(i), indexed.info(k)):  # touched, or copied without mtimes
                    report.files_read += 1
                    report.unchanged += 1
                    touched.append((k, lmtime[i]))
                    continue
            prior = [IndexedDoc(indexed.docnums[n], indexed.info(n)) for n in indexed.entries(doc_id)]
            candidates.append((listing.path(i), lrel[i], doc_id, lmtime[i], prior))
        gone = [doc_id for doc_id in chain(indexed.first, indexed.multi) if doc_id not in owners]
        report.deleted += len(gone)
        built_from = _built_from(index_dir)

        def check(final: bool) -> None:
            """Refuse (nothing written) a run that would remove too much; before reading any
            file (``final`` False) with what the listing shows, then before the commit with
            the files that no longer parse counted too."""
            documents = len(indexed.first) + len(indexed.multi)
            remaining = documents - report.deleted + report.added
            if not final:
                remaining = documents - report.deleted + sum(1 for c in candidates if not c[4])
            check_deletions(would_delete=report.deleted, documents=documents,
                            remaining=remaining, files_found=len(owners), corpus_dir=corpus_dir,
                            built_from=built_from, limit=limit, how_to_allow=HOW_TO_ALLOW)

        check(final=False)
        if touched:  # the next run skips them unread
            indexed.record_mtimes(index_dir, touched)
        delete = [indexed.docnums[n] for doc_id in gone for n in indexed.entries(doc_id)]
        delete += [d.docnum for *_, prior in candidates for d in prior]
        needs_housekeeping = optimize or u.segment_count() > MAX_SEGMENTS \
            or u.deleted_fraction() > MAX_DELETED_FRACTION
        if candidates or delete or needs_housekeeping:
            u.apply(delete, _load(candidates, report, progress), optimize=optimize,
                    housekeeping=needs_housekeeping, before_commit=lambda: check(final=True))
        else:
            # an index without its lexicons or posting stores (interrupted, damaged) gets them
            write_lexicons(index_dir)
            write_stores(index_dir, verify=verify_stores)
    report.rejected.sort(key=lambda r: r.path)
    with IndexUpdater(index_dir) as u:
        report.segments = u.segment_count()
        documents = u.doc_count()
    if report.changed or _built_from(index_dir) != str(Path(corpus_dir).resolve()):
        update_meta(index_dir, updated_at=now_iso(), documents=documents,
                    corpus_dir=str(Path(corpus_dir).resolve()))


def _built_from(index_dir) -> str | None:
    """The corpus folder the index was last built or updated from (recorded in its meta)."""
    try:
        return read_meta(index_dir).get("corpus_dir")
    except MqtError:
        return None


def _same_bytes(path: str, fileinfo: str) -> bool:
    """Whether a file (same size and path as its document, another mtime) still holds the bytes
    the document was made from (the SHA-1 its ``fileinfo`` keeps): a file only touched, or a
    corpus copied without its mtimes (``cp -r``), is then not rewritten."""
    old = FileInfo.parse(fileinfo)
    if old is None or not old.sha1:
        return False
    try:
        return content_sha1(path) == old.sha1
    except CorpusError:
        return False  # read again (and rejected) with the changed files


def _load(candidates, report: ReindexReport, progress: Progress | None
          ) -> Iterator[tuple[Question, str]]:
    """Read and parse the files that may have changed, counting each in the report."""
    if candidates:
        warm_up()  # NLTK stems the index
    for n, (path, rel, doc_id, mtime_ns, prior) in enumerate(candidates, 1):
        report.files_read += 1
        try:
            q, data = load_question(path, doc_id)
        except Exception as e:  # a parser bug must not lose the rest of the corpus either
            report.rejected.append(rejection(path, e))
            report.deleted += bool(prior)
            continue
        finally:
            if progress:
                progress(n, len(candidates))
        if not prior:
            report.added += 1
        else:
            old = FileInfo.parse(prior[0].fileinfo) if len(prior) == 1 else None
            if old and old.sha1 == hashlib.sha1(data).hexdigest():
                report.unchanged += 1
                report.refreshed += 1
            else:
                report.updated += 1
        yield q, FileInfo.of(len(data), mtime_ns, data, rel).format()
