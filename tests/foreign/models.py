"""Graphs in the shapes other exporters write, from tiny torch modules exported with torch.onnx,
and a tiny random-weight SegFormer from transformers' own code.

Each :class:`Graph` keeps the torch module it was exported from, so a test can ask what the
module itself gives on the very batch edgeseg built (:meth:`Graph.reference_labels` decodes it as
the model's authors do: scores upsampled with ``interpolate(bilinear, align_corners=False)`` to
the network size, then argmax).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from edgeseg.meta import IMAGENET_MEAN, IMAGENET_STD, ModelMeta

CLASSES = ("road", "car", "person", "sky", "tree")
SIZE = (64, 64)
OPSET = 17


def meta(**changes) -> ModelMeta:
    """The meta a user writes for these graphs (``edgeseg meta`` would write the same)."""
    base = {"model": "foreign", "classes": CLASSES, "input_size": SIZE}
    return ModelMeta(**{**base, **changes})


@contextlib.contextmanager
def torch_reference():
    """No grad, one thread: these nets are tiny, and torch's thread pool on a busy 2-core machine
    made each 64x64 forward pass 50x slower (109 ms against 2.3 ms here)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_num_threads(threads)


# -- torch modules ----------------------------------------------------------------------------------
class Backbone(torch.nn.Module):
    """Class scores at 1/``stride`` of the input: stride-2 convolutions, then a 1x1 classifier."""

    def __init__(self, stride: int = 4, classes: int = len(CLASSES), width: int = 8, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        layers, cin = [], 3
        for _ in range(int(np.log2(stride))):
            layers += [torch.nn.Conv2d(cin, width, 3, stride=2, padding=1), torch.nn.ReLU()]
            cin = width
        layers += [torch.nn.Conv2d(cin, width, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(width, classes, 1)]
        self.body = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class Upsampled(torch.nn.Module):
    """torchvision's heads: scores resized to the input size inside the graph."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return F.interpolate(self.net(x), size=x.shape[-2:], mode="bilinear", align_corners=False)


class ArgMaxLabels(torch.nn.Module):
    """MMDeploy's segmentation export: ``argmax(1, keepdim=True)`` -> int64 N,1,H,W class ids."""

    def __init__(self, net, dtype=torch.int64, keepdim: bool = True):
        super().__init__()
        self.net, self.dtype, self.keepdim = net, dtype, keepdim

    def forward(self, x):
        return self.net(x).argmax(1, keepdim=self.keepdim).to(self.dtype)


class Probabilities(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x), 1)


class Uint8Input(torch.nn.Module):
    """A graph that takes uint8 RGB pixels (N,H,W,3 or N,3,H,W) and normalises itself
    (Transpose + Cast + Sub/Div), as exports with the preprocessing baked in do."""

    def __init__(self, net, nhwc: bool = True, mean=IMAGENET_MEAN, std=IMAGENET_STD):
        super().__init__()
        self.net, self.nhwc = net, nhwc
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1) * 255)

    def forward(self, x):
        x = x.permute(0, 3, 1, 2) if self.nhwc else x
        return self.net((x.float() - self.mean) / self.std)


class Float16Input(torch.nn.Module):
    """A graph whose input is float16 (an fp16 export that keeps float32 compute inside)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x.float())


class TorchvisionOutputs(torch.nn.Module):
    """torchvision's ``{"out": main head, "aux": auxiliary head}``, as two graph outputs."""

    def __init__(self, net, aux, aux_first: bool):
        super().__init__()
        self.net, self.aux, self.aux_first = Upsampled(net), Upsampled(aux), aux_first

    def forward(self, x):
        out, aux = self.net(x), self.aux(x)
        return (aux, out) if self.aux_first else (out, aux)


# -- exported graphs --------------------------------------------------------------------------------
@dataclass
class Graph:
    name: str
    path: str
    meta: ModelMeta
    module: torch.nn.Module
    output_index: int = 0   # which of the module's outputs the meta picks

    def torch_output(self, batch: np.ndarray) -> np.ndarray:
        """The module's chosen output on ``batch`` (the tensor edgeseg's preprocess built)."""
        with torch_reference():
            out = self.module(torch.from_numpy(batch))
        out = out[self.output_index] if isinstance(out, tuple) else out
        return out.numpy()

    def reference_labels(self, batch: np.ndarray) -> np.ndarray:
        """H x W class ids at the batch's network size, as the model's authors decode the output."""
        size = batch.shape[1:3] if self.meta.layout == "NHWC" else batch.shape[2:4]
        out = torch.from_numpy(self.torch_output(batch))
        with torch_reference():
            if self.meta.output_kind == "labels":
                lab = out.reshape(out.shape[0], 1, *out.shape[-2:]).float()
                return F.interpolate(lab, size=tuple(size), mode="nearest")[0, 0].numpy().astype(np.int64)
            scores = F.interpolate(out, size=tuple(size), mode="bilinear", align_corners=False)
        return scores[0].argmax(0).numpy()


