"""The one small interface every backend implements.

``infer`` validates the batch in one place and calls the subclass's ``_infer``; a backend is a
context manager and a predictor (``backend(batch)``), so evaluation and the runtime take any.

>>> import numpy as np
>>> class Echo(Backend):
...     kind = "echo"
...     def _infer(self, batch): return batch
>>> from edgeseg.meta import ModelMeta
>>> m = ModelMeta(model="m", classes=("a",), input_size=(2, 2))
>>> with Echo(m, [TensorSpec("x", (1, 3, 2, 2), "float32")], []) as b:
...     b(np.zeros((1, 3, 2, 2), np.float32)).shape
(1, 3, 2, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import DataError
from ..meta import ModelMeta


@dataclass(frozen=True)
class TensorSpec:
    """A graph input or output: ``None`` (or a name) marks a dynamic dimension."""

    name: str
    shape: tuple
    dtype: str

    def accepts(self, array: np.ndarray) -> bool:
        if array.ndim != len(self.shape):
            return False
        return all(not isinstance(d, int) or d < 0 or d == a for d, a in zip(self.shape, array.shape))


class Backend:
    """Base class: ``meta``, ``inputs``/``outputs`` specs, ``infer(batch) -> array``, ``close()``.

    ``output`` is the spec of the output ``infer`` returns: the meta's ``output_name``, else the
    first (backends set it after :func:`~edgeseg.backends.graph_check.check_graph`).
    """

    kind = "base"
    # True when inference runs on host cores: the stream then keeps OpenCV's own worker threads
    # off them (see runtime.stream); accelerator backends leave the host to OpenCV.
    on_cpu = False

    def __init__(self, meta: ModelMeta, inputs: list[TensorSpec], outputs: list[TensorSpec],
                 path: str = "<memory>"):
        self.meta, self.inputs, self.outputs, self.path = meta, inputs, outputs, path
        self.output = outputs[0] if outputs else None
        self.closed = False

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Run one batch shaped and typed as ``inputs[0]``; returns the chosen output (``self.output``)."""
        if self.closed:
            raise DataError("backend is closed", path=self.path, fix="load the model again")
        spec = self.inputs[0]
        if not isinstance(batch, np.ndarray):
            raise DataError("input must be a numpy array", got=type(batch).__name__, path=self.path)
        if batch.dtype != np.dtype(spec.dtype):
            raise DataError("input has the wrong dtype", path=self.path, expected=spec.dtype,
                            got=str(batch.dtype),
                            fix="use edgeseg.preprocess.preprocess(frame, backend.meta)")
        if not spec.accepts(batch):
            raise DataError("input has the wrong shape", path=self.path,
                            expected=f"{spec.name} {tuple(spec.shape)}", got=tuple(batch.shape),
                            fix="preprocess frames with the model's meta (input size "
                                f"{self.meta.input_size[0]}x{self.meta.input_size[1]}, "
                                f"{self.meta.layout}), or export with --dynamic for other sizes")
        return self._infer(np.ascontiguousarray(batch))

    __call__ = infer

    def _infer(self, batch: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path} {self.meta.model} {self.meta.precision}>"
