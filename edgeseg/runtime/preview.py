"""``http://127.0.0.1:PORT``: an MJPEG preview page with live statistics, standard library only.

``/`` is a page with ``<img src=/stream>`` and stats polled from ``/stats.json`` (output fps
against the network's, and with motion on the frames carried and the fraction warped); ``/stream`` is
``multipart/x-mixed-replace`` JPEG; ``/snapshot.jpg`` the newest frame. It binds to loopback
unless the URI names another address (``http://0.0.0.0:8080`` to share it on the network);
port 0 picks a free one (``sink.url`` says which). Frames are JPEG-encoded only when a client
asks, once per frame however many watch, so an unwatched preview costs the pipeline nothing;
at the quality of the options (``SinkOptions(jpeg_quality=80)``, the default).

Silent, slow or stalled clients hold no thread: one loop reads every request line and headers
(``header_timeout`` from the connection to the blank line after them): only a complete request gets a
thread; a viewer that stops reading is dropped after ``write_timeout``; past ``max_viewers``
``/stream`` answers 503 (see :class:`PreviewLimits`, keyword arguments of the sink). While no
new frame comes (a camera reconnecting) a viewer's last frame is sent again every ``KEEPALIVE_S``
and a viewer that hung up is noticed within half a second, so its slot is free again.

>>> s = PreviewSink("http://127.0.0.1:0", log=None, options=SinkOptions(jpeg_quality=60))
>>> s.start(30.0); s.url.startswith("http://127.0.0.1:"), s.quality
(True, 60)
>>> s.close()
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import io
import json
import math
import numbers
import selectors
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

import cv2

from ..errors import ConfigError
from ..uri import parse_host_port
from .options import SinkOptions
from .sink_base import Sink, SinkError

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>edgeseg preview</title>
<style>body{font-family:sans-serif;background:#111;color:#eee;margin:16px}
img{max-width:100%;border:1px solid #444}table{border-collapse:collapse;margin-top:8px}
td{padding:2px 10px;border-bottom:1px solid #333}</style></head>
<body><h2>edgeseg live preview</h2>
<img src="/stream" alt="segmentation stream">
<div id="summary">waiting for statistics...</div><table id="stages"></table>
<script>
async function poll() {
  try {
    const s = await (await fetch('/stats.json')).json();
    // output fps against the network's: equal without motion; with it output follows the camera
    let motion = '';
    if (s.motion) {
      const v = s.values || {}, carried = (v.carried || {}).p50 || 0, warped = (v.warped || {}).mean || 0;
      motion = ` | motion ${s.flow}: carried ${carried} frames, ${(100 * warped).toFixed(0)}% warped, ` +
               `flow errors ${s.flow_errors}`;
    }
    document.getElementById('summary').textContent =
      `${s.frames_out} frames | output ${s.fps_recent.toFixed(1)} fps | ` +
      `network ${(s.network_fps_recent || 0).toFixed(1)} fps${motion} | dropped ${s.dropped} | ` +
      `bad ${s.bad_frames} | reconnects ${s.reconnects} | sink errors ${s.sink_errors}`;
    let rows = '<tr><td>stage</td><td>p50 ms</td><td>p99 ms</td></tr>';
    for (const [k, v] of Object.entries(s.stages || {}))
      rows += `<tr><td>${k}</td><td>${v.p50_ms.toFixed(1)}</td><td>${v.p99_ms.toFixed(1)}</td></tr>`;
    document.getElementById('stages').innerHTML = rows;
  } catch (e) { document.getElementById('summary').textContent = 'stream ended'; }
  setTimeout(poll, 1000);
}
poll();
</script></body></html>
"""
BOUNDARY = "edgesegframe"


MAX_HEAD = 64 * 1024  # http.server's own limit for one line; a browser sends a few KiB of headers
OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
ACCEPT_PAUSE_S = 0.1  # the listener rests this long when no descriptor is to be had
KEEPALIVE_S = 1.5  # a stalled /stream re-sends its last frame this often (the viewer's liveness check)


