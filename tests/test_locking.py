"""The job lock: mutual exclusion (also across the lock file being removed and re-created),
time-outs with a clear message, and nothing left behind after a clean exit."""

from __future__ import annotations

import threading
import time

import pytest

from index_data.errors import IndexLockedError
from index_data.locking import index_lock, lock_path


def test_mutual_exclusion_while_lock_files_come_and_go(tmp_path):
    ix = tmp_path / "ix"
    inside, overlaps, done = [0], [], []

    def worker():
        for _ in range(40):
            with index_lock(ix, wait=30):
                inside[0] += 1
                if inside[0] != 1:
                    overlaps.append(inside[0])
                time.sleep(0.0005)
                inside[0] -= 1
        done.append(1)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 4 and overlaps == []
    assert not lock_path(ix).exists()


def test_timeout_names_the_holder(tmp_path):
    ix = tmp_path / "ix"
    with index_lock(ix, wait=0):
        assert lock_path(ix).read_text().strip().isdigit()
        start = time.monotonic()
        with pytest.raises(IndexLockedError, match=r"another mqt job .*held by process \d+.*0\.3 s"):
            with index_lock(ix, wait=0.3):
                pass
        assert time.monotonic() - start >= 0.3
    with index_lock(ix, wait=0):  # free again
        pass


def test_leftovers_of_killed_builds_are_removed_under_the_lock(tmp_path):
    ix = tmp_path / "ix"
    (tmp_path / ".ix.building-12345").mkdir()
    (tmp_path / ".ix.old-999").mkdir()
    (tmp_path / ".other.building-1").mkdir()
    with index_lock(ix, wait=0):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.building-1"]
