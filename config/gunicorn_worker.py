"""Gunicorn's gthread worker with a bound on how long a client may take to send its request.

Why: a gthread worker reads a request's line, headers and body on one of its threads with a
blocking socket and no timeout. A client that sends a byte now and then holds that thread for
as long as it likes; nine such clients held all eight threads of the default configuration and
`/health` stopped answering (issue 25). nginx in front (deploy/nginx/) buffers whole requests
and never lets a slow client reach gunicorn; this bound is for gunicorn served alone.

The bound, `GUNICORN_CLIENT_TIMEOUT` seconds (default 10), runs from the moment the worker hands
a connection that has (or may have) a request to its thread pool until the application holds
the whole request: request line, headers and body. A connection a thread takes up only after
its time is up (queued behind busy threads) gets half a second more, enough to read a request
that is already there. It is a deadline for the whole request, not a timeout per read, so a
client trickling one byte a second is cut off like one that sends nothing. With S stalled
connections and N threads, a good request waits at most about the bound plus 0.5 s for every
N stalled connections queued beyond the first N. Past it the connection is shut down: the
thread's read returns at once, gunicorn drops the request (no answer, as nginx does on its own
client timeouts) and the thread is free again. The application says it holds the request by
calling `request_received()` (`crm.api.request_body.BufferedRequestBody` does, once it has read
the body, in `config/wsgi.py`); from then on the time is the server's and no client bound
applies.

One thread per worker process keeps the deadlines (a heap) and shuts the sockets down; arming
and disarming one is a lock and a heap push: 7-13 us per request measured on the shared 2-core
machine under load (load average 14), against about 1 ms for the fastest request.

Gunicorn internals used here, and only here (docs/internals.md): the worker's
`enqueue_req(conn)` (the main loop hands a connection to the pool) and `handle(conn)` (a pool
thread serves the request it brings) methods, and the connection's `sock` attribute.
`tests/test_private_apis.py` fails loudly if an upgrade changes any of them.
"""

import heapq
import itertools
import os
import socket
import threading
import time

from gunicorn.workers.gthread import ThreadWorker

DEFAULT_CLIENT_TIMEOUT_SECONDS = 10.0
# What a request taken up by a thread after its time is up still gets (see `handle`).
LATE_GRACE_SECONDS = 0.5


def client_timeout_seconds() -> float:
    """`GUNICORN_CLIENT_TIMEOUT` (seconds, > 0); a bad value stops the worker's start."""
    raw = os.environ.get("GUNICORN_CLIENT_TIMEOUT", "") or str(DEFAULT_CLIENT_TIMEOUT_SECONDS)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ValueError(f"GUNICORN_CLIENT_TIMEOUT must be a number of seconds > 0, not {raw!r}")
    return seconds


class _Deadline:
    """One request's deadline: `conn` until disarmed, then None."""

    __slots__ = ("at", "conn")

    def __init__(self, conn, at: float) -> None:
        self.conn = conn
        self.at = at


class Deadlines:
    """The worker's deadlines and the thread that enforces them.

    `arm()` returns a deadline; `disarm()` makes it harmless (O(1): the heap entry stays until
    it comes due and is then dropped). The enforcing thread shuts a connection's socket down
    while holding the lock `disarm()` takes, so once `disarm()` has returned the socket is
    never touched again, even if gunicorn then closes it and the number is reused.
    """

    def __init__(self, on_cut_off) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._order = itertools.count()
        self._on_cut_off = on_cut_off
        threading.Thread(target=self._run, name="client-deadlines", daemon=True).start()

    def arm(self, conn, at: float) -> _Deadline:
        """Shut `conn`'s socket down at `at` (`time.monotonic()`) unless disarmed first."""
        deadline = _Deadline(conn, at)
        with self._condition:
            heapq.heappush(self._heap, (deadline.at, next(self._order), deadline))
            if self._heap[0][2] is deadline:
                self._condition.notify()
        return deadline

    def disarm(self, deadline: _Deadline) -> None:
        with self._condition:
            deadline.conn = None

    def _run(self) -> None:
        while True:
            cut_off = 0
            with self._condition:
                wait = self._heap[0][0] - time.monotonic() if self._heap else None
                if wait is None or wait > 0:
                    self._condition.wait(wait)
                    continue
                while self._heap and self._heap[0][0] <= time.monotonic():
                    deadline = heapq.heappop(self._heap)[2]
                    if deadline.conn is not None:
                        cut_off += self._cut_off(deadline.conn)
                        deadline.conn = None
            for _ in range(cut_off):  # logged outside the lock the request threads take
                self._on_cut_off()

    @staticmethod
    def _cut_off(conn) -> bool:
        try:
            conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed by the client or by gunicorn
            return False
        return True


_current = threading.local()  # the deadline of the request this pool thread is reading


def request_received() -> None:
    """The application holds the whole request: stop the client's clock. A no-op outside
    `ClientDeadlineWorker` (runserver, tests, another worker class)."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        _current.deadline = None
        _current.deadlines.disarm(deadline)


class ClientDeadlineWorker(ThreadWorker):
    """`gthread` with `GUNICORN_CLIENT_TIMEOUT` on receiving each request (module docstring)."""

    def init_process(self) -> None:
        self.client_timeout = client_timeout_seconds()
        self.deadlines = Deadlines(on_cut_off=self._log_cut_off)
        self.queued: dict[object, float] = {}  # connection -> when it was handed to the pool
        super().init_process()

    def _log_cut_off(self) -> None:
        self.log.warning(
            "Client timeout: no complete request within %gs; connection closed",
            self.client_timeout,
        )

    def enqueue_req(self, conn) -> None:
        self.queued[conn] = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        # The clock started when the connection was handed to the pool, not now: a thread
        # freed by one cut-off stalled connection must not then give the next stalled one in
        # the queue the whole bound again. One taken up late gets LATE_GRACE_SECONDS: a request
        # already sent in full is read in far less, a stalled one is dropped.
        at = max(self.queued.pop(conn) + self.client_timeout, time.monotonic() + LATE_GRACE_SECONDS)
        deadline = self.deadlines.arm(conn, at)
        _current.deadline, _current.deadlines = deadline, self.deadlines
        try:
            return super().handle(conn)
        finally:
            _current.deadline = None
            self.deadlines.disarm(deadline)
