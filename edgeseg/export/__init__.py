"""Export: torch checkpoint -> one self-contained ONNX file with its ModelMeta inside.

The only build-side package that uses torch. Importing ``edgeseg.export`` stays light (the CLI
imports it for ``--help``): the names below load their modules, and torch, on first use.

>>> import edgeseg.export as ex
>>> ex.ExportOptions(size="64x96", output_kind="labels").size, "export_onnx" in ex.__all__
((64, 96), True)

Typical use (a checkpoint written by ``edgeseg train``)::

    from edgeseg.export import export_onnx, read_onnx_meta
    r = export_onnx("runs/train/best.pt", "model.onnx", input_dtype="uint8", output_kind="labels")
    read_onnx_meta("model.onnx").classes
"""

from __future__ import annotations

from ..lazy import lazy_exports

# public name -> module that defines it; imported on first attribute access (PEP 562).
_LAZY = {
    "export_onnx": "exporter", "read_onnx_meta": "exporter", "ExportResult": "exporter",
    "ExportOptions": "options", "parse_size": "options",
    "check_parity": "parity", "simplify_model": "simplify", "ExportWrapper": "wrapper",
}

__all__ = sorted(_LAZY)


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