def export(module, example: np.ndarray, path, output_names=("output",), dynamic_hw: bool = False) -> str:
    """``torch.onnx.export`` with the TorchScript exporter (dynamo=False): 0.4 s for these graphs
    against 7 s for torch 2.13's default dynamo exporter, which gives the same graphs here."""
    axes = None
    if dynamic_hw:
        axes = {"input": {2: "height", 3: "width"}, **{n: {2: "height", 3: "width"} for n in output_names}}
    with warnings.catch_warnings(), torch_reference():
        warnings.simplefilter("ignore")   # the exporter's deprecation and tracer chatter
        torch.onnx.export(module.eval(), (torch.from_numpy(example),), os.fspath(path), input_names=["input"],
                          output_names=list(output_names), opset_version=OPSET, dynamo=False,
                          dynamic_axes=axes)
    return os.fspath(path)


def build_graphs(folder) -> dict[str, Graph]:
    """Every shape at 64x64 (the dynamic one at any size), each with the meta that serves it."""
    h, w = SIZE
    f32 = np.random.default_rng(0).normal(size=(1, 3, h, w)).astype(np.float32)
    u8 = np.random.default_rng(0).integers(0, 256, (1, h, w, 3), dtype=np.uint8)
    graphs = {}

    def add(name, module, example, the_meta, **kw):
        index = kw.pop("output_index", 0)
        graphs[name] = Graph(name, export(module, example, os.path.join(folder, f"{name}.onnx"), **kw), the_meta,
                             module.eval(), index)

    add("quarter_logits", Backbone(stride=4), f32, meta(output_stride=4))
    add("logits", Upsampled(Backbone(stride=4)), f32, meta())
    add("probs", Probabilities(Upsampled(Backbone(stride=4))), f32, meta(output_kind="probs"))
    add("labels_int64", ArgMaxLabels(Upsampled(Backbone(stride=4))), f32,
        meta(output_kind="labels", label_dtype="int64"))
    add("labels_int32", ArgMaxLabels(Upsampled(Backbone(stride=4)), torch.int32, keepdim=False), f32,
        meta(output_kind="labels", label_dtype="int32"))
    add("labels_uint8_quarter", ArgMaxLabels(Backbone(stride=4), torch.uint8), f32,
        meta(output_kind="labels", label_dtype="uint8"))
    add("nhwc_uint8", Uint8Input(Backbone(stride=4)), u8, meta(input_dtype="uint8", layout="NHWC"))
    add("nchw_uint8", Uint8Input(Backbone(stride=4), nhwc=False), np.ascontiguousarray(u8.transpose(0, 3, 1, 2)),
        meta(input_dtype="uint8"))
    add("float16_input", Float16Input(Upsampled(Backbone(stride=4))), f32.astype(np.float16),
        meta(input_dtype="float16"))
    for aux_first in (False, True):
        name = "torchvision_aux_first" if aux_first else "torchvision"
        names = ("aux", "out") if aux_first else ("out", "aux")
        add(name, TorchvisionOutputs(Backbone(stride=4), Backbone(stride=4, seed=1), aux_first), f32,
            meta(output_name="out"), output_names=names, output_index=1 if aux_first else 0)
    add("dynamic", Upsampled(Backbone(stride=4)), f32, meta(run_size="frame", size_multiple=32), dynamic_hw=True)
    return graphs


# -- SegFormer, from transformers' own code ----------------------------------------------------------
def tiny_segformer(seed: int = 0):
    """A random-weight SegFormer-B0-shaped model, tiny: 2 encoder blocks, hidden sizes 8/16, 5 labels.
    Its logits are at 1/4 of the input (the decode head works at the first block's stride)."""
    from transformers import SegformerConfig, SegformerForSemanticSegmentation
    torch.manual_seed(seed)
    cfg = SegformerConfig(num_channels=3, num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1],
                          hidden_sizes=[8, 16], patch_sizes=[7, 3], strides=[4, 2], num_attention_heads=[1, 2],
                          mlp_ratios=[2, 2], decoder_hidden_size=16, num_labels=len(CLASSES),
                          id2label=dict(enumerate(CLASSES)), label2id={c: i for i, c in enumerate(CLASSES)})
    return SegformerForSemanticSegmentation(cfg).eval()


class LogitsOnly(torch.nn.Module):
    """``model(pixel_values=x).logits``: what optimum and HF's own ONNX recipes export."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, pixel_values):
        return self.model(pixel_values=pixel_values).logits


def export_segformer(model, path) -> str:
    example = np.random.default_rng(0).normal(size=(1, 3, *SIZE)).astype(np.float32)
    return export(LogitsOnly(model), example, path, output_names=("logits",))


def segformer_meta() -> ModelMeta:
    """HF's SegformerImageProcessor: RGB, /255, ImageNet mean/std (its image_mean/image_std)."""
    return meta(model="segformer-tiny", output_stride=4)
