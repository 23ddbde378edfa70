"""How ``mqt serve``'s workers share connections (searcher/web/balance.py): a worker holding
connections leaves a new one to a sibling for a while, and takes it if no sibling does. The test
plays the sibling by accepting from the same listening socket."""

from __future__ import annotations

import asyncio
import socket

import pytest

from searcher.web import balance


class Conn(asyncio.Protocol):
    made: list[asyncio.BaseTransport]

    def connection_made(self, transport):
        self.made.append(transport)


def run_until(loop: asyncio.AbstractEventLoop, done, bound: float = 10.0) -> None:
    """Run ``loop`` until ``done()`` (at most ``bound`` seconds: a hang guard, not a timing)."""

    async def wait():
        end = loop.time() + bound
        while not done() and loop.time() < end:
            await asyncio.sleep(0.001)

    loop.run_until_complete(wait())


@pytest.fixture
def served(monkeypatch):
    """A BalancingLoop serving Conn on a listening socket: (loop, listening socket, made)."""
    made: list[asyncio.BaseTransport] = []
    monkeypatch.setattr(Conn, "made", made, raising=False)
    loop = balance.new_event_loop()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = loop.run_until_complete(loop.create_server(Conn, sock=sock, backlog=16))
    yield loop, sock, made
    server.close()
    loop.run_until_complete(server.wait_closed())
    for t in made:
        t.close()
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    sock.close()


def test_a_worker_holding_a_connection_leaves_the_next_to_a_sibling(served, monkeypatch):
    loop, sock, made = served
    monkeypatch.setattr(balance, "STEP", 3600.0)  # this worker would wait an hour: the sibling's turn
    monkeypatch.setattr(balance, "MAX_WAIT", 3600.0)
    first = socket.create_connection(sock.getsockname())
    run_until(loop, lambda: len(made) == 1)
    assert len(made) == 1  # holding none, it accepts at once
    second = socket.create_connection(sock.getsockname())
    run_until(loop, lambda: len(made) == 2, bound=0.3)
    assert len(made) == 1
    taken, _ = sock.accept()  # the sibling takes the waiting connection
    taken.close()
    for s in (first, second):
        s.close()


def test_a_worker_takes_the_connection_if_no_sibling_does(served, monkeypatch):
    loop, sock, made = served
    monkeypatch.setattr(balance, "STEP", 0.01)
    clients = [socket.create_connection(sock.getsockname()) for _ in range(3)]
    run_until(loop, lambda: len(made) == 3)
    assert len(made) == 3
    for s in clients:
        s.close()
