"""Deprecated alias: the TensorRT build code lives in :mod:`edgeseg.backends.tensorrt`.

``from edgeseg.build import build_engine`` keeps working for one release, with a
DeprecationWarning; import from ``edgeseg.backends.tensorrt`` instead. The command is still
``edgeseg build``. (A module, not a folder: pytest, ruff and common .gitignore files skip folders
named ``build``.)

>>> import warnings
>>> with warnings.catch_warnings(record=True) as w:
...     warnings.simplefilter("always")
...     from edgeseg.build import precision_plan
>>> precision_plan.__module__, w[0].category.__name__
('edgeseg.backends.tensorrt.plan', 'DeprecationWarning')
"""

from __future__ import annotations

import warnings

from .backends import tensorrt as _tensorrt


def __getattr__(name: str):
    value = getattr(_tensorrt, name)  # AttributeError for names the package does not have
    warnings.warn(f"edgeseg.build.{name} moved to edgeseg.backends.tensorrt.{name}; "
                  "edgeseg.build goes away in the next release", DeprecationWarning, stacklevel=2)
    return value
