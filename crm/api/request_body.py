"""The request body, read in full before Django sees the request: the one place a body is
taken off the connection (a WSGI middleware, applied in `config/wsgi.py`).

Why. Django reads exactly `CONTENT_LENGTH` bytes of `wsgi.input`. A body sent with
`Transfer-Encoding: chunked` has no `Content-Length`, so Django read it as empty and a valid
create was refused with 400 CRM-0004 (issue 25). A server that knows where a body ends says so
with `wsgi.input_terminated` (gunicorn does); the body is then read up to its end. nginx in
front (deploy/nginx/) reads a chunked body itself and passes it on with a `Content-Length`.

Reading the whole body first also tells the server when the client's part is over:
`on_received` is called once the body is in (gunicorn's `config.gunicorn_worker` stops the
client's clock there), so the time a request spends in the application is never charged to
the client.

The rules, with `limit` = `MAX_REQUEST_BODY_BYTES`:

* `Content-Length` over the limit: nothing is read. Django refuses it with 413 CRM-0905 after
  the route and the method (docs/api.md §3.1), as before.
* `Content-Length` within the limit: that many bytes are read. If the connection ends first
  (the client went away, or the server cut it off: `config.gunicorn_worker`), the request
  ends there with `IncompleteBody`, a `ConnectionResetError`: nobody is left to answer, and
  the application never sees half a body.
* No `Content-Length`, `wsgi.input_terminated`: read to the end, at most `limit + 1` bytes,
  and declared with the `Content-Length` of what was read. Over the limit, Django sees
  `limit + 1` bytes and answers 413 CRM-0905 exactly as for a declared size.
* No `Content-Length` and a server that cannot tell where the body ends: nothing is read
  (an empty body, as before).

Django then reads `wsgi.input` from memory; its parsers and `refuse_declared_oversized_body`
(`crm.api.parsers`) are unchanged.
"""

import errno
import io
from collections.abc import Callable, Iterable
from typing import Any

READ_SIZE = 64 * 1024

WSGIApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]


class IncompleteBody(ConnectionResetError):
    """The connection ended before the body's declared end (a server treats it as a client
    that reset the connection: gunicorn closes it and logs at debug level)."""


def declared_length(environ: dict[str, Any]) -> int | None:
    """`CONTENT_LENGTH` as a number; None when absent, blank or not a non-negative integer."""
    raw = (environ.get("CONTENT_LENGTH") or "").strip()
    if not raw.isdigit():
        return None
    return int(raw)


def read_up_to(stream, size: int) -> bytes:
    """Up to `size` bytes of `stream`, fewer only at its end."""
    parts: list[bytes] = []
    remaining = size
    while remaining > 0:
        chunk = stream.read(min(READ_SIZE, remaining))
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


class BufferedRequestBody:
    """WSGI middleware: hands the application the request body in memory, with its length."""

    def __init__(self, app: WSGIApp, *, limit: int, on_received: Callable[[], None]) -> None:
        self.app = app
        self.limit = limit
        self.on_received = on_received

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        length = declared_length(environ)
        stream = environ.get("wsgi.input")
        if stream is not None and length is not None and length <= self.limit:
            body = read_up_to(stream, length)
            if len(body) < length:
                raise IncompleteBody(
                    errno.ECONNRESET, f"the connection ended after {len(body)} of {length} bytes"
                )
            environ["wsgi.input"] = io.BytesIO(body)
        elif stream is not None and length is None and environ.get("wsgi.input_terminated"):
            body = read_up_to(stream, self.limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        self.on_received()
        return self.app(environ, start_response)
