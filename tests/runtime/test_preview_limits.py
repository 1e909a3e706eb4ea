"""The preview server under silent, stalled, TLS and too many clients: real sockets, http.client and urllib."""

import contextlib
import http.client
import socket
import ssl
import threading
import time
import types
import urllib.error
import urllib.request

import numpy as np
import pytest

from edgeseg.errors import ConfigError
from edgeseg.runtime.preview import BOUNDARY, PreviewLimits, PreviewSink


@contextlib.contextmanager
def _preview(size=(96, 128), fps=30.0, **limits):
    """A started preview fed frames by a thread at ``fps``; yields (sink, worst write() seconds list)."""
    sink = PreviewSink("http://127.0.0.1:0", log=None, **limits)
    sink.start(fps)
    # noise does not compress: large JPEGs fill a stalled viewer's socket buffers quickly
    image = np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8)
    stop, worst = threading.Event(), [0.0]

    def feed():
        while not stop.is_set():
            t = time.perf_counter()
            sink.write(types.SimpleNamespace(image=image))
            worst[0] = max(worst[0], time.perf_counter() - t)
            stop.wait(1.0 / fps)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        yield sink, worst
    finally:
        stop.set()
        feeder.join()
        sink.close()


def _address(sink):
    return sink.host, sink.port


def _timed_get(sink, path):
    t = time.perf_counter()
    conn = http.client.HTTPConnection(*_address(sink), timeout=5)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
    finally:
        conn.close()
    return r.status, body, time.perf_counter() - t


def _open_stream(sink, timeout=5):
    conn = http.client.HTTPConnection(*_address(sink), timeout=timeout)
    conn.request("GET", "/stream")
    return conn, conn.getresponse()


def _hang_up(conn, r):
    r.close()  # the response holds the socket too: closing only the connection would leave it open
    conn.close()


def _next_frame(r) -> bytes:
    """One JPEG part of the multipart stream."""
    assert r.readline() == f"--{BOUNDARY}\r\n".encode()
    length = None
    while (line := r.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    data = r.read(length + 2)
    assert data.startswith(b"\xff\xd8") and data.endswith(b"\r\n")
    return data[:-2]


def _wait(predicate, within_s):
    deadline = time.monotonic() + within_s
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    return predicate()


def _closed_by_peer(sock, within_s) -> bool:
    """True when the server closed ``sock`` (EOF or reset) within ``within_s``; data is drained."""
    sock.settimeout(within_s)
    try:
        while sock.recv(65536):
            pass
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False


def test_silent_connections_hold_no_thread_and_do_not_delay_clients():
    with _preview(header_timeout=0.5) as (sink, _):
        baseline = threading.active_count()
        silent = [socket.create_connection(_address(sink)) for _ in range(200)]
        try:
            time.sleep(0.1)  # the server has accepted them by now
            assert threading.active_count() <= baseline, "a silent connection holds a thread"
            for path, kind in (("/", b"<img"), ("/stats.json", b"{")):
                status, body, took = _timed_get(sink, path)
                assert status == 200 and kind in body
                assert took < 0.1, f"GET {path} took {took * 1000:.0f} ms with 200 silent connections open"
            conn, r = _open_stream(sink)
            frames = [_next_frame(r) for _ in range(2)]
            _hang_up(conn, r)
            assert all(len(f) > 1000 for f in frames)
            # past the header timeout every silent socket was closed by the server
            assert all(_closed_by_peer(s, 2.0) for s in silent)
            assert _wait(lambda: threading.active_count() <= baseline, 2.0), threading.enumerate()
        finally:
            for s in silent:
                s.close()


def test_a_trickled_request_is_cut_at_the_header_deadline():
    with _preview(header_timeout=0.5) as (sink, _):
        s = socket.create_connection(_address(sink))
        t = time.monotonic()
        s.sendall(b"GET / HTTP/1.0\r\nX-Slow: ")
        with contextlib.suppress(OSError):  # the server may reset us mid-trickle
            while time.monotonic() - t < 3.0:
                s.sendall(b"a")  # a byte each 50 ms: every read succeeds, the request never ends
                time.sleep(0.05)
                s.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    if s.recv(1) == b"":
                        break
                s.setblocking(True)
        s.setblocking(True)
        assert time.monotonic() - t < 1.5 and _closed_by_peer(s, 1.0)
        s.close()


def test_a_tls_handshake_is_refused_at_once():
    with _preview() as (sink, _):  # the default header timeout: the refusal must not wait for it
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        raw = socket.create_connection(_address(sink), timeout=3)
        t = time.monotonic()
        with pytest.raises((ssl.SSLError, ConnectionError)):  # not TimeoutError: the server answered
            ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        assert time.monotonic() - t < 1.0
        raw.close()
        # a real ClientHello holds a newline byte only by chance (then http.server's readline ended);
        # its first bytes alone never do
        hello = socket.create_connection(_address(sink))
        t = time.monotonic()
        hello.sendall(b"\x16\x03\x01\x00\xc8\x01\x00\x00\xc4\x03\x03")
        assert _closed_by_peer(hello, 3.0) and time.monotonic() - t < 1.0
        hello.close()
        assert _timed_get(sink, "/")[0] == 200


def test_a_malformed_request_is_answered_and_serving_goes_on():
    with _preview() as (sink, _):
        for line in (b"GET http://[ HTTP/1.0", b"GET", b"BREW /pot HTTP/1.0"):
            s = socket.create_connection(_address(sink), timeout=3)
            s.sendall(line + b"\r\n\r\n")
            assert s.recv(64)  # an error page ("GET" alone is HTTP/0.9: a body, no status line)
            s.close()
        assert _timed_get(sink, "/")[0] == 200


def _loopback6():
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _loopback6(), reason="no IPv6 loopback here")
def test_an_ipv6_preview_has_a_bracketed_url():
    sink = PreviewSink("http://[::1]:0", log=None)
    sink.start(30.0)
    try:
        assert sink.url.startswith("http://[::1]:")
        with urllib.request.urlopen(sink.url, timeout=5) as r:
            assert r.status == 200
    finally:
        sink.close()


