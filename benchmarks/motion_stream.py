"""Motion-compensated output (issue 16) against the stream without motion and the offline oracle, in ONE run.

On the live synthetic street at 1280x720 with per-frame ground truth, for each model
(``deeplabv3_mobilenet_v3_large`` and ``lraspp_mobilenet_v3_large``, FP32 at 512x512, ONNX Runtime
on the CPU) it measures:

1. the network alone on preprocessed frames: its rate, which sets the camera to 3x it;
2. the stream without motion (``policy="latest"``), each camera frame judged by the latest
   result on display when it was captured;
3. the stream with ``motion="flow"``: every frame output with the latest result warped onto it;
4. the offline oracle: the network on every frame.

Figures: output rate against the camera's into ``null://`` (target >= 95 %), mIoU of each
against every frame's own ground truth (motion on >= off + 2 points, >= oracle - 2 points),
capture-to-output latency p50 of warped frames against the network's in-stream inference
latency (target <= 1/3), and the optical-flow magnitude distribution at 720p (DIS medium on
consecutive frames). Rounds 2 and 3 interleave off and on; the figures are medians over rounds.

The camera is the synthetic street driving forward and turning, rendered once
(``synthetic://?...&live=0&speed=4&turn=0.1``, ``--street``) and replayed live at the camera rate
by a :class:`Replay` source, frame i at start + i/fps, newest kept: rendering a 720p street
takes a CPU core at 25 fps, and the two cores here must run the stream.

Training (``--checkpoint`` skips it): each model from scratch on synthetic scenes, exported at
512x512, in the stages of RECIPES. lraspp_mobilenet_v3_large: ``edgeseg train --model MODEL --data
synthetic --size 256x256 --epochs 3 --batch 8 --num-train 800 --num-val 100 --lr 5e-3 --loss
ce+dice`` (the recipe of docs/results.md, about 10 minutes on 2 cores). deeplabv3_mobilenet_v3_large:
the same at ``--size 512x512 --num-train 400 --num-val 50``, then ``--epochs 4 --lr 2e-3 --seed 1
--pretrained <its best.pt>`` (about 35 minutes in all; why in RECIPES). ``--quick``: 48 scenes
at 128x128 for one epoch, 90 frames, one round: a check that the pipeline runs (its mIoU means
little). The full run needs the CPU to itself.

    python benchmarks/motion_stream.py --quick
    python benchmarks/motion_stream.py                                      # ~75 min: trains both, 3 rounds
    python benchmarks/motion_stream.py --checkpoint deeplabv3_mobilenet_v3_large=runs/dl/best.pt \\
        --checkpoint lraspp_mobilenet_v3_large=runs/lr/best.pt --work /tmp/motion
Writes ``benchmarks/results/motion-<host>-<date-time>.json``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edgeseg.metrics import ConfusionMatrix
from edgeseg.runtime import Segmenter, SourceOptions, Stream, StreamOptions
from edgeseg.runtime.source_base import EndOfStream, Source
from edgeseg.runtime.sources import make_source
from edgeseg.utils.atomic import atomic_write_text
from edgeseg.utils.progress import Progress

MODELS = ("deeplabv3_mobilenet_v3_large", "lraspp_mobilenet_v3_large")
# Training stages per model: (size, epochs, scenes, val scenes, lr, seed), each stage starting
# from the last one's best checkpoint. DeepLabV3 trains at the size it runs at and for longer: its
# stride-16 output needs sharp boundaries for a fresh label map to beat an old one. Trained like
# LR-ASPP (256x256, 3 epochs) it scored 44 mIoU on the 720p street with car and person at 0 IoU,
# and motion had 1 point to win (oracle 45.5 vs 44.5); 3 epochs at 512 alone gave 43 (val 63);
# with 4 more (val 73) the street gave off 46.9 / on 49.2 / oracle 49.6.
RECIPES = {"deeplabv3_mobilenet_v3_large": [((512, 512), 3, 400, 50, 5e-3, 0), ((512, 512), 4, 400, 50, 2e-3, 1)],
           "lraspp_mobilenet_v3_large": [((256, 256), 3, 800, 100, 5e-3, 0)]}
TARGETS = {"output_vs_camera": ">= 0.95", "on_minus_off_points": ">= 2", "oracle_minus_on_points": "<= 2",
           "warped_latency_vs_infer": "<= 0.333"}


class Replay(Source):
    """Pre-rendered frames and masks played as a live camera: frame i at start + i/fps, the
    newest kept (a late reader finds later frames, the skipped ones counted as dropped)."""

    scheme = "replay"
    live = True

    def __init__(self, frames, masks, fps: float):
        super().__init__(f"replay://street?fps={fps:g}", SourceOptions(fps=fps, log=None))
        self.frames, self.masks, self.total = frames, masks, len(frames)
        self.start = None

    def _open(self):
        self._index, self.start = 0, time.monotonic()

    def _read(self):
        i = self._index
        if i >= len(self.frames):
            raise EndOfStream("end of the replay", path=self.uri)
        wait = self.start + i / self.fps - time.monotonic()
        if wait > 0 and self._stop.wait(wait):
            raise EndOfStream("replay closed", path=self.uri)
        return self.frames[i], i / self.fps, self.masks[i]


def train_checkpoint(model: str, work: str, quick: bool) -> str:
    from edgeseg.train import TrainConfig, train

    stages = [((128, 128), 1, 48, 8, 5e-3, 0)] if quick else RECIPES[model]
    ckpt = None
    # a stage's folder names it and every stage before it, so a changed recipe never reuses a checkpoint
    tags = ["quick"] if quick else [f"{z[0][0]}x{z[0][1]}-{z[1]}x{z[2]}-lr{z[4]:g}-s{z[5]}" for z in stages]
    for k, (size, epochs, scenes, val, lr, seed) in enumerate(stages):
        out = os.path.join(work, f"train-{model}-" + "-then-".join(tags[:k + 1]))
        done = os.path.join(out, "best.pt")
        if not os.path.exists(done):
            print(f"training {model} (stage {k + 1}/{len(stages)}): {scenes} scenes at {size[0]}x{size[1]}, "
                  f"{epochs} epoch(s), lr {lr:g}" + (f", from {ckpt}" if ckpt else ""), flush=True)
            cfg = TrainConfig(model=model, data="synthetic", size=size, batch=8, epochs=epochs, num_train=scenes,
                              num_val=val, lr=lr, loss="ce+dice", seed=seed, out=out, pretrained=ckpt)
            result = train(cfg)
            done = result.best_checkpoint or result.last_checkpoint
        ckpt = done
    return ckpt


def export(checkpoint: str, model: str, size: int, work: str) -> str:
    from edgeseg.export import export_onnx

    tag = hashlib.sha1(f"{os.path.abspath(checkpoint)}:{os.path.getmtime(checkpoint)}".encode()).hexdigest()[:8]
    out = os.path.join(work, f"{model}-{size}-{tag}.onnx")
    if not os.path.exists(out):
        export_onnx(checkpoint, out, size=(size, size), parity=False, log=None)
    return out


def render(uri: str, count: int):
    """``count`` frames and masks of a non-live synthetic:// URI."""
    frames, masks = [], []
    with make_source(uri, log=None).open() as src, Progress(count, "rendering the street", unit="frame",
                                                            log_every=5) as bar:
        while len(frames) < count:
            f = src.capture()
            frames.append(f.image)
            masks.append(f.gt)
            bar.update(1)
    return frames, masks


