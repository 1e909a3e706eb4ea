"""The ``cpu`` target's graph or the plain Q/DQ graph: whichever runs faster on this machine.

The cpu target's passes (:mod:`.cpu_graph`) were found on MobileNetV3 models, and on the machines
measured they pay there. They do not pay everywhere: on an Intel Xeon with AVX-512 VNNI the plain
Q/DQ graph ran the MobileNetV2 models faster (lraspp_mobilenet_v2 at 512x512 1.77x FP32 against
1.48x, deeplabv3plus_mobilenet_v2 at 256x256 2.33x against 2.05x; ``benchmarks/int8_cpu.py``):
they have no hard-swish for the passes to fuse, and the FP32 stem and tail cost layout reorders
there that an AVX2 machine's slower int8 kernels hid. ``edgeseg quantize`` times FP32 against
INT8 on the machine anyway, so it times the two INT8 graphs too and writes the faster. (On the
same machine a day later ``edgeseg quantize`` of lraspp_mobilenet_v2 at 512x512 kept the passes,
62 ms against plain's 73: close graphs, which is why it is measured rather than ruled. Those
figures were timed call by call, which :mod:`.speed` no longer does; on an AMD EPYC with AVX-512
VNNI, timed in blocks, the passes won for every zoo model.)

>>> pick({"cpu": 30.0, "plain": 25.0}, 1.2)["chosen"], pick({"cpu": 30.0, "plain": 29.5}, 1.02)["chosen"]
('plain', 'cpu')
"""

from __future__ import annotations

MARGIN = 1.05  # plain must win by 5 %: two sessions of one graph on a shared machine differ by a few %


def pick(p50_ms: dict, plain_speedup: float) -> dict:
    """The choice from the two graphs' p50 latencies and the median per-round ratio cpu / plain."""
    chosen = "plain" if plain_speedup >= MARGIN else "cpu"
    return {"chosen": chosen, "cpu_ms": round(p50_ms["cpu"], 3), "plain_ms": round(p50_ms["plain"], 3),
            "plain_speedup": round(plain_speedup, 3), "margin": MARGIN}


def time_graphs(cpu_path: str, plain_path: str, *, meta, threads: int | None, runs: int, file=None) -> dict:
    """Both INT8 graphs on ONNX Runtime's CPU provider, in alternating blocks like FP32 vs INT8."""
    from .speed import compare_runs
    c = compare_runs(cpu_path, plain_path, runs, threads=threads, meta=meta, int8_meta=meta, file=file)
    out = pick({"cpu": c.fp32.p50_ms, "plain": c.int8.p50_ms}, c.speedup)
    out.update(rounds=c.rounds, round_speedups=list(c.round_speedups), cpu=c.cpu)
    return out


def describe(choice: dict) -> str:
    """One line for the log (no "FP32"/"INT8": that line is the deploy verdict's)."""
    figures = (f"{choice['plain_ms']:.2f} vs {choice['cpu_ms']:.2f} ms, {choice['plain_speedup']:.2f}x, "
               f"median of {choice['rounds']} interleaved rounds")
    if choice["chosen"] == "plain":
        return f"graph: the plain Q/DQ graph runs faster here than the cpu target's passes ({figures}); writing it"
    if choice.get("kept_for"):
        return f"graph: the plain Q/DQ graph runs faster here ({figures}) but {choice['kept_for']}; keeping the cpu passes"
    return f"graph: the plain Q/DQ graph is not {MARGIN - 1:.0%} faster here ({figures}); keeping the cpu target's passes"
