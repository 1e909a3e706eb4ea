"""``http://127.0.0.1:PORT``: an MJPEG preview page with live statistics, standard library only.

``/`` is a page with ``<img src=/stream>`` and stats polled from ``/stats.json``; ``/stream`` is
``multipart/x-mixed-replace`` JPEG; ``/snapshot.jpg`` the newest frame. It binds to loopback
unless the URI names another address (``http://0.0.0.0:8080`` to share it on the network);
port 0 picks a free one (``sink.url`` says which). Frames are JPEG-encoded only when a client
asks, once per frame however many watch, so an unwatched preview costs the pipeline nothing;
at the quality of the options (``SinkOptions(jpeg_quality=80)``, the default).

>>> s = PreviewSink("http://127.0.0.1:0", log=None, options=SinkOptions(jpeg_quality=60))
>>> s.start(30.0); s.url.startswith("http://127.0.0.1:"), s.quality
(True, 60)
>>> s.close()
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import cv2

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
    document.getElementById('summary').textContent =
      `${s.frames_out} frames | ${s.fps_recent.toFixed(1)} fps | dropped ${s.dropped} | ` +
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


class PreviewSink(Sink):
    scheme = "http"

    def __init__(self, uri: str, log=print, options: SinkOptions | None = None):
        super().__init__(uri, log, options)
        parts = urlsplit(uri)
        # "http://:8080" and "localhost" mean loopback; other interfaces only when named.
        self.host = parts.hostname or "127.0.0.1"
        if self.host == "localhost":
            self.host = "127.0.0.1"
        self.port = parts.port if parts.port is not None else 8080
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
            self.server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        except OSError as exc:
            raise SinkError("cannot start the preview server", path=f"{self.host}:{self.port}",
                            got=str(exc), fix="pick another port (or port 0 for any free one)") from None
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, name="preview-http", daemon=True).start()
        if self.log:
            self.log(f"sink http: preview at {self.url}")

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

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
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _handler(sink: PreviewSink):
    class Handler(BaseHTTPRequestHandler):
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
            route = ROUTES.get(urlsplit(self.path).path)
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
            last = -1
            try:
                while not sink._closed:
                    data, index = sink.jpeg(wait_for=last, timeout=1.0)
                    if not data or index == last:
                        continue
                    last = index
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the viewer closed the tab

    ROUTES = {"/": Handler.page, "/index.html": Handler.page, "/stats.json": Handler.stats,
              "/snapshot.jpg": Handler.snapshot, "/stream": Handler.stream}
    return Handler