def test_pending_connections_past_the_cap_close_the_oldest():
    with _preview(header_timeout=5.0, max_pending=4) as (sink, _):
        silent = []
        for _ in range(10):
            silent.append(socket.create_connection(_address(sink)))
            time.sleep(0.01)  # keep the order of arrival
        try:
            assert all(_closed_by_peer(s, 2.0) for s in silent[:6])
            assert not any(_closed_by_peer(s, 0.2) for s in silent[6:])
            assert _timed_get(sink, "/")[0] == 200
        finally:
            for s in silent:
                s.close()


def test_a_viewer_that_stops_reading_is_dropped_and_others_keep_getting_frames():
    with _preview(size=(480, 640), fps=20.0, write_timeout=0.5) as (sink, worst_write):
        good_conn, good = _open_stream(sink)
        received, stop = [], threading.Event()

        def watch():
            with contextlib.suppress(OSError):
                while not stop.is_set():
                    _next_frame(good)
                    received.append(time.monotonic())

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after a frame or two
        stalled.connect(_address(sink))
        stalled.sendall(b"GET /stream HTTP/1.0\r\n\r\n")  # and never reads
        try:
            assert _wait(lambda: sink.viewers == 2, 2.0)
            t = time.monotonic()
            assert _wait(lambda: sink.viewers == 1, 8.0), "the stalled viewer is still served"
            dropped_after = time.monotonic() - t
            during = [x for x in received if t <= x <= t + dropped_after]
            assert len(during) >= 3, f"the other viewer got {len(during)} frames in {dropped_after:.1f} s"
            assert _closed_by_peer(stalled, 5.0)
            assert worst_write[0] < 0.1, "a viewer blocked the pipeline's write()"
            # its slot is free again
            conn, r = _open_stream(sink)
            _next_frame(r)
            _hang_up(conn, r)
        finally:
            stop.set()
            watcher.join(5)  # frames keep coming, so it sees stop within one
            _hang_up(good_conn, good)
            stalled.close()


def test_viewers_past_the_cap_get_503_saying_the_cap():
    with _preview(max_viewers=2) as (sink, _):
        viewers = [_open_stream(sink) for _ in range(2)]
        for _, r in viewers:
            _next_frame(r)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(sink.url + "stream", timeout=5)
        body = info.value.read().decode()
        assert info.value.code == 503 and "at most 2 viewers" in body and len(body) < 300
        assert _timed_get(sink, "/stats.json")[0] == 200  # other pages are not capped by it
        _hang_up(*viewers.pop())
        assert _wait(lambda: sink.viewers == 1, 3.0)
        conn, r = _open_stream(sink)
        assert r.status == 200 and _next_frame(r)
        _hang_up(conn, r)
        _hang_up(*viewers[0])


def test_requests_past_the_cap_get_503():
    # no frame is written: /snapshot.jpg waits up to 2 s for one, holding its request slot meanwhile
    sink = PreviewSink("http://127.0.0.1:0", log=None, max_requests=1)
    sink.start(30.0)
    try:
        waiting = threading.Thread(target=lambda: _timed_get(sink, "/snapshot.jpg"), daemon=True)
        waiting.start()
        time.sleep(0.3)
        status, body, _ = _timed_get(sink, "/")
        assert status == 503 and b"max_requests=1" in body
        waiting.join(5)
        assert _timed_get(sink, "/")[0] == 200
    finally:
        sink.close()


def test_close_ends_every_server_thread_at_once():
    baseline = threading.active_count()
    stalled = []
    with _preview(size=(480, 640), write_timeout=30.0) as (sink, _):
        for _ in range(3):  # viewers that never read: their threads sit in a 30 s write
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(_address(sink))
            s.sendall(b"GET /stream HTTP/1.0\r\n\r\n")
            stalled.append(s)
        assert _wait(lambda: sink.viewers == 3, 2.0)
        time.sleep(1.0)  # long enough to fill their buffers
        t = time.monotonic()
    assert _wait(lambda: threading.active_count() <= baseline, 2.0), threading.enumerate()
    assert time.monotonic() - t < 2.0
    for s in stalled:
        s.close()


