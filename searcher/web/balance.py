"""Spreading connections over ``mqt serve``'s worker processes: the least busy worker accepts first.

The workers share one listening socket, and the kernel wakes every worker for each new connection:
the first to call ``accept`` takes it, and uvloop (as asyncio) then accepts every connection that
is waiting. Keep-alive clients that connect together (a reverse proxy's pool, a browser, the
benchmark's 8 clients) thus often all land on one worker, whose one core (the GIL) then serves
them all while the other idles: at 100,000 questions, 8 clients connecting at once were split
8/0, 7/1 or 6/2 in most runs, and 4/4 gave a 20-40% lower p95 (docs/benchmarks.md, issue 14).

Here a worker accepts one connection at a time, and one that already holds connections waits
``STEP`` seconds per connection (at most ``MAX_WAIT``) before it tries: a worker holding fewer
takes the connection meanwhile, and if none does, this one takes it after the wait. Only the
accept waits, never a request on an open connection. (Linux's ``SO_REUSEPORT`` would spread
connections by a hash of their addresses: uneven splits stay common with a few connections.)
"""

from __future__ import annotations

import asyncio
import socket

import uvloop

#: A worker holding n open connections waits n * STEP seconds (at most MAX_WAIT) before it accepts.
STEP = 0.002
MAX_WAIT = 0.010


class _Listener:
    """Accepts connections from ``sock`` on ``loop`` one at a time, the wait above before each
    while this worker holds connections; stands for the ``asyncio.Server`` uvicorn keeps (it only
    closes it and waits for that)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol_factory, sock: socket.socket, backlog: int):
        self.loop, self.protocol_factory, self.sock = loop, protocol_factory, sock
        self.fd = sock.fileno()
        self.transports: set[asyncio.BaseTransport] = set()
        self.pending = 0  # accepted, not yet connected to a protocol
        self.waited = False
        self.waiting: asyncio.TimerHandle | None = None
        self.closed = False
        sock.setblocking(False)
        sock.listen(backlog)  # as create_server does (uvicorn's bind_socket only binds)
        loop.add_reader(self.fd, self._ready)

    def open_connections(self) -> int:
        """Connections this worker holds: open, or accepted and about to be."""
        self.transports = {t for t in self.transports if not t.is_closing()}
        return len(self.transports) + self.pending

    def _ready(self) -> None:
        """A connection is waiting to be accepted (by this worker or another)."""
        held = self.open_connections()
        if held and not self.waited:
            self.loop.remove_reader(self.fd)
            self.waiting = self.loop.call_later(min(held * STEP, MAX_WAIT), self._resume)
            return
        self.waited = False
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):  # another worker took it
            return
        except OSError:  # too many open files, no memory...: try again in a second, as asyncio does
            self.loop.remove_reader(self.fd)
            self.waiting = self.loop.call_later(1.0, self._resume)
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending += 1
        self.loop.create_task(self._connect(conn))

    def _resume(self) -> None:
        self.waiting = None
        if not self.closed:
            self.waited = True
            self.loop.add_reader(self.fd, self._ready)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            transport, _ = await self.loop.connect_accepted_socket(self.protocol_factory, conn)
        except OSError:
            conn.close()
            return
        finally:
            self.pending -= 1
        self.transports.add(transport)

    def close(self) -> None:
        """Stop accepting (the socket itself is uvicorn's to close)."""
        if not self.closed:
            self.closed = True
            if self.waiting is not None:
                self.waiting.cancel()
            self.loop.remove_reader(self.fd)

    async def wait_closed(self) -> None:
        return None


class BalancingLoop(uvloop.Loop):
    """uvloop, whose ``create_server`` on a given listening socket (what uvicorn's workers call)
    accepts as ``_Listener`` does."""

    async def create_server(self, protocol_factory, host=None, port=None, *, sock=None, ssl=None,
                            backlog=100, **kwargs):
        if sock is None or ssl is not None or host is not None or port is not None or kwargs:
            return await super().create_server(protocol_factory, host, port, sock=sock, ssl=ssl,
                                               backlog=backlog, **kwargs)
        return _Listener(self, protocol_factory, sock, backlog)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The loop factory ``mqt serve --workers N`` (N > 1) names to uvicorn."""
    return BalancingLoop()
