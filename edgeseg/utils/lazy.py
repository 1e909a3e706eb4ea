"""Lazy package exports (PEP 562): a package names its public objects and the submodule of
each; a submodule (and what it imports: torch, onnx, tensorrt) loads on first access only, so
``edgeseg --help`` and the deploy side stay light.

>>> import types
>>> mod = types.ModuleType("demo")
>>> getattr_, dir_ = lazy_exports("json", {"JSONEncoder": "encoder"}, vars(mod))
>>> getattr_("JSONEncoder")().encode([1])
'[1]'
"""

from __future__ import annotations

import importlib


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
