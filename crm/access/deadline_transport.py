"""An httpx transport whose every call ends by one deadline: connecting, TLS, sending the
request, the status line, the headers and the body together take at most `total_seconds`.

httpx's timeouts bound each socket operation, not the call (encode/httpx#1450, open): a server
that answers one byte a second never trips a 2 s read timeout, so an Access Manager trickling
its answer held a request for as long as it liked (issue 25: served after 19.1 s). Here every
socket operation of a call gets the smaller of its own timeout and the time left before the
call's deadline, and none starts once it has passed; a trickle is cut off at the deadline with
`httpx.ReadTimeout`, as a silent server is.

How: httpcore's connection pool (the engine under httpx's own transport) takes a network
backend, a public httpcore interface; `_DeadlineBackend` wraps the standard one and hands out
streams that read the deadline from a context variable, set by `DeadlineTransport` around each
call (a pooled connection used outside a call is unbounded, as usual). The answer is read whole
inside the deadline (at most `max_body_bytes`: a decision is a small JSON object) and handed to
httpx as a complete response. httpcore's errors become the httpx errors of the same name, so
callers catch `httpx.HTTPError` as with httpx's own transport.
"""

import contextvars
import ssl
import time
from collections.abc import Iterable

import httpcore
import httpx

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "http_call_deadline", default=None
)


def _bounded(timeout: float | None, expired: type[Exception]) -> float | None:
    """`timeout` capped by the time left before the current call's deadline; `expired` raised
    when none is left."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the call's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            _bounded(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        stream = self._backend.connect_unix_socket(path, bounded, socket_options=socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class BodyTooLarge(httpx.TransportError):
    """The answer is longer than the transport accepts."""


def _as_httpx(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """httpcore's error as httpx's of the same name (both libraries name them alike)."""
    for kind in type(exc).__mro__:
        mapped = getattr(httpx, kind.__name__, None)
        if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
            return mapped(str(exc), request=request)
    return httpx.TransportError(str(exc), request=request)


class DeadlineTransport(httpx.BaseTransport):
    """A pooled HTTP/1.1 transport (`httpx.Client(transport=...)`) bounding each call as a
    whole by `total_seconds` (see the module's docstring)."""

    def __init__(
        self, *, total_seconds: float, limits: httpx.Limits, max_body_bytes: int = 64 * 1024
    ) -> None:
        self.total_seconds = total_seconds
        self.max_body_bytes = max_body_bytes
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        token = _deadline.set(time.monotonic() + self.total_seconds)
        try:
            answer = self._pool.handle_request(
                httpcore.Request(
                    method=request.method,
                    url=httpcore.URL(
                        scheme=request.url.raw_scheme,
                        host=request.url.raw_host,
                        port=request.url.port,
                        target=request.url.raw_path,
                    ),
                    headers=request.headers.raw,
                    content=request.stream,
                    extensions=request.extensions,
                )
            )
            try:
                body = self._read(answer, request)
            finally:
                answer.close()
        except (
            httpcore.TimeoutException,
            httpcore.NetworkError,
            httpcore.ProtocolError,
            httpcore.ProxyError,
            httpcore.UnsupportedProtocol,
        ) as exc:
            raise _as_httpx(exc, request) from exc
        finally:
            _deadline.reset(token)
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            content=body,
            extensions={
                key: value for key, value in answer.extensions.items() if key != "network_stream"
            },
        )

    def _read(self, answer: httpcore.Response, request: httpx.Request) -> bytes:
        chunks, size = [], 0
        for chunk in answer.stream:
            size += len(chunk)
            if size > self.max_body_bytes:
                raise BodyTooLarge(
                    f"the answer is longer than {self.max_body_bytes} bytes", request=request
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._pool.close()
