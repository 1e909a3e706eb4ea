"""The CUDA layer on a real GPU through cuda-python, as the TensorRT backend uses it: device query,
page-locked host and device buffers, asynchronous copies on streams, events and timing, use from
a worker thread, and release with no leak over 1,000 open/close cycles.

Marked ``gpu``; every test skips with the reason where cuda-python or a GPU is absent.
``benchmarks/gpu_check.sh`` runs them on the first NVIDIA machine without TensorRT.
"""

import os
import threading

import numpy as np
import pytest

from edgeseg.backends.tensorrt.cuda import CudaError, gpu_info, load_cuda
from edgeseg.backends.tensorrt.cuda.cuda_python import cuda_call, import_cudart

pytestmark = pytest.mark.gpu

MB = 1 << 20


@pytest.fixture
def cudart():
    try:
        return import_cudart()
    except ImportError:
        pytest.skip("cuda-python is not installed (pip install cuda-python)")


@pytest.fixture
def cuda(cudart):
    try:
        api = load_cuda("cuda-python")
    except CudaError as exc:
        pytest.skip(f"no usable GPU: {str(exc).splitlines()[0]}")
    yield api
    api.close()


def _memory_type(cudart, ptr: int):
    attrs = cuda_call(cudart, cudart.cudaPointerGetAttributes(ptr), "cudaPointerGetAttributes")
    return attrs.type


def _free_device_bytes(cudart) -> int:
    free, _total = cuda_call(cudart, cudart.cudaMemGetInfo(), "cudaMemGetInfo")
    return int(free)


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None


def test_device_query_agrees_with_gpu_info(cuda):
    name, (major, minor) = cuda.device_info()
    assert name and name == name.strip()
    assert major >= 5 and minor >= 0  # TensorRT 10 needs Maxwell or newer
    assert gpu_info(0).name == name and gpu_info(0).compute_capability == f"{major}.{minor}"


def test_pinned_host_buffer_is_page_locked_and_writable(cuda, cudart):
    with cuda.activate():
        host = cuda.host_buffer((2, 3, 64, 64), np.float32)
        try:
            assert host.array.shape == (2, 3, 64, 64) and host.array.dtype == np.float32
            assert host.ptr == host.array.ctypes.data and host.nbytes == 2 * 3 * 64 * 64 * 4
            host.array[:] = 7.5
            assert float(host.array.sum()) == 7.5 * host.array.size
            assert _memory_type(cudart, host.ptr) == cudart.cudaMemoryType.cudaMemoryTypeHost
        finally:
            host.free()
        assert host.array is None  # no view may outlive the memory
        host.free()  # a second free is a no-op


def test_device_buffer_is_device_memory(cuda, cudart):
    with cuda.activate():
        dev = cuda.device_buffer(3 * MB)
        try:
            assert dev.nbytes == 3 * MB and dev.ptr != 0
            assert _memory_type(cudart, dev.ptr) == cudart.cudaMemoryType.cudaMemoryTypeDevice
        finally:
            dev.free()
        dev.free()


def test_async_round_trip_on_a_stream_keeps_order(cuda):
    with cuda.activate():
        stream = cuda.stream()
        a, b, out = (cuda.host_buffer((4, 3, 32, 48), np.float32) for _ in range(3))
        dev = cuda.device_buffer(a.nbytes)
        try:
            a.array[:] = np.arange(a.array.size, dtype=np.float32).reshape(a.array.shape)
            b.array[:] = -1.0
            # queued in order on one stream: a -> dev -> out, then b -> dev; out must hold a
            cuda.htod_async(dev, a, stream)
            cuda.dtoh_async(out, dev, stream)
            cuda.htod_async(dev, b, stream)
            stream.synchronize()
            np.testing.assert_array_equal(out.array, a.array)
            cuda.dtoh_async(out, dev, stream)
            stream.synchronize()
            np.testing.assert_array_equal(out.array, b.array)
            with pytest.raises(CudaError, match="larger than its destination"):
                cuda.htod_async(cuda.device_buffer(16), a, stream)
        finally:
            for buf in (a, b, out, dev):
                buf.free()
            stream.close()


def test_events_time_the_copies_on_the_stream(cuda):
    with cuda.activate():
        stream, start, end = cuda.stream(), cuda.event(), cuda.event()
        host = cuda.host_buffer((64 * MB // 4,), np.float32)
        dev = cuda.device_buffer(host.nbytes)
        try:
            start.record(stream)
            for _ in range(4):
                cuda.htod_async(dev, host, stream)
            end.record(stream)
            end.synchronize()
            ms = end.elapsed_ms(start)
            assert np.isfinite(ms) and ms > 0
            # 256 MB cannot cross any host-device link at 2 TB/s: the copies really ran
            assert ms >= 4 * host.nbytes / 2e12 * 1e3
        finally:
            host.free()
            dev.free()
            start.close()
            end.close()
            stream.close()


def _worker_round_trip(cuda, stream, host_in, dev, host_out, rounds, results, key):
    try:
        with cuda.activate():
            for r in range(rounds):
                host_in.array[:] = r + key
                cuda.htod_async(dev, host_in, stream)
                cuda.dtoh_async(host_out, dev, stream)
                stream.synchronize()
                if not np.all(host_out.array == r + key):
                    raise AssertionError(f"worker {key} round {r}: wrong data back")
        results[key] = "ok"
    except BaseException as exc:  # noqa: BLE001 - reported to the main thread
        results[key] = exc


def test_buffers_opened_on_one_thread_run_on_worker_threads(cuda):
    """As the runner does: the API, streams and buffers are made when the model opens; the
    stream's inference thread (two here, side by side) queues copies and waits on them."""
    slots, results = [], {}
    with cuda.activate():
        for _ in range(2):
            host_in = cuda.host_buffer((1, 3, 256, 256), np.float32)
            slots.append((cuda.stream(), host_in, cuda.device_buffer(host_in.nbytes),
                          cuda.host_buffer((1, 3, 256, 256), np.float32)))
    try:
        threads = [threading.Thread(target=_worker_round_trip, args=(cuda, *slot, 50, results, k))
                   for k, slot in enumerate(slots)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert results == {0: "ok", 1: "ok"}, results
    finally:
        with cuda.activate():
            for stream, *bufs in slots:
                for buf in bufs:
                    buf.free()
                stream.close()


def test_no_leak_over_1000_open_close_cycles(cudart, cuda):
    def cycle():
        api = load_cuda("cuda-python")
        try:
            with api.activate():
                stream, start, end = api.stream(), api.event(), api.event()
                host = api.host_buffer((MB // 4,), np.float32)
                dev = api.device_buffer(host.nbytes)
                start.record(stream)
                api.htod_async(dev, host, stream)
                api.dtoh_async(host, dev, stream)
                end.record(stream)
                end.synchronize()
                assert end.elapsed_ms(start) >= 0
                host.free()
                dev.free()
                start.close()
                end.close()
                stream.close()
        finally:
            api.close()

    for _ in range(5):  # the first cycles grow CUDA's own pools; measure after them
        cycle()
    free_before, rss_before = _free_device_bytes(cudart), _rss_bytes()
    for _ in range(1000):
        cycle()
    leaked_device = free_before - _free_device_bytes(cudart)
    # 1 MB device + 1 MB pinned host per cycle: a leak would show as ~1 GB each
    assert leaked_device < 64 * MB, f"device memory dropped by {leaked_device / MB:.0f} MB over 1000 cycles"
    if rss_before is not None:
        grown = _rss_bytes() - rss_before
        assert grown < 64 * MB, f"resident host memory grew by {grown / MB:.0f} MB over 1000 cycles"