def network_alone(seg: Segmenter, frames, seconds: float) -> tuple[float, float]:
    """The backend alone on preprocessed frames: (frames per second, median ms)."""
    xs = [seg.preprocess(f) for f in frames[:8]]
    seg.backend.infer(xs[0])
    times, t0 = [], time.perf_counter()
    while time.perf_counter() - t0 < seconds or len(times) < 5:
        t = time.perf_counter()
        seg.backend.infer(xs[len(times) % len(xs)])
        times.append(time.perf_counter() - t)
    return len(times) / (time.perf_counter() - t0), 1e3 * statistics.median(times)


def flow_magnitudes(frames, pairs: int) -> dict:
    """Optical-flow magnitude between consecutive frames at 720p (DIS medium at a 640 px long
    side, scaled to the frame): percentiles over all pixels, and of each pair's median."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    h, w = frames[0].shape[:2]
    scale = 640 / max(h, w)
    size = (round(w * scale), round(h * scale))

    def grey(img):
        return cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), size, interpolation=cv2.INTER_AREA)

    step = max(1, (len(frames) - 1) // pairs)
    mags, medians = [], []
    for i in range(0, len(frames) - 1, step):
        f = dis.calc(grey(frames[i + 1]), grey(frames[i]), None)
        m = np.hypot(f[..., 0], f[..., 1]).ravel() / scale
        mags.append(m[::7])
        medians.append(float(np.median(m)))
    a = np.concatenate(mags)
    pct = {f"p{q}": round(float(np.percentile(a, q)), 3) for q in (10, 25, 50, 75, 90, 99)}
    return {**pct, "median_of_frame_medians": round(statistics.median(medians), 3),
            "frame_medians_p10_p90": [round(float(np.percentile(medians, q)), 3) for q in (10, 90)],
            "pairs": len(medians), "method": f"DIS medium at {size[0]}x{size[1]}, px of {w}x{h}"}


def miou(pairs, classes: int) -> float:
    cm = ConfusionMatrix(classes)
    for pred, gt in pairs:
        cm.update(pred, gt)
    return 100 * cm.report().miou


def run_without_motion(seg, frames, masks, fps, classes) -> dict:
    """policy latest, no motion: each camera frame judged by the result on display when it was
    captured (the latest one written to the sink by then); frames before the first are left out."""
    shown = []  # (sink time, labels)
    src = Replay(frames, masks, fps)
    stream = Stream(src, seg, lambda r: shown.append((time.monotonic(), r.labels)),
                    StreamOptions(policy="latest", render="none", report_every=None), log=None)
    s = stream.run()
    times = np.array([t for t, _ in shown])
    pairs, first = [], None
    for i in range(len(frames)):
        k = np.searchsorted(times, src.start + i / fps, side="right") - 1
        if k >= 0:
            first = i if first is None else first
            pairs.append((shown[k][1], masks[i]))
    return {"miou": round(miou(pairs, classes), 2), "frames_judged": len(pairs), "first_judged": first,
            "network_frames": s["frames_out"], "fps": s["fps"], "infer_p50_ms": s["stages"]["infer"]["p50_ms"],
            "e2e_p50_ms": s["stages"]["e2e"]["p50_ms"]}


def run_with_motion(seg, frames, masks, fps, classes, motion: str, flow_size: int, warp: str) -> dict:
    got = []  # (index, labels, carried, warped, age at the sink in ms, sink time)
    src = Replay(frames, masks, fps)
    stream = Stream(src, seg, lambda r: got.append((r.index, r.labels, r.carried, r.warped, r.age_ms,
                                                    time.monotonic())),
                    StreamOptions(motion=motion, flow_size=flow_size, motion_warp=warp, render="none",
                                  report_every=None), log=None)
    s = stream.run()
    warped = [g for g in got if g[2] > 0]
    sink_times = [g[5] for g in got]
    rate = (len(got) - 1) / (sink_times[-1] - sink_times[0]) if len(got) > 1 else 0.0
    infer = s["stages"]["infer"]["p50_ms"]
    lat = statistics.median(g[4] for g in warped) if warped else float("nan")
    return {"miou": round(miou([(g[1], masks[g[0]]) for g in got], classes), 2), "frames_out": len(got),
            "frames_offered": len(frames), "dropped": s["dropped"], "output_fps": round(rate, 2),
            "output_vs_camera": round(min(len(got) / len(frames), rate / fps), 4),
            "network_frames": s["frames_inferred"], "network_fps": s["network_fps"], "infer_p50_ms": infer,
            "warped_latency_p50_ms": round(lat, 2), "warped_latency_vs_infer": round(lat / infer, 4),
            "carried_p50": statistics.median(g[2] for g in got),
            "carried_max": max(g[2] for g in got), "warped_fraction_mean": round(float(np.mean([g[3] for g in warped]))
                                                                             if warped else 0.0, 4),
            "flow_p50_ms": s["stages"].get("flow", {}).get("p50_ms"), "warp_p50_ms":
                s["stages"].get("warp", {}).get("p50_ms"), "flow_errors": s["flow_errors"]}


def bench_model(model: str, checkpoint: str, a, work: str) -> dict:
    onnx = export(checkpoint, model, a.size, work)
    with Segmenter(onnx, device="cpu", threads=a.threads) as seg:
        classes = seg.meta.num_classes
        probe, _ = render(f"synthetic://?size=720x1280&fps=30&frames=8&live=0&seed={a.seed}", 8)
        alone_fps, alone_ms = network_alone(seg, probe, 2.0 if a.quick else 5.0)
        fps = round(a.camera_factor * alone_fps, 2)
        print(f"{model}: network alone {alone_fps:.1f} fps ({alone_ms:.1f} ms) -> camera {fps:g} fps", flush=True)
        street = f"&{a.street}" if a.street else ""
        frames, masks = render(f"synthetic://?size=720x1280&fps={fps:g}&frames={a.frames}&live=0&seed={a.seed}"
                               f"{street}", a.frames)
        flow = flow_magnitudes(frames, 20 if a.quick else 80)
        print(f"  flow at 720p: median {flow['p50']:.2f} px/frame (p10 {flow['p10']:.2f}, p90 {flow['p90']:.2f})",
              flush=True)
        oracle = [(seg(f).labels, m) for f, m in zip(frames, masks)]
        oracle_miou = round(miou(oracle, classes), 2)
        del oracle
        rounds = []
        with Progress(a.rounds, f"{model} rounds", unit="round", log_every=0) as bar:
            for r in range(a.rounds):
                alone_r, _ = network_alone(seg, probe, 1.0)
                order = ("off", "on") if r % 2 == 0 else ("on", "off")  # interleaved: drift hits both alike
                res = {}
                for kind in order:
                    if kind == "off":
                        res["off"] = run_without_motion(seg, frames, masks, fps, classes)
                    else:
                        res["on"] = run_with_motion(seg, frames, masks, fps, classes, a.motion, a.flow_size, a.warp)
                res["network_alone_fps"] = round(alone_r, 2)
                res["on_minus_off_points"] = round(res["on"]["miou"] - res["off"]["miou"], 2)
                res["oracle_minus_on_points"] = round(oracle_miou - res["on"]["miou"], 2)
                rounds.append(res)
                bar.update(1, on=res["on"]["miou"], off=res["off"]["miou"])
    del frames, masks

    def med(get):
        return round(statistics.median(get(r) for r in rounds), 4)

    m = {"output_vs_camera": med(lambda r: r["on"]["output_vs_camera"]),
         "miou_off": med(lambda r: r["off"]["miou"]), "miou_on": med(lambda r: r["on"]["miou"]),
         "miou_oracle": oracle_miou, "on_minus_off_points": med(lambda r: r["on_minus_off_points"]),
         "oracle_minus_on_points": med(lambda r: r["oracle_minus_on_points"]),
         "warped_latency_p50_ms": med(lambda r: r["on"]["warped_latency_p50_ms"]),
         "infer_p50_ms_in_stream": med(lambda r: r["on"]["infer_p50_ms"]),
         "warped_latency_vs_infer": med(lambda r: r["on"]["warped_latency_vs_infer"]),
         "network_fps_in_stream": med(lambda r: r["on"]["network_fps"]),
         "output_fps": med(lambda r: r["on"]["output_fps"])}
    passed = {"output_vs_camera": m["output_vs_camera"] >= 0.95, "on_minus_off_points": m["on_minus_off_points"] >= 2,
              "oracle_minus_on_points": m["oracle_minus_on_points"] <= 2,
              "warped_latency_vs_infer": m["warped_latency_vs_infer"] <= 1 / 3}
    return {"onnx": os.path.basename(onnx), "checkpoint": checkpoint, "classes": classes,
            "network_alone_fps": round(alone_fps, 2), "network_alone_ms": round(alone_ms, 2), "camera_fps": fps,
            "flow_magnitude_720p": flow, "median": m, "targets": TARGETS, "pass": passed, "rounds": rounds}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--checkpoint", action="append", default=[], metavar="MODEL=PATH",
                   help="a trained checkpoint for MODEL (skips its training)")
    p.add_argument("--size", type=int, default=512, help="network input size (default %(default)s)")
    p.add_argument("--frames", type=int, help="camera frames per run (default 300; quick 90)")
    p.add_argument("--rounds", type=int, help="off/on rounds; figures are medians (default 3; quick 1)")
    p.add_argument("--threads", type=int, default=1,
                   help="ONNX Runtime intra-op threads (default %(default)s: the other core runs the camera, the "
                        "flow, drawing and the sinks; ORT's second thread spins against them)")
    p.add_argument("--camera-factor", type=float, default=3.0,
                   help="camera rate as a multiple of the network-alone rate (default %(default)s)")
    p.add_argument("--motion", default="flow:dis-fast", help="StreamOptions.motion (default %(default)s)")
    p.add_argument("--flow-size", type=int, default=256, help="StreamOptions.flow_size (default %(default)s)")
    p.add_argument("--warp", default="labels", choices=("labels", "scores"), help="StreamOptions.motion_warp")
    p.add_argument("--street", default="speed=4&turn=0.1",
                   help="synthetic:// ego-motion: speed (px/frame of ground flow at 720p) and turn (degrees/frame); "
                        "default %(default)s gives a median flow of about 2.9 px/frame at 720p")
    p.add_argument("--seed", type=int, default=1, help="the street's seed (default %(default)s)")
    p.add_argument("--quick", action="store_true", help="tiny training, 90 frames, one round: the pipeline runs")
    p.add_argument("--work", help="folder for checkpoints and ONNX files, kept between runs (default: a temp dir)")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    a = p.parse_args(argv)
    a.frames = a.frames or (90 if a.quick else 300)
    a.rounds = a.rounds or (1 if a.quick else 3)
    given = dict(c.split("=", 1) for c in a.checkpoint)
    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or tmp
        os.makedirs(work, exist_ok=True)
        for model in a.models:
            ckpt = given.get(model) or train_checkpoint(model, work, a.quick)
            results[model] = bench_model(model, ckpt, a, work)
    now = datetime.datetime.now()
    out = {"host": socket.gethostname(), "date": now.date().isoformat(), "time": now.strftime("%H:%M:%S"),
           "cpu_count": os.cpu_count(), "platform": platform.platform(), "quick": a.quick,
           "settings": {"size": a.size, "frames": a.frames, "rounds": a.rounds, "ort_threads": a.threads,
                        "camera_factor": a.camera_factor, "motion": a.motion, "flow_size": a.flow_size,
                        "motion_warp": a.warp, "street": a.street, "seed": a.seed, "frame_size": "1280x720"},
           "models": results, "wall_s": round(time.perf_counter() - started, 1),
           "command": " ".join([os.path.basename(sys.executable)] + sys.argv)}
    for model, r in results.items():
        m, ok = r["median"], r["pass"]
        flag = {k: "ok" if v else "MISSED" for k, v in ok.items()}
        print(f"{model} (camera {r['camera_fps']:g} fps = {a.camera_factor:g}x the network alone, "
              f"median of {a.rounds} round(s)):")
        print(f"  output            {m['output_fps']:.1f} fps = {m['output_vs_camera']:.1%} of the camera "
              f"(network {m['network_fps_in_stream']:.1f} fps in the stream)   target >= 95%  {flag['output_vs_camera']}")
        print(f"  mIoU              off {m['miou_off']:.2f} | on {m['miou_on']:.2f} | oracle {m['miou_oracle']:.2f}"
              f"  (on - off {m['on_minus_off_points']:+.2f}  {flag['on_minus_off_points']}, oracle - on "
              f"{m['oracle_minus_on_points']:+.2f}  {flag['oracle_minus_on_points']})")
        print(f"  warped latency    p50 {m['warped_latency_p50_ms']:.1f} ms = {m['warped_latency_vs_infer']:.2f}x "
              f"in-stream inference ({m['infer_p50_ms_in_stream']:.1f} ms)   target <= 0.33  "
              f"{flag['warped_latency_vs_infer']}")
        f = r["flow_magnitude_720p"]
        print(f"  flow at 720p      median {f['p50']:.2f} px/frame, p10 {f['p10']:.2f}, p90 {f['p90']:.2f}")
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"motion-{'quick-' if a.quick else ''}{out['host']}-{now:%Y-%m-%d-%H%M%S}.json")
    atomic_write_text(path, json.dumps(out, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
