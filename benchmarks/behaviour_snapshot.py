"""What the tree produces, recorded through the CLI, so a restructuring can prove it changed nothing.

Runs, each as a user would (``python -m edgeseg ...`` in a subprocess, on the CPU):

- ``edgeseg demo --quick``: its val mIoU, the FP32/INT8 table's status and mIoU, the frames streamed,
  and sha256 of the ONNX, INT8 ONNX and calibration frames it wrote;
- ``edgeseg calibrate`` and ``edgeseg quantize`` (both targets, with a validation set): the hashes
  and the FP32/INT8 mIoU of the report;
- ``edgeseg run`` of the demo's clip into ``masks://`` with the FP32 and the INT8 model: a sha256 of
  every label map (decoded pixels, so a PNG encoder's version does not matter) and the frame counts;
- ``edgeseg compare`` and ``edgeseg eval``: agreement, logit differences, mIoU;
- ``--help`` of ``edgeseg`` and of every command.

Latencies are left out (they differ run to run); everything recorded is deterministic on one machine
with one thread count, and was seen to repeat exactly on the same tree.

    python benchmarks/behaviour_snapshot.py --out benchmarks/results/behaviour-before.json
    python benchmarks/behaviour_snapshot.py --out /tmp/after.json --compare benchmarks/results/behaviour-before.json
"""

from __future__ import annotations

import argparse
import difflib
import glob
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

COMMANDS = ("demo", "train", "eval", "models", "export", "calibrate", "quantize", "build", "run", "bench",
            "compare")


