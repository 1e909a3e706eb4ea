"""The one lazy-import helper: optional dependencies, package exports and ``"module:Name"`` tables.

The deploy side must run with only numpy and OpenCV installed, so heavy packages (torch, onnx,
onnxruntime, TensorRT) are imported on first use, and a missing one raises
:class:`MissingDependencyError` naming the extra that brings it. Nothing is ever installed at
run time. Three ways in, one mechanism:

- :func:`require` imports a dependency or says how to install it;
- :func:`lazy_exports` gives a package ``__getattr__``/``__dir__`` (PEP 562), so its public names
  load their submodule (and what it imports) on first access only;
- :func:`load_object` resolves a ``"package.module:Name"`` string, so a table of implementations
  (backends, CUDA bindings, CLI commands) imports only the row that is used.

>>> np = require("numpy")
>>> np.zeros(2).shape
(2,)
>>> load_object("json:JSONEncoder")().encode([1])
'[1]'
>>> import types
>>> getattr_, dir_ = lazy_exports("json", {"JSONDecoder": "decoder"}, vars(types.ModuleType("demo")))
>>> getattr_("JSONDecoder")().decode("[2]")
[2]
"""

from __future__ import annotations

import importlib
import sys
import types

from .errors import MissingDependencyError

# module -> how a user gets it; TensorRT and CUDA bindings are not ordinary pip extras on Jetson.
_HOW_TO_GET = {
    "torch": 'pip install "edgeseg[train]" (on a CPU-only machine: pip install torch first, from the CPU index)',
    "onnx": 'pip install "edgeseg[onnx]"',
    "onnxsim": 'pip install "edgeseg[onnx]"',
    "onnxruntime": 'pip install "edgeseg[onnx]" (or onnxruntime-gpu for the CUDA execution provider)',
    "onnxscript": 'pip install onnxscript',
    "tensorrt": "TensorRT comes with JetPack on a Jetson; on a desktop: pip install tensorrt (NVIDIA's wheels)",
    "pycuda": "pycuda comes with JetPack images or: pip install pycuda; or install cuda-python instead",
    "cuda": "pip install cuda-python",
    "matplotlib": "pip install matplotlib",
}


def require(name: str, purpose: str | None = None) -> types.ModuleType:
    """Import ``name`` or raise MissingDependencyError saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        # A module set to None in sys.modules (how tests block torch) also lands here.
        blocked = top in sys.modules and sys.modules[top] is None
        raise MissingDependencyError(
            f"{name} is needed{' for ' + purpose if purpose else ''} but is not importable",
            expected=f"the '{top}' package",
            got="blocked in sys.modules" if blocked else str(exc),
            fix=_HOW_TO_GET.get(top, f"pip install {top}"),
        ) from exc


def available(name: str) -> bool:
    """True if ``name`` imports; never raises."""
    try:
        importlib.import_module(name)
        return True
    except Exception:
        return False


def load_object(target: str):
    """``"package.module:Name"`` -> that object, importing the module now (and only now)."""
    module, _, name = target.partition(":")
    obj = importlib.import_module(module)
    return getattr(obj, name) if name else obj


def lazy_exports(package: str, table: dict[str, str], namespace: dict):
    """``__getattr__`` and ``__dir__`` for ``package``: ``table`` maps name -> submodule."""
    def __getattr__(name: str):
        if name in table:
            value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
            namespace[name] = value  # cache: later lookups skip __getattr__
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
