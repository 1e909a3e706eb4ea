"""The layering rules, checked on the tree as it is on disk.

- The deploy side imports no torch, at any depth: every module of it, found by walking the
  package (not a hand-kept list), imports in a fresh interpreter with torch blocked, and with
  nothing blocked it leaves torch, onnx and TensorRT unimported.
- Only ``edgeseg/backends/tensorrt/`` imports tensorrt, pycuda or cuda.
- No import cycle anywhere in the package (imports inside functions count too).
- ``edgeseg --help``, ``edgeseg run --help`` and a Stream over an .onnx run with torch and onnx
  blocked.
"""

import ast
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "edgeseg")

# The deploy side (DESIGN.md): the top-level modules and these packages.
DEPLOY_PACKAGES = ("edgeseg.runtime", "edgeseg.backends", "edgeseg.bench", "edgeseg.data", "edgeseg.cli")
# Build- or train-side modules that live under a deploy folder, by name, with the reason.
NOT_DEPLOY = {
    "edgeseg.__main__": "runs the CLI when imported",
    "edgeseg.demo": "runs training, export and quantization (train and build side)",
    "edgeseg.backends.torch": "the torch reference backend (train side)",
    "edgeseg.backends.tensorrt.builder": "builds engines from ONNX (build side)",
    "edgeseg.backends.tensorrt.source": "reads the ONNX a build starts from (build side, onnx)",
    "edgeseg.backends.tensorrt.fp16": "converts ONNX graphs to float16 (build side, onnx)",
    "edgeseg.backends.tensorrt.onnx_ops": "the ONNX ops TensorRT's parser takes (export, build side)",
    "edgeseg.backends.tensorrt.progress": "the builder's progress monitor (build side)",
}
HEAVY = ("torch", "onnx", "tensorrt")
TENSORRT_ONLY = ("tensorrt", "pycuda", "cuda")
TENSORRT_PACKAGE = "edgeseg.backends.tensorrt"


def _modules() -> dict[str, str]:
    """module name -> file, for every .py under edgeseg/."""
    out = {}
    for dirpath, dirnames, files in os.walk(PACKAGE):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                path = os.path.join(dirpath, f)
                name = os.path.relpath(path[:-3], ROOT).replace(os.sep, ".")
                out[name[:-len(".__init__")] if name.endswith(".__init__") else name] = path
    return out


def _deploy_modules() -> list[str]:
    mods = _modules()
    # edgeseg itself and the modules directly in it (not the build and train packages)
    top = [m for m, p in mods.items() if m == "edgeseg" or os.path.dirname(p) == PACKAGE
           and not p.endswith("__init__.py")]
    inside = [m for m in mods if any(m == p or m.startswith(p + ".") for p in DEPLOY_PACKAGES)]
    return sorted(m for m in set(top) | set(inside) if m not in NOT_DEPLOY)


def _run(code: str, timeout: int = 180):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_the_walk_finds_the_deploy_side_and_the_exclusions_exist():
    deploy, mods = _deploy_modules(), _modules()
    for expected in ("edgeseg.runtime.stream", "edgeseg.backends.tensorrt.runner", "edgeseg.backends.tensorrt.cuda",
                     "edgeseg.cli.run", "edgeseg.preprocess", "edgeseg.postprocess", "edgeseg.uri", "edgeseg.lazy"):
        assert expected in deploy
    assert not set(NOT_DEPLOY) - set(mods), "an excluded module no longer exists: drop it from NOT_DEPLOY"


def test_deploy_side_imports_with_torch_blocked():
    code = ("import sys, importlib\nsys.modules['torch'] = None\n"
            f"for m in {_deploy_modules()!r}:\n"
            "    try:\n        importlib.import_module(m)\n"
            "    except Exception as e:\n        raise SystemExit(f'{m}: {type(e).__name__}: {e}')\n"
            "print('ok')")
    proc = _run(code)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stdout + proc.stderr