@dataclass(frozen=True)
class PreviewLimits:
    """What clients may hold of the preview server: keyword arguments of :class:`PreviewSink`.

    ``header_timeout``: seconds from a connection's arrival to the end of its headers (a silent
    socket, a TLS client, a request trickled a byte at a time is closed then); ``write_timeout``:
    seconds a write to a client (a ``/stream`` frame) may take before it is dropped;
    ``max_viewers``: ``/stream`` clients at once, 503 past it; ``max_requests``: other requests
    answered at once, 503 past it; ``max_pending``: connections still sending their headers, the
    oldest closed past it; ``backlog``: the kernel's queue of connections not yet accepted.

    >>> PreviewLimits(max_viewers=2).max_viewers, PreviewLimits().header_timeout
    (2, 5.0)
    """

    header_timeout: float = 5.0
    write_timeout: float = 10.0
    max_viewers: int = 8
    max_requests: int = 32
    max_pending: int = 256
    backlog: int = 128

    def __post_init__(self):
        for name in ("header_timeout", "write_timeout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < math.inf:
                raise ConfigError(f"preview {name} must be a finite number of seconds > 0", expected="e.g. 5.0",
                                  got=repr(value), fix=f"PreviewSink(uri, {name}={getattr(PreviewLimits, name)})")
        for name in ("max_viewers", "max_requests", "max_pending", "backlog"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ConfigError(f"preview {name} must be a whole number >= 1", expected="an int >= 1",
                                  got=repr(value), fix=f"PreviewSink(uri, {name}={getattr(PreviewLimits, name)})")


class PreviewServer:
    """HTTP/1.0, one request per connection. One thread (``preview-http``) accepts connections and
    reads their headers without blocking, so a connection that sends nothing costs a socket, not
    a thread; a complete request gets a thread running ``handler(sock, address, server, head)``
    with ``write_timeout`` on the socket. ``limits`` are :class:`PreviewLimits`' fields."""

    def __init__(self, address: tuple[str, int], handler, **limits):
        self.limits = PreviewLimits(**limits)
        self._handler = handler
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.create_server(address, family=family, backlog=self.limits.backlog)
        self.socket.setblocking(False)
        self.server_address = self.socket.getsockname()
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._active: dict[socket.socket, str] = {}  # socket -> "viewer" | "request", guarded by _lock
        self._stopping = False
        self._thread = None

    @property
    def viewers(self) -> int:
        with self._lock:
            return sum(kind == "viewer" for kind in self._active.values())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="preview-http", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join()
        for sock in (self.socket, self._wake_r, self._wake_w):
            sock.close()
        with self._lock:  # a viewer's write fails at once instead of after write_timeout
            for sock in self._active:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.socket, selectors.EVENT_READ)
        sel.register(self._wake_r, selectors.EVENT_READ)
        # socket -> [deadline, bytes so far, address]; insertion order is arrival order, so the
        # first entry is always the next to expire and the one to drop when full
        pending: dict[socket.socket, list] = {}
        resume = None  # when the listener, resting for want of descriptors, is watched again
        try:
            while not self._stopping:
                oldest = next(iter(pending.values()), None)
                due = min((t for t in (oldest and oldest[0], resume) if t is not None), default=None)
                for key, _ in sel.select(None if due is None else max(0.0, due - time.monotonic())):
                    if key.fileobj is self.socket:
                        if not self._accept(sel, pending):
                            # it stays readable while the connection waits: watched, it would spin
                            sel.unregister(self.socket)
                            resume = time.monotonic() + ACCEPT_PAUSE_S
                    elif key.fileobj is not self._wake_r:
                        self._read(sel, pending, key.fileobj)
                now = time.monotonic()
                while pending and next(iter(pending.values()))[0] <= now:
                    _drop(sel, pending, next(iter(pending)))
                if resume is not None and now >= resume:
                    sel.register(self.socket, selectors.EVENT_READ)
                    resume = None
        finally:
            for sock in list(pending):
                _drop(sel, pending, sock)
            sel.close()

    def _accept(self, sel, pending) -> bool:
        """Accept what is waiting; False when out of descriptors with no unfinished request to
        close for room (the viewers and requests being served hold them)."""
        while True:
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return True
            except OSError as exc:
                if exc.errno not in OUT_OF_FDS:
                    return True  # that connection failed (reset before it was accepted): the next one may not
                if not pending:
                    return False
                _drop(sel, pending, next(iter(pending)))  # the oldest unfinished request makes room
                return True
            sock.setblocking(False)
            if len(pending) >= self.limits.max_pending:
                _drop(sel, pending, next(iter(pending)))
            pending[sock] = [time.monotonic() + self.limits.header_timeout, bytearray(), address]
            sel.register(sock, selectors.EVENT_READ)

    def _read(self, sel, pending, sock) -> None:
        try:
            data = sock.recv(8192)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        buf = pending[sock][1]
        buf += data
        # empty lines before the request line are ignored (RFC 9112 2.2), here and by the handler
        head = buf.lstrip(b"\r\n")
        # gone, not HTTP (a TLS ClientHello starts with 0x16), or headers larger than any browser's
        if not data or (head and not head[:1].isalpha()) or len(buf) > MAX_HEAD:
            _drop(sel, pending, sock)
        elif b"\n\r\n" in head or b"\n\n" in head:
            address = pending.pop(sock)[2]
            sel.unregister(sock)
            self._dispatch(sock, address, bytes(head))

    def _dispatch(self, sock, address, head: bytes) -> None:
        words = head.split(b"\n", 1)[0].split()
        viewer = len(words) >= 2 and words[0] == b"GET" and _route(words[1].decode("latin-1")) == "/stream"
        if viewer:
            kind, limit = "viewer", self.limits.max_viewers
            why = f"this preview serves at most {limit} viewers of /stream at once (max_viewers={limit})"
        else:
            kind, limit = "request", self.limits.max_requests
            why = f"this preview is answering {limit} requests at once already (max_requests={limit})"
        with self._lock:
            full = sum(k == kind for k in self._active.values()) >= limit
            if not full:
                self._active[sock] = kind
        if full:
            _refuse(sock, why + "; close a viewer or retry in a moment\n")
            return
        sock.setblocking(True)
        sock.settimeout(self.limits.write_timeout)
        try:
            threading.Thread(target=self._run, args=(sock, address, head), name=f"preview-http-{kind}",
                             daemon=True).start()
        except RuntimeError:  # no thread to be had: the client is told, not left hanging
            with self._lock:
                del self._active[sock]
            _refuse(sock, "this preview cannot start a thread for the request; retry in a moment\n")

    def _run(self, sock, address, head: bytes) -> None:
        try:
            self._handler(sock, address, self, head)
        except OSError:
            pass  # the client left, or stopped reading for write_timeout
        finally:
            with self._lock:  # under the lock, so close() never shuts down a reused descriptor
                del self._active[sock]
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_WR)
                sock.close()


