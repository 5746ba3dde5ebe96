"""Running the application under uvicorn: the listening socket, and a server in a background thread
for the tests and the screenshot script. Only the standard library is imported at the top, so the
CLI can use the helpers without FastAPI."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: Pending connections the listening socket holds.
BACKLOG = 128
#: How long a background server may take to start or stop (seconds).
START_TIMEOUT_S = 20.0
#: How often a starting background server is checked on (seconds).
START_POLL_S = 0.02


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this computer only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound here so that a busy port is a one-line ``ValueError`` rather than a
    log line and an exit from uvicorn, and so that port 0 gives a known free port."""
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ValueError(f"cannot listen on {host!r}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def url_of(sock: socket.socket) -> str:
    """The page's address, with the port the socket really got."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


#: A connection must send a whole request head within this many seconds (uvicorn waits forever for
#: one that trickles in, a byte at a time).
HEAD_TIMEOUT_S = 10.0
#: An idle kept-alive connection is closed after this many seconds; beyond this many connections at
#: once, uvicorn answers 503 (slow clients could otherwise hold the server's sockets without bound).
KEEP_ALIVE_S = 5
MAX_CONNECTIONS = 128


def _head_timeout_protocol() -> type:
    """uvicorn's h11 protocol, closing a connection whose first request head is not complete within
    :data:`HEAD_TIMEOUT_S` (uvicorn itself times out only idle connections between requests)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeadTimeout(H11Protocol):
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_timeout)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if getattr(self, "cycle", None) is not None:  # a request head arrived whole
                self._head_timer.cancel()

        def connection_lost(self, exc: Exception | None) -> None:
            self._head_timer.cancel()
            super().connection_lost(exc)

        def _head_timeout(self) -> None:
            if getattr(self, "cycle", None) is None and not self.transport.is_closing():
                self.transport.close()

    return HeadTimeout


def _config(app: Any, *, quiet: bool) -> Any:
    """uvicorn's settings for the page: timeouts and a connection bound against slow clients."""
    import uvicorn

    return uvicorn.Config(
        app,
        log_level="warning" if quiet else "info",
        access_log=not quiet,
        timeout_keep_alive=KEEP_ALIVE_S,
        limit_concurrency=MAX_CONNECTIONS,
        http=_head_timeout_protocol(),
    )


def serve(app: Any, sock: socket.socket, *, quiet: bool = False) -> None:
    """Serve ``app`` on ``sock`` until Ctrl-C or SIGTERM; uvicorn then runs the app's shutdown,
    which removes its temporary folder."""
    import uvicorn

    uvicorn.Server(_config(app, quiet=quiet)).run(sockets=[sock])


@contextmanager
def in_thread(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve ``app`` from a background thread; yields the page's URL and stops the server on exit."""
    import uvicorn

    sock = listen(host, port)
    server = uvicorn.Server(_config(app, quiet=True))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="gencor-serve", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the background server did not start")
            time.sleep(START_POLL_S)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        sock.close()