def test_deploy_side_leaves_torch_onnx_and_tensorrt_unimported():
    """Nothing blocked: a deploy module that imported torch behind ``try/except`` would pass the
    blocked test above and still load torch on the robot."""
    code = ("import sys, importlib\n"
            f"for m in {_deploy_modules()!r}: importlib.import_module(m)\n"
            f"print(sorted(h for h in {HEAVY!r} if h in sys.modules))")
    proc = _run(code)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_deploy_side_runs_a_stream_over_an_onnx_with_torch_and_onnx_blocked(tiny_onnx):
    code = ("import sys; sys.modules['torch'] = None; sys.modules['onnx'] = None\n"
            "import numpy as np\nfrom edgeseg.runtime import Segmenter, Stream\n"
            f"seg = Segmenter({tiny_onnx!r}, device='cpu')\n"
            "print(seg(np.zeros((120, 160, 3), np.uint8)).labels.shape)\n"
            "stats = Stream('synthetic://?size=48x64&frames=5&live=0', seg, 'null://', log=None).run()\n"
            "print('frames', stats['frames_out'])")
    proc = _run(code)
    assert proc.returncode == 0 and "(120, 160)" in proc.stdout and "frames 5" in proc.stdout, proc.stderr


def test_help_imports_no_torch_onnx_or_tensorrt():
    blocked = ("torch", "onnx", "onnxruntime", "onnxsim", "tensorrt", "pycuda", "cuda")
    code = ("import sys\n"
            f"for m in {blocked!r}: sys.modules[m] = None\n"
            "from edgeseg.cli import main\n"
            "for argv in (['--help'], ['run', '--help'], ['build', '--help'], ['train', '--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit as e:\n        assert e.code == 0, (argv, e.code)\n"
            "print('ok')")
    proc = _run(code)
    assert proc.returncode == 0 and proc.stdout.rstrip().endswith("ok"), proc.stdout[-2000:] + proc.stderr
    for text in ("train", "export", "quantize", "build", "run", "--model", "--sink", "--precision"):
        assert text in proc.stdout


def test_blocked_torch_gives_an_install_hint():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from edgeseg.errors import MissingDependencyError\n"
            "from edgeseg.backends import load_backend\n"
            "try:\n    load_backend('x.pt')\nexcept MissingDependencyError as e:\n    print(e)")
    proc = _run(code)
    assert 'pip install "edgeseg[train]"' in proc.stdout, proc.stdout + proc.stderr


# -- static checks --------------------------------------------------------------------------------
_IMPORTERS = {"require", "import_module", "find_spec", "available", "load_object", "__import__"}
# A dotted module path in a string (``MODULES = ("cuda.bindings.runtime", ...)`` handed to an
# importer in a loop) is an import too, for the TensorRT rule.
_MODULE_STRING = re.compile(r"^(?:%s)(?:\.\w+)+$" % "|".join(("tensorrt", "pycuda", "cuda")))


def _imports(path: str, module: str):
    """(line, imported module) for every import in the file, at any depth, and every string
    handed to an importer (``require("tensorrt")``, ``importlib.import_module(...)``)."""
    tree = ast.parse(open(path, encoding="utf-8").read(), path)
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield node.lineno, base, tuple(a.name for a in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _IMPORTERS:
                yield node.lineno, node.args[0].value.split(":")[0], ()
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _MODULE_STRING.match(node.value):
            yield node.lineno, node.value, ()


def test_only_the_tensorrt_package_imports_tensorrt_pycuda_or_cuda():
    found = []
    for module, path in _modules().items():
        if module == TENSORRT_PACKAGE or module.startswith(TENSORRT_PACKAGE + "."):
            continue
        for line, name, _ in _imports(path, module):
            if name.split(".")[0] in TENSORRT_ONLY:
                found.append(f"{os.path.relpath(path, ROOT)}:{line} imports {name}")
    assert not found, "\n".join(found)


def test_the_static_scan_sees_tensorrt_imports():
    """Guards the scan itself: the TensorRT package's own imports are found."""
    mods = _modules()
    names = {name for m in ("edgeseg.backends.tensorrt.runner", "edgeseg.backends.tensorrt.cuda.cuda_python",
                            "edgeseg.backends.tensorrt.cuda.device")
             for _, name, _ in _imports(mods[m], m)}
    assert {"tensorrt", "pycuda.driver"} <= names and any(n.startswith("cuda.") for n in names), names


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph = {m: set() for m in mods}
    for module, path in mods.items():
        for _, name, names in _imports(path, module):
            targets = [f"{name}.{n}" if f"{name}.{n}" in mods else name for n in names] or [name]
            for t in targets:
                while t not in mods and "." in t:
                    t = t.rsplit(".", 1)[0]
                if t in mods and t != module:
                    graph[module].add(t)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles_in_the_package():
    graph = _graph()
    assert "edgeseg.runtime.sinks" in graph["edgeseg.runtime.stream"]  # the scan resolved relative imports
    cycles = _cycles(graph)
    assert not cycles, "import cycles (imports inside functions count):\n" + "\n".join(" <-> ".join(c) for c in cycles)