@pytest.mark.parametrize("field, value", [("header_timeout", 0), ("header_timeout", float("nan")),
                                          ("write_timeout", -1.0), ("write_timeout", float("inf")),
                                          ("max_viewers", 0), ("max_viewers", 2.5), ("max_requests", 0),
                                          ("max_pending", 0), ("backlog", 0), ("max_viewers", True)])
def test_limits_refuse_bad_values_before_binding(field, value):
    with pytest.raises(ConfigError) as info:
        PreviewSink("http://127.0.0.1:0", log=None, **{field: value})
    assert field in str(info.value) and "expected" in str(info.value)


def test_limits_defaults_and_unknown_names():
    limits = PreviewLimits()
    assert (limits.header_timeout, limits.write_timeout, limits.max_viewers) == (5.0, 10.0, 8)
    assert limits.backlog >= 128
    with pytest.raises(TypeError):
        PreviewSink("http://127.0.0.1:0", log=None, max_viewer=3)


def test_viewers_that_left_while_no_frame_came_free_their_slots():
    # the camera is reconnecting: no frame is written, so a viewer's thread never writes; closed tabs
    # must still be noticed, or a few reloads during the outage lock every viewer out with 503
    sink = PreviewSink("http://127.0.0.1:0", log=None, max_viewers=2)
    sink.start(30.0)
    try:
        for _ in range(3):  # reloads: each round takes every slot and leaves
            viewers = [_open_stream(sink) for _ in range(2)]
            assert all(r.status == 200 for _, r in viewers) and _wait(lambda: sink.viewers == 2, 2.0)
            for conn, r in viewers:
                _hang_up(conn, r)
            t = time.monotonic()
            assert _wait(lambda: sink.viewers == 0, 2.5), f"{sink.viewers} closed viewers still hold a slot"
        conn, r = _open_stream(sink)
        assert r.status == 200 and time.monotonic() - t < 3.0
        _hang_up(conn, r)
    finally:
        sink.close()


def test_a_viewer_gets_the_last_frame_again_while_the_stream_stalls():
    # a keep-alive: the same part again, which MJPEG clients show as an unchanged picture
    sink = PreviewSink("http://127.0.0.1:0", log=None)
    sink.start(30.0)
    try:
        sink.write(types.SimpleNamespace(image=np.full((32, 48, 3), 90, np.uint8)))
        conn, r = _open_stream(sink)
        t = time.monotonic()
        first, again = _next_frame(r), _next_frame(r)  # no frame written in between
        assert first == again and 0.5 < time.monotonic() - t < 4.0
        _hang_up(conn, r)
    finally:
        sink.close()


def test_a_request_after_blank_lines_is_answered():
    # RFC 9112 2.2: a server ignores empty lines before the request line
    with _preview() as (sink, _):
        for blank in (b"\r\n", b"\r\n\r\n", b"\n"):
            s = socket.create_connection(_address(sink), timeout=5)
            s.sendall(blank + b"GET / HTTP/1.0\r\n\r\n")
            reply = b""
            while chunk := s.recv(65536):
                reply += chunk
            s.close()
            assert reply.startswith(b"HTTP/1.0 200") and b'<img src="/stream"' in reply, (blank, reply[:80])


_OUT_OF_FDS = r"""
import os, resource, sys, time, urllib.request
from edgeseg.runtime.preview import PreviewSink
sink = PreviewSink("http://127.0.0.1:0", log=None)
sink.start(30.0)
urllib.request.urlopen(sink.url + "stats.json", timeout=5).read()  # its loop is up and has served
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(int(n) for n in os.listdir("/proc/self/fd")) + 8, hard))
filler = []
try:
    while True:
        filler.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass  # not one descriptor left for accept()
print(sink.port, flush=True)
sys.stdin.readline()  # a client has connected
time.sleep(0.3)
t = time.process_time()
time.sleep(1.0)
print(round(time.process_time() - t, 3), flush=True)
for fd in filler:
    os.close(fd)
sys.stdin.readline()
sink.close()
"""


def test_running_out_of_descriptors_does_not_spin_and_serving_resumes():
    import subprocess
    import sys
    child = subprocess.Popen([sys.executable, "-c", _OUT_OF_FDS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
    try:
        port = int(child.stdout.readline())
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET /stats.json HTTP/1.0\r\n\r\n")
        child.stdin.write("connected\n")
        child.stdin.flush()
        cpu_s = float(child.stdout.readline())
        assert cpu_s < 0.25, f"the server loop used {cpu_s:.2f} s of CPU in 1 s with no descriptor to accept with"
        reply = client.recv(64)  # once descriptors are free again, the waiting client is answered
        assert reply.startswith(b"HTTP/1.0 200"), reply
        client.close()
        child.stdin.write("done\n")
        child.stdin.flush()
        assert child.wait(10) == 0
    finally:
        child.kill()
        child.wait()