def edgeseg(*args: str, cwd: str | None = None) -> str:
    """Run ``python -m edgeseg ARGS``; its stdout, or exit with what it printed."""
    env = dict(os.environ, COLUMNS="100", PYTHONHASHSEED="0")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "edgeseg", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=1800)
    print(f"  edgeseg {' '.join(args)[:110]}  ({time.perf_counter() - t0:.1f} s, exit {proc.returncode})",
          file=sys.stderr, flush=True)
    if proc.returncode not in (0, 1):  # compare exits 1 below its agreement floor: still a result
        sys.exit(f"edgeseg {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def onnx_fingerprint(path: str) -> dict:
    """sha256 of the graph (metadata left out) and the meta without what names this run's files:
    the checkpoint's sha256 (torch.save output differs run to run) and calibration paths."""
    import onnx
    model = onnx.load(path)
    meta = json.loads({p.key: p.value for p in model.metadata_props}.get("edgeseg.meta", "{}"))
    prov = meta.get("provenance", {})
    prov.get("export", {}).pop("source_sha256", None)
    if "calibration" in prov.get("quantize", {}):
        prov["quantize"]["calibration"] = os.path.basename(prov["quantize"]["calibration"])
    model.ClearField("metadata_props")
    return {"graph sha256": hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest(),
            "meta": meta}


def npz_frames_sha(path: str) -> str:
    import numpy as np
    with np.load(path, allow_pickle=False) as z:
        return hashlib.sha256(np.ascontiguousarray(z["frames"]).tobytes()).hexdigest()


def masks_sha(folder: str) -> dict:
    """One sha256 over every label map's pixels in frame order, and how many there are."""
    import cv2
    h = hashlib.sha256()
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    for f in files:
        labels = cv2.imread(f, cv2.IMREAD_UNCHANGED)
        h.update(os.path.basename(f).encode() + labels.tobytes())
    return {"frames": len(files), "sha256": h.hexdigest()}


def _round(x, nd=6):
    return None if x is None else round(float(x), nd)


def snapshot(work: str) -> dict:
    demo = os.path.join(work, "demo")
    edgeseg("demo", "--quick", "--out", demo)
    with open(os.path.join(demo, "demo.json"), encoding="utf-8") as f:
        d = json.load(f)
    onnx, int8 = os.path.join(demo, "model.onnx"), os.path.join(demo, "model.cpu.int8.onnx")
    out: dict = {"demo": {
        "val_miou": _round(d["val_miou"]),
        "table": [{k: (_round(r[k]) if k == "miou" else r[k]) for k in ("backend", "precision", "status", "miou")}
                  for r in d["table"]],
        "notes": [n for n in d["notes"] if not n.startswith("stream:")],
        "stream_frames": int(d["notes"][0].split()[1]) if d["notes"] and d["notes"][0].startswith("stream:")
        else None,
        "model.onnx": onnx_fingerprint(onnx), "model.cpu.int8.onnx": onnx_fingerprint(int8),
        "calib.npz frames sha256": npz_frames_sha(os.path.join(demo, "calib.npz"))}}

    calib = os.path.join(work, "calib.npz")
    edgeseg("calibrate", "synthetic", "--model", onnx, "--num", "16", "--out", calib)
    out["calibrate"] = {"frames sha256": npz_frames_sha(calib)}
    out["quantize"] = {}
    for target in ("cpu", "tensorrt"):
        q = os.path.join(work, f"q.{target}.int8.onnx")
        edgeseg("quantize", onnx, "--calib", calib, "--target", target, "--val", "synthetic", "--val-num", "8",
                "--bench-runs", "0", "--out", q)
        with open(q[:-5] + ".report.json", encoding="utf-8") as f:
            rep = json.load(f)
        out["quantize"][target] = {**onnx_fingerprint(q), "float_nodes": rep["float_nodes"],
                                   "miou": [_round(rep["fp32"]["miou"]), _round(rep["int8"]["miou"])],
                                   "ranges": _strip_times(rep.get("ranges")),
                                   "qdq_check": rep.get("qdq_check", {}).get("ok")}

    out["run"] = {}
    for name, model in (("fp32", onnx), ("int8", int8)):
        masks = os.path.join(work, f"masks-{name}")
        stats = os.path.join(work, f"stats-{name}.json")
        edgeseg("run", os.path.join(demo, "clip.mp4"), "--model", model, "--sink", f"masks://{masks}",
                "--policy", "all", "--report-every", "0", "--stats-json", stats)
        with open(stats, encoding="utf-8") as f:
            st = json.load(f)
        out["run"][name] = {**masks_sha(masks), **{k: st[k] for k in ("frames_in", "frames_out", "bad_frames",
                                                                      "dropped", "sink_errors")}}

    cmp_json = os.path.join(work, "compare.json")
    edgeseg("compare", onnx, int8, "--data", "synthetic:8", "--json", cmp_json)
    with open(cmp_json, encoding="utf-8") as f:
        c = json.load(f)
    out["compare"] = {k: (_round(c[k]) if isinstance(c[k], float) else c[k])
                      for k in ("passed", "images", "source", "compared_at", "agreement", "worst_agreement",
                                "worst_image", "max_abs_diff", "mean_abs_diff", "notes")}
    out["compare"]["miou"] = [_round(c["a"]["miou"]), _round(c["b"]["miou"])]

    eval_json = os.path.join(work, "eval.json")
    edgeseg("eval", onnx, "--num", "8", "--device", "cpu", "--json", eval_json)
    with open(eval_json, encoding="utf-8") as f:
        e = json.load(f)
    out["eval"] = _strip_times({k: v for k, v in e.items() if k != "model"})  # the path differs per run

    out["help"] = {"": edgeseg("--help")}
    for cmd in COMMANDS:
        out["help"][cmd] = edgeseg(cmd, "--help")
    return out


def _strip_times(value):
    """Drop latency figures from a report section, keep the rest."""
    if isinstance(value, dict):
        return {k: _strip_times(v) for k, v in value.items()
                if not any(t in k for t in ("ms", "latency", "seconds", "speedup", "fps"))}
    if isinstance(value, list):
        return [_strip_times(v) for v in value]
    return _round(value) if isinstance(value, float) else value


def differences(old, new, where: str = "") -> list[str]:
    """Every place where two snapshots differ, with a diff for texts."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new)):
            if k not in old or k not in new:
                out.append(f"{where}/{k}: only in {'new' if k not in old else 'old'}")
            else:
                out += differences(old[k], new[k], f"{where}/{k}")
        return out
    if old == new:
        return []
    if isinstance(old, str) and isinstance(new, str) and "\n" in old:
        diff = "\n".join(difflib.unified_diff(old.splitlines(), new.splitlines(), "old", "new", lineterm=""))
        return [f"{where}:\n{diff}"]
    return [f"{where}: {old!r} -> {new!r}"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--compare", metavar="JSON", help="an earlier snapshot: list every difference, exit 1 if any")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep the artefacts (default: a temp folder)")
    a = p.parse_args(argv)
    from edgeseg.bench.device import cpu_model, package_version
    work = a.keep or tempfile.mkdtemp(prefix="edgeseg-snapshot-")
    os.makedirs(work, exist_ok=True)
    doc = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
                       **{name: package_version(name) for name in ("torch", "onnxruntime", "opencv", "numpy")}},
           "git": _git(), "snapshot": snapshot(work)}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    print(f"wrote {a.out}")
    if a.compare:
        with open(a.compare, encoding="utf-8") as f:
            old = json.load(f)
        found = differences(old["snapshot"], doc["snapshot"])
        print(f"{len(found)} difference(s) against {a.compare}" + (":" if found else ""))
        for d in found:
            print("  " + d.replace("\n", "\n    "))
        return 1 if found else 0
    return 0


def _git() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    except OSError:
        return "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
