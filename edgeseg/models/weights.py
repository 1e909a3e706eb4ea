"""Pretrained weights: torchvision's ImageNet backbones and COCO-VOC segmentation checkpoints.

``load_pretrained(module, source)`` takes a checkpoint name from :data:`CHECKPOINTS` (fetched
once into the torch hub cache, never at import time), the path of a local file (offline use),
or a state_dict. ImageNet checkpoints (``features.*`` + ``classifier.*``) map onto a backbone:
``features.N...`` becomes ``backbone.N...`` and the ImageNet classifier is dropped.
Segmentation checkpoints load as they are; their aux head is dropped when the model has none.
Any key or shape that does not fit raises :class:`ModelError` listing the first few.

>>> import os, tempfile, torch
>>> from edgeseg.models import build_model, load_pretrained
>>> src = build_model("lraspp_mobilenet_v3_small", num_classes=2)
>>> path = os.path.join(tempfile.mkdtemp(), "lraspp.pth")
>>> torch.save(src.state_dict(), path)
>>> dst = load_pretrained(build_model("lraspp_mobilenet_v3_small", num_classes=2), path)
>>> torch.equal(dst.classifier.low_classifier.weight, src.classifier.low_classifier.weight)
True
"""

from __future__ import annotations

import os
import pickle
import re
from dataclasses import dataclass
from typing import Callable, Mapping
from urllib.parse import urlparse

import torch
from torch import nn

from .. import uri
from ..errors import ModelError
from .backbone import MobileNetBackbone
from .model import SegmentationModel

_BASE = "https://download.pytorch.org/models/"
SHOW = 5  # how many offending keys an error lists


@dataclass(frozen=True)
class Checkpoint:
    """A published checkpoint: where it lives, what it holds, which model it fits.

    >>> CHECKPOINTS["lraspp_mobilenet_v3_large"].file_name
    'lraspp_mobilenet_v3_large-d234d4ea.pth'
    """

    url: str
    kind: str           # "backbone" (ImageNet classifier: features.* + classifier.*) or "segmentation"
    backbone: str       # backbone it was trained with
    model: str | None   # zoo model it fits as a whole (segmentation checkpoints only)
    about: str

    @property
    def file_name(self) -> str:
        return os.path.basename(urlparse(self.url).path)


# torchvision 0.28's published weights (the hash in each file name is checked on download).
CHECKPOINTS: dict[str, Checkpoint] = {
    "mobilenet_v2": Checkpoint(_BASE + "mobilenet_v2-b0353104.pth", "backbone", "mobilenet_v2", None,
                               "ImageNet-1k, torchvision IMAGENET1K_V1, acc@1 71.9"),
    "mobilenet_v2.imagenet1k_v2": Checkpoint(
        _BASE + "mobilenet_v2-7ebf99e0.pth", "backbone", "mobilenet_v2", None,
        "ImageNet-1k, torchvision IMAGENET1K_V2, acc@1 72.2"),
    "mobilenet_v3_large": Checkpoint(
        _BASE + "mobilenet_v3_large-8738ca79.pth", "backbone", "mobilenet_v3_large", None,
        "ImageNet-1k, torchvision IMAGENET1K_V1 (what its segmentation models start from), acc@1 74.0"),
    "mobilenet_v3_large.imagenet1k_v2": Checkpoint(
        _BASE + "mobilenet_v3_large-5c1a4163.pth", "backbone", "mobilenet_v3_large", None,
        "ImageNet-1k, torchvision IMAGENET1K_V2, acc@1 75.3"),
    "mobilenet_v3_small": Checkpoint(
        _BASE + "mobilenet_v3_small-047dcff4.pth", "backbone", "mobilenet_v3_small", None,
        "ImageNet-1k, torchvision IMAGENET1K_V1, acc@1 67.7"),
    "deeplabv3_mobilenet_v3_large": Checkpoint(
        _BASE + "deeplabv3_mobilenet_v3_large-fc3c493d.pth", "segmentation", "mobilenet_v3_large",
        "deeplabv3_mobilenet_v3_large",
        "COCO val2017 on the 20 VOC classes + background (21), aux head, mIoU 60.3"),
    "lraspp_mobilenet_v3_large": Checkpoint(
        _BASE + "lraspp_mobilenet_v3_large-d234d4ea.pth", "segmentation", "mobilenet_v3_large",
        "lraspp_mobilenet_v3_large",
        "COCO val2017 on the 20 VOC classes + background (21), mIoU 57.9"),
}