def _route(target: str) -> str:
    """The path of a request target; "" for one that is not a URL at all."""
    try:
        return urlsplit(target).path
    except ValueError:  # such as "http://[" (an unclosed IPv6 address)
        return ""


def _hung_up(sock) -> bool:
    """Whether the client closed its end (EOF waiting to be read, or a reset); a viewer sends
    nothing after its request, so anything readable is most likely that. A non-blocking peek,
    not select(), which fails on descriptors past FD_SETSIZE (1024)."""
    timeout = sock.gettimeout()
    try:
        sock.settimeout(0)
        return sock.recv(1, socket.MSG_PEEK) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True
    finally:
        with contextlib.suppress(OSError):
            sock.settimeout(timeout)


def _drop(sel, pending, sock) -> None:
    del pending[sock]
    sel.unregister(sock)
    sock.close()


def _refuse(sock, text: str) -> None:
    """503 on a socket whose send buffer is empty (nothing was sent on it yet), so one send fits."""
    body = text.encode()
    head = (f"HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\nRetry-After: 2\r\nCache-Control: no-store\r\n\r\n")
    with contextlib.suppress(OSError):
        sock.setblocking(False)
        sock.send(head.encode() + body)
    sock.close()


class PreviewSink(Sink):
    scheme = "http"

    def __init__(self, uri: str, log=print, options: SinkOptions | None = None, **limits):
        super().__init__(uri, log, options)
        self.limits = PreviewLimits(**limits)  # refused here, before a port is bound
        host, self.port = parse_host_port(uri, default_port=8080, what="http:// preview sink")
        # "http://:8080" and "localhost" mean loopback; other interfaces only when named.
        self.host = host or "127.0.0.1"
        if self.host == "localhost":
            self.host = "127.0.0.1"
        self.quality = self.options.jpeg_quality
        self._cond = threading.Condition()
        self._image, self._index = None, -1
        self._jpeg, self._jpeg_index = b"", -2
        self._closed = False
        self.server = None

    def start(self, fps: float, stats=None) -> None:
        super().start(fps, stats)
        if self.server is not None:
            return
        try:
            self.server = PreviewServer((self.host, self.port), _handler(self), **dataclasses.asdict(self.limits))
        except OSError as exc:
            raise SinkError("cannot start the preview server", path=f"{self.host}:{self.port}",
                            got=str(exc), fix="pick another port (or port 0 for any free one)") from None
        self.port = self.server.server_address[1]
        self.server.start()
        if self.log:
            self.log(f"sink http: preview at {self.url}")

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def viewers(self) -> int:
        """``/stream`` clients being served now."""
        return self.server.viewers if self.server is not None else 0

    def write(self, result) -> None:
        with self._cond:
            self._image, self._index = result.image, self._index + 1
            self._cond.notify_all()

    def jpeg(self, wait_for: int | None = None, timeout: float = 2.0) -> tuple[bytes, int]:
        """The newest frame as JPEG and its number; with ``wait_for``, wait for a newer one."""
        with self._cond:
            if wait_for is not None:
                self._cond.wait_for(lambda: self._index > wait_for or self._closed, timeout)
            if self._image is None:
                return b"", -1
            if self._jpeg_index != self._index:
                ok, buf = cv2.imencode(".jpg", self._image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                self._jpeg, self._jpeg_index = (buf.tobytes() if ok else b""), self._index
            return self._jpeg, self._index

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self.server is not None:
            self.server.close()
            self.server = None


def _handler(sink: PreviewSink):
    class Handler(BaseHTTPRequestHandler):
        def __init__(self, sock, address, server, head: bytes):
            self._head = head
            super().__init__(sock, address, server)

        def setup(self):
            super().setup()
            # the server already read the request line and headers off the socket
            self.rfile.close()
            self.rfile = io.BytesIO(self._head)

        def log_message(self, *args):  # the preview must not flood the stream's log
            pass

        def _send(self, body: bytes, ctype: str, code: int = 200) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # http.server's name
            route = ROUTES.get(_route(self.path))
            if route is None:
                self._send(b"not found", "text/plain", 404)
            else:
                route(self)

        def page(self):
            self._send(PAGE.encode(), "text/html; charset=utf-8")

        def stats(self):
            self._send(json.dumps(sink.stats(), default=str).encode(), "application/json")

        def snapshot(self):
            data, _ = sink.jpeg(wait_for=-1)
            if data:
                self._send(data, "image/jpeg")
            else:
                self._send(b"no frame yet", "text/plain", 503)

        def stream(self):
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            last, sent = -1, time.monotonic()
            try:
                while not sink._closed:
                    data, index = sink.jpeg(wait_for=last, timeout=0.5)
                    if index == last or not data:
                        # no new frame (a camera reconnecting): nothing is written, so a closed tab
                        # is noticed only by looking, and a vanished one by the keep-alive failing
                        if _hung_up(self.connection):
                            return
                        if not data or time.monotonic() - sent < KEEPALIVE_S:
                            continue
                    last, sent = index, time.monotonic()
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
            except OSError:
                pass  # the viewer closed the tab, or stopped reading for write_timeout

    ROUTES = {"/": Handler.page, "/index.html": Handler.page, "/stats.json": Handler.stats,
              "/snapshot.jpg": Handler.snapshot, "/stream": Handler.stream}
    return Handler
