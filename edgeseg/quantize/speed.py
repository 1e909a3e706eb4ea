"""FP32 against INT8 on the machine at hand, measured the way INT8 targets are judged: one
process, the two models timed in turn (same threads), in rounds; the figure is the median of the
per-round ratios, so a shared machine's noise slows both alike.

Each round times each model in blocks of back-to-back calls, the way a camera loop calls its
model, after ``settle`` seconds idle and an untimed call: the models in turn, then in reverse
turn, so a drift within the round slows all alike. Alternating call by call measured
something else: after a call, ONNX Runtime's worker threads spin for tens of milliseconds
(``session.intra_op.allow_spinning``, on by default), and on 2 cores the other session's
spinning thread ran against every call: deeplabv3_mobilenet_v3_large at 512x512 took 77 ms FP32
and 45 ms INT8 that way (1.70x) against 40 and 21 ms in blocks (1.83x), the same as each model
timed alone in its own process (38 and 21 ms, 1.84x; AMD EPYC, AVX-512 VNNI, 2 cores).

The verdict says which file to deploy here: INT8 when it is at least as fast as FP32
(``speedup >= 1.0``), else FP32, in one line with both figures and the CPU.

>>> import time
>>> fast, slow = (lambda x: time.sleep(0.001)), (lambda x: time.sleep(0.003))
>>> c = compare_interleaved(slow, fast, None, rounds=3, calls=2, warmup=0, settle=0)
>>> c.faster, c.speedup > 1.5, len(c.round_speedups)
('int8', True, 3)
>>> slower = compare_interleaved(fast, slow, None, rounds=1, calls=2, warmup=0, settle=0)
>>> slower.verdict("m.onnx").startswith("INT8 is not faster")
True
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..bench.latency import LatencyStats, stats_from_times
from ..utils.progress import Progress

MIN_SPEEDUP = 1.0  # INT8 is recommended when it is at least as fast as FP32 (then it is also 4x smaller)


@dataclass(frozen=True)
class SpeedComparison:
    fp32: LatencyStats
    int8: LatencyStats
    speedup: float                      # median over rounds of FP32 p50 / INT8 p50
    round_speedups: list = field(default_factory=list)
    rounds: int = 0
    calls: int = 0                      # timed calls of each model per round
    threads: int | None = None
    cpu: str = "this machine"

    @property
    def faster(self) -> str:
        return "int8" if self.speedup >= MIN_SPEEDUP else "fp32"

    def figures(self) -> str:
        return (f"FP32 {self.fp32.p50_ms:.2f} ms, INT8 {self.int8.p50_ms:.2f} ms ({self.speedup:.2f}x, "
                f"median of {self.rounds} interleaved rounds on {self.cpu}, "
                f"{self.threads or 'default'} threads)")

    def verdict(self, fp32_model: str = "the FP32 model") -> str:
        """One line: which file to deploy on this machine, with both figures."""
        if self.faster == "int8":
            return f"INT8 is {self.speedup:.2f}x FP32 on this machine: {self.figures()}"
        return (f"INT8 is not faster on this machine: {self.figures()}; "
                f"use the FP32 model {fp32_model} instead")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(fp32=self.fp32.to_dict(), int8=self.int8.to_dict(), faster=self.faster)
        return d


# Idle before each timed block: ONNX Runtime's worker threads spun for up to ~60 ms after a call
# here (2 cores, ORT 1.32); a model started sooner shares its cores with them.
SETTLE_S = 0.1


def interleaved_times(fns, x, rounds: int, calls: int, warmup: int = 2, gap: float = 0.0,
                      desc: str = "interleaved", file=None, settle: float = SETTLE_S) -> list:
    """``times[round][i]``: the ``calls`` per-call times (ms) of ``fns[i]``. Each round times the
    functions in turn and then in reverse turn, each time as a block of half the calls after
    ``settle`` seconds idle and one untimed call, so a drift in the machine's speed within the
    round hits every function alike (see the module docstring for why not call by call).

    ``gap`` seconds of idle before each timed call as well, for callables whose threads spin
    between their own calls in a way a camera loop would not see (none of ONNX Runtime's).

    >>> order = []
    >>> t = interleaved_times([lambda x: order.append("a"), lambda x: order.append("b")], None,
    ...                       rounds=2, calls=3, warmup=1, settle=0)
    >>> "".join(order), [len(r[0]) for r in t]
    ('abaaabbbbbaaaaabbbbbaa', [3, 3])
    """
    for _ in range(warmup):
        for fn in fns:
            fn(x)
    out = []
    halves = [(list(enumerate(fns)), calls - calls // 2), (list(enumerate(fns))[::-1], calls // 2)]
    with Progress(rounds * calls * len(fns), desc, file=file, unit="call") as bar:
        for _ in range(rounds):
            times = [[] for _ in fns]
            for order, n in halves:
                for i, fn in order if n else ():
                    if settle:
                        time.sleep(settle)
                    fn(x)  # the first call after idle wakes the thread pool: not what a stream sees
                    for _ in range(n):
                        if gap:
                            time.sleep(gap)
                        t0 = time.perf_counter()
                        fn(x)
                        times[i].append((time.perf_counter() - t0) * 1e3)
                        bar.update(1)
            out.append(times)
    return out


def compare_interleaved(fp32, int8, x, *, rounds: int = 5, calls: int = 10, warmup: int = 2,
                        gap: float = 0.0, threads: int | None = None, cpu: str | None = None,
                        file=None, settle: float = SETTLE_S) -> SpeedComparison:
    """Time two callables on ``x`` in alternating blocks; see the module docstring."""
    per_round = interleaved_times([fp32, int8], x, rounds, calls, warmup, gap, "FP32 vs INT8", file, settle)
    ratios = [float(np.median(a) / np.median(b)) for a, b in per_round]
    return SpeedComparison(stats_from_times([t for a, _ in per_round for t in a]),
                           stats_from_times([t for _, b in per_round for t in b]),
                           float(np.median(ratios)), ratios, rounds, calls, threads, cpu or cpu_name())


def example_input(spec) -> np.ndarray:
    """A fixed pseudo-random batch for a backend input spec (dynamic dimensions as 1)."""
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in spec.shape]
    rng = np.random.default_rng(0)
    if np.dtype(spec.dtype).kind == "u":
        return rng.integers(0, 256, shape).astype(spec.dtype)
    return rng.standard_normal(shape).astype(spec.dtype)


def compare_models(fp32_path: str, int8_path: str, *, threads: int | None = None, rounds: int = 5,
                   calls: int = 10, warmup: int = 2, gap: float = 0.0, meta=None, int8_meta=None,
                   file=None) -> SpeedComparison:
    """FP32 and INT8 ONNX files on ONNX Runtime's CPU provider, interleaved."""
    from ..backends import load_backend
    with load_backend(fp32_path, device="cpu", threads=threads, meta=meta) as a, \
            load_backend(int8_path, device="cpu", threads=threads, meta=int8_meta) as b:
        return compare_interleaved(a, b, example_input(a.inputs[0]), rounds=rounds, calls=calls,
                                   warmup=warmup, gap=gap, threads=threads, file=file)


def cpu_flags(path: str = "/proc/cpuinfo") -> set:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def int8_isa(flags=None) -> str:
    """The x86 int8 dot-product instructions ONNX Runtime's kernels can use here, in words.

    >>> int8_isa({"avx2"}), int8_isa({"avx2", "avx512f", "avx512_vnni"}), int8_isa({"avx2", "amx_int8"})
    ('AVX2, no VNNI', 'AVX-512 VNNI', 'AMX')
    """
    flags = cpu_flags() if flags is None else flags
    if "amx_int8" in flags:
        return "AMX"
    if "avx512_vnni" in flags:
        return "AVX-512 VNNI"
    if "avx_vnni" in flags:
        return "AVX-VNNI"
    if "avx512f" in flags:
        return "AVX-512, no VNNI"
    if "avx2" in flags:
        return "AVX2, no VNNI"
    return "no AVX2" if flags else "unknown ISA"


def cpu_name() -> str:
    """``AMD EPYC (AVX2, no VNNI)``: the CPU model and its int8 instructions."""
    from ..bench.device import cpu_model
    return f"{cpu_model()} ({int8_isa()})"


def schedule(runs: int) -> tuple[int, int]:
    """(rounds, calls per round) for ``runs`` calls of each model: up to 5 rounds.

    >>> schedule(20), schedule(3)
    ((5, 4), (3, 1))
    """
    rounds = min(5, runs)
    return rounds, -(-runs // rounds)


def compare_runs(a_path: str, b_path: str, runs: int, **kw) -> SpeedComparison:
    """``compare_models`` with ``runs`` calls of each model spread over up to 5 interleaved rounds:
    the schedule of every quantize-time timing (FP32 vs INT8, and the cpu target's two graphs)."""
    rounds, calls = schedule(runs)
    return compare_models(a_path, b_path, rounds=rounds, calls=calls, warmup=2, **kw)


def speed_report(report: dict, fp32_path: str, int8_path: str, *, meta=None, int8_meta=None,
                 threads: int | None = None, runs: int = 20, target: str = "cpu", file=None) -> str:
    """Measure FP32 against INT8 here (``runs`` calls of each, in 5 interleaved rounds), fill the
    quantize report's latency fields and, for the ``cpu`` target, which file to deploy; returns the
    one line to log."""
    c = compare_runs(fp32_path, int8_path, runs, threads=threads, meta=meta, int8_meta=int8_meta, file=file)
    report["fp32"]["latency"], report["int8"]["latency"] = c.fp32.to_dict(), c.int8.to_dict()
    report["speedup"] = c.speedup
    report["speed"] = c.to_dict()
    report["latency_backend"] = "onnxruntime CPUExecutionProvider, FP32 and INT8 interleaved"
    if target != "cpu":  # a TensorRT Q/DQ graph on ORT's CPU kernels says nothing about TensorRT
        return f"ONNX Runtime CPU figures, for reference only (the {target} target is for {target}): {c.figures()}"
    report["recommended"] = {"precision": c.faster, "model": int8_path if c.faster == "int8" else fp32_path,
                             "why": c.verdict(fp32_path)}
    return c.verdict(fp32_path)