def _first(keys, n: int = SHOW) -> str:
    keys = list(keys)
    more = f" (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def _hub_file(ckpt: Checkpoint) -> str:
    return os.path.join(torch.hub.get_dir(), "checkpoints", ckpt.file_name)


def download_checkpoint(name: str, *, progress: bool = True) -> dict[str, torch.Tensor]:
    """Fetch a known checkpoint into the torch hub cache (once) and return its state_dict.

    Offline, it raises ModelError naming the URL and how to load a copied file by path.

    >>> sorted(CHECKPOINTS)[:2]
    ['deeplabv3_mobilenet_v3_large', 'lraspp_mobilenet_v3_large']
    """
    ckpt = _known(name)
    try:
        return torch.hub.load_state_dict_from_url(ckpt.url, map_location="cpu", progress=progress,
                                                  check_hash=True, weights_only=True)
    except Exception as exc:  # URLError, socket errors, hash mismatch, proxy pages: all mean "no file"
        raise ModelError(f"could not download checkpoint {name!r}", expected=ckpt.url,
                         got=_brief(exc),
                         fix=(f"download {ckpt.url} on a machine with internet, then either copy it "
                              f"to {_hub_file(ckpt)} (found there from then on) or pass its path: "
                              f"load_pretrained(model, '/path/to/{ckpt.file_name}'), or for a backbone "
                              f"build_model(..., pretrained_backbone='/path/to/{ckpt.file_name}')"
                              )) from exc


def _known(name: str) -> Checkpoint:
    try:
        return CHECKPOINTS[name]
    except KeyError:
        close = uri.close_matches(name, CHECKPOINTS, n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise ModelError(f"{name!r} is neither a known checkpoint nor an existing file",
                         expected="a path to a .pth file or one of: " + ", ".join(CHECKPOINTS),
                         got=repr(name), fix=hint + "check the path or the name") from None


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a state_dict from a file safely (``weights_only=True``) onto the CPU.

    Training checkpoints that wrap it (``{"model": ...}`` or ``{"state_dict": ...}``) and
    DataParallel ``module.`` prefixes are unwrapped.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.pth")
    >>> torch.save({"epoch": 1, "model": {"module.w": torch.ones(2)}}, path)
    >>> read_state_dict(path)
    {'w': tensor([1., 1.])}
    """
    path = os.fspath(path)
    return _unwrap(safe_torch_load(path, fix="re-save it as torch.save(model.state_dict(), path)"), path)


def safe_torch_load(path: str, map_location="cpu", *, fix: str):
    """``torch.load(weights_only=True)`` whose failures are ModelErrors. torch's own message for a
    file that holds pickled objects advises ``weights_only=False``, i.e. running whatever code the
    file carries; edgeseg never passes that advice on. ``fix`` is for a truncated or foreign file.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.findall(r"GLOBAL ([\w.]+)", str(exc))  # the class or function it would have to import
        if not found:  # not a pickle at all, or one torch cannot parse
            raise _unreadable(path, exc, fix) from None
        raise ModelError("not a plain-weights checkpoint edgeseg can load safely", path=path,
                         expected="tensors, numbers, strings, lists and dicts only (a state_dict)",
                         got=f"pickled Python objects ({found[0]}), which loading would have to run as code",
                         fix="where the file was made, save only the weights: torch.save(model.state_dict(), "
                             "path); or use the last.pt / best.pt that edgeseg train writes") from None
    except Exception as exc:  # noqa: BLE001 - truncated zip, empty file, text, another framework's format
        raise _unreadable(path, exc, fix) from None


def _brief(exc: Exception) -> str:
    """The exception's type and first line, unless that line is torch's weights_only advice."""
    first = (str(exc).splitlines() or [""])[0]
    return type(exc).__name__ + ("" if "weights_only" in first or not first else f": {first[:160]}")


def _unreadable(path: str, exc: Exception, fix: str) -> ModelError:
    return ModelError("could not read checkpoint", path=path,
                      expected="a checkpoint saved with torch.save", got=_brief(exc),
                      fix=f"the file is truncated or not a torch checkpoint; {fix}")


def nonfinite(state, prefix: str = "") -> list[str]:
    """Names of the floating tensors in ``state`` (nested dicts/lists, e.g. a whole training
    checkpoint or an optimizer's state) holding NaN or inf, each with its counts.

    >>> nonfinite({"a": torch.ones(2), "b": {"c": torch.tensor([float("nan"), 1.0])}, "n": torch.tensor(3)})
    ['b.c (1 nan of 2)']
    """
    if isinstance(state, torch.Tensor):
        if not (state.is_floating_point() or state.is_complex()) or bool(torch.isfinite(state).all()):
            return []
        nan, inf = int(torch.isnan(state).sum()), int(torch.isinf(state).sum())
        counts = ", ".join(f"{n} {label}" for n, label in ((nan, "nan"), (inf, "inf")) if n)
        return [f"{prefix or '<tensor>'} ({counts} of {state.numel()})"]
    if isinstance(state, Mapping):
        items = state.items()
    elif isinstance(state, (list, tuple)):
        items = enumerate(state)
    else:
        return []
    return [bad for key, value in items for bad in nonfinite(value, f"{prefix}.{key}" if prefix else str(key))]


def check_finite(state, path: str | os.PathLike = "<state_dict>", *, what: str = "weights") -> None:
    """Refuse weights (or an optimizer state) holding NaN or inf: a model loaded from them outputs
    NaN wherever they reach, which no later step would explain.

    >>> check_finite({"w": torch.ones(2)})
    >>> check_finite({"w": torch.tensor([1.0, float("inf")])}, "x.pt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ModelError: checkpoint holds non-finite numbers (NaN or inf): x.pt
      expected: finite weights
      got:      1 tensor(s): w (1 inf of 2)
    ...
    """
    bad = nonfinite(state)
    if bad:
        raise ModelError("checkpoint holds non-finite numbers (NaN or inf)", path=os.fspath(path),
                         expected=f"finite {what}", got=f"{len(bad)} tensor(s): {_first(bad)}",
                         fix="the run that wrote it diverged: use an earlier checkpoint, or retrain with a "
                             "lower --lr and --grad-clip on")


def _unwrap(state, where) -> dict[str, torch.Tensor]:
    for key in ("model", "state_dict"):  # training checkpoints nest the weights under one of these
        if isinstance(state, Mapping) and isinstance(state.get(key), Mapping):
            state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError("checkpoint is not a state_dict", expected="a mapping of name -> tensor",
                         got=type(state).__name__, fix="save model.state_dict(), not the model",
                         path=str(where))
    if state and all(k.startswith("module.") for k in state):  # saved from DataParallel / DDP
        state = {k[len("module."):]: v for k, v in state.items()}
    return dict(state)


def _backbone_of(module: nn.Module) -> MobileNetBackbone:
    return module.backbone if isinstance(module, SegmentationModel) else module


# ---- adapters: checkpoint kind -> (module to load into, its state_dict) ----

def _adapt_imagenet(state: dict, module: nn.Module) -> tuple[nn.Module, dict]:
    # torchvision's classifier networks keep the extractor under "features." and the ImageNet
    # head under "classifier." (which no segmentation model wants)
    mapped = {(k[len("features."):] if k.startswith("features.") else k): v
              for k, v in state.items() if not k.startswith("classifier.")}
    return _backbone_of(module), mapped


def _adapt_segmentation(state: dict, module: nn.Module) -> tuple[nn.Module, dict]:
    if not isinstance(module, SegmentationModel):  # a bare backbone takes the backbone part
        return module, {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
    if not module.has_aux:  # torchvision's deeplabv3 checkpoint has an aux head; inference needs none
        state = {k: v for k, v in state.items() if not k.startswith("aux_classifier.")}
    return module, state


_ADAPTERS: dict[str, Callable[[dict, nn.Module], tuple[nn.Module, dict]]] = {
    "backbone": _adapt_imagenet,
    "segmentation": _adapt_segmentation,
}


def _guess_kind(state: Mapping[str, torch.Tensor]) -> str:
    return "backbone" if any(k.startswith("features.") for k in state) else "segmentation"


def _check_target(name: str, ckpt: Checkpoint, module: nn.Module) -> None:
    # a clear message before downloading anything, rather than a list of missing keys after
    backbone = getattr(_backbone_of(module), "name", type(module).__name__)
    if ckpt.kind == "segmentation" and isinstance(module, SegmentationModel):
        if module.name != ckpt.model:
            raise ModelError(f"checkpoint {name!r} does not fit this model", expected=ckpt.model,
                             got=module.name, fix=f"build_model({ckpt.model!r}) and load it there")
    elif backbone != ckpt.backbone:
        raise ModelError(f"checkpoint {name!r} does not fit this model",
                         expected=f"a model on {ckpt.backbone}", got=f"a model on {backbone}",
                         fix=f"pick a *_{ckpt.backbone} model, or the checkpoint named {backbone!r}")


def load_state_into(target: nn.Module, state: Mapping[str, torch.Tensor], where: str) -> None:
    """Load ``state`` strictly into ``target``; keys, shapes or values that do not fit (missing,
    unexpected, another shape, NaN/inf) raise ModelError naming ``where``, never torch's traceback."""
    expected = target.state_dict()
    # old checkpoints (mobilenet_v2-b0353104) predate BatchNorm's num_batches_tracked counter
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
              if k in state and state[k].shape != v.shape]
    if missing or unexpected or shapes:
        problems = [f"{label}: {_first(keys)}" for label, keys in
                    (("missing", missing), ("unexpected", unexpected), ("shape", shapes)) if keys]
        raise ModelError("checkpoint does not fit the model",
                         expected=f"{len(expected)} tensors of {type(target).__name__} "
                                  f"{getattr(target, 'name', '')}".rstrip(),
                         got="; ".join(problems),
                         fix="build the model the checkpoint was trained as (name, num_classes, aux, "
                             "width_mult)", path=where)
    check_finite(state, where)
    full = {k: v for k, v in expected.items() if k.endswith("num_batches_tracked")}
    full.update(state)
    target.load_state_dict(full, strict=True)


def load_pretrained(module: nn.Module, source: str | os.PathLike | Mapping[str, torch.Tensor], *,
                    progress: bool = True) -> nn.Module:
    """Load weights into a zoo model or bare backbone; return it.

    ``source``: a name from :data:`CHECKPOINTS` (downloaded once into the torch hub cache), the
    path of a checkpoint file (works offline), or a state_dict. ImageNet checkpoints fill only
    the backbone; segmentation checkpoints fill the whole model.

    >>> from edgeseg.models import build_model
    >>> m = build_model("fcn_mobilenet_v3_small", num_classes=2)
    >>> load_pretrained(m, {"features.0.0.weight": torch.zeros(16, 3, 3, 3)})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    edgeseg.errors.ModelError: checkpoint does not fit the model: <state_dict>
      expected: ... tensors of MobileNetBackbone mobilenet_v3_small
      got:      missing: 0.1.weight, 0.1.bias, ...
    ...
    """
    if not isinstance(source, (str, os.PathLike, Mapping)):
        raise ModelError("unusable weights source",
                         expected="a checkpoint name, a file path or a state_dict",
                         got=type(source).__name__,
                         fix="pass e.g. 'lraspp_mobilenet_v3_large' or the path of a .pth file")
    if isinstance(source, Mapping):
        state, where, kind = _unwrap(source, "<state_dict>"), "<state_dict>", None
    elif os.path.isfile(os.fspath(source)):
        state, where, kind = read_state_dict(source), os.fspath(source), None
    else:
        ckpt = _known(str(source))
        _check_target(str(source), ckpt, module)
        state, where, kind = download_checkpoint(str(source), progress=progress), ckpt.url, ckpt.kind
    target, mapped = _ADAPTERS[kind or _guess_kind(state)](state, module)
    load_state_into(target, mapped, where)
    return module
