"""``edgeseg meta MODEL``: write the meta of a model edgeseg did not export (an ONNX from
torchvision, MMDeploy, Hugging Face..., or a trtexec plan), so ``run``, ``quantize``, ``build``,
``bench`` and ``compare`` take it like their own.

What the graph says (``edgeseg inspect MODEL``) is read first; the options say the rest (classes,
normalisation, size, output) and win over the file's own meta; where they contradict the graph the
command refuses, naming the option to give. The meta goes into the ONNX (the graph untouched) or,
for an engine or with ``--sidecar``, into ``MODEL.meta.json``.

>>> import argparse
>>> p = argparse.ArgumentParser(prog="edgeseg meta"); add_args(p)
>>> a = p.parse_args(["m.onnx", "--classes", "voc", "--scale", "255", "--print"])
>>> a.classes.source, a.scale, a.print, a.sidecar
('preset voc', 255, True, False)
"""

from __future__ import annotations

import argparse
import sys

from ._meta_args import add_meta_args, options_from_args

EXAMPLES = """examples:
  edgeseg inspect deeplabv3.onnx                          (what the graph says, and what is missing)
  edgeseg meta deeplabv3.onnx --classes voc --output out
      torchvision (out and aux outputs): run 'out'; ImageNet mean/std is the default
  edgeseg meta end2end.onnx --classes ade20k --mean 123.675,116.28,103.53 --std 58.395,57.12,57.375
      MMDeploy: int64 label ids out, MMSegmentation's mean/std in 0..255 units (RGB)
  edgeseg meta segformer.onnx --classes ade20k --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --input-size 512x512
      Hugging Face SegFormer: logits at 1/4 size (resized before argmax), dynamic H/W run at 512x512
  edgeseg meta model.plan --classes labels.txt --colors colors.txt --input-size 512x512
      a trtexec plan (nothing in it is readable without TensorRT): writes model.plan.meta.json
  edgeseg meta model.onnx --classes labels.txt --print            (show the meta as JSON, write nothing)
  edgeseg meta /models/ro/model.onnx --classes voc --sidecar       (model.onnx.meta.json, the ONNX unchanged)
--scale 255 --mean 0,0,0 --std 1,1,1 is a network that takes raw 0..255 pixels.
labels.txt: one class name a line (segNet's file); colors.txt: 'r g b' a line."""


def add_args(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EXAMPLES
    p.add_argument("model", help="an .onnx, or an .engine/.plan (the meta goes into MODEL.meta.json)")
    p.add_argument("--print", action="store_true", help="print the meta it would write as JSON; write nothing")
    p.add_argument("--sidecar", action="store_true",
                   help="for an ONNX: write MODEL.meta.json beside it and leave the file as it is")
    add_meta_args(p, title="meta (each option wins over the file's own meta; the graph says the rest)")


def _list(values, n: int = 4) -> str:
    values = [str(v) for v in values]
    return ", ".join(values) if len(values) <= n + 1 else ", ".join(values[:n]) + f", ... {values[-1]}"


def summary(authored, written) -> str:
    """What was written, in a few lines: classes, input, output, where; then the notes."""
    m, src = authored.meta, authored.sources
    where = (f"into {written.path} (metadata_props 'edgeseg.meta')" if written.where == "onnx"
             else f"to {written.path}")
    h, w = m.input_size
    if m.run_size == "frame":
        size = f"each frame's size rounded to a multiple of {m.size_multiple} (quantize/bench: {h}x{w})"
    else:
        size = f"{h}x{w}"
    shape = f"1x3x{h}x{w}" if m.layout == "NCHW" else f"1x{h}x{w}x3"
    norm = ("normalised in the graph" if m.input_dtype == "uint8" else
            f"mean {_list(round(x, 4) for x in m.mean)} std {_list(round(x, 4) for x in m.std)} (0..1 units)")
    output = f"'{m.output_name}'" if m.output_name else "the graph's first"
    kind = m.output_kind + (f" {m.label_dtype}" if m.label_dtype else "") + \
        (f" at 1/{m.output_stride} size (resized before argmax)" if m.output_stride else "")
    lines = [f"wrote the meta {where}, meta_version {written.meta_version}",
             f"  model    {m.model}",
             f"  classes  {m.num_classes} ({authored.class_source or src['classes']}): {_list(m.classes)}",
             f"  input    {size} ({shape} {m.input_dtype} {m.layout} {m.color_order}); {norm}",
             f"  output   {output}: {kind}"]
    notes = [*authored.notes, *written.notes]
    if notes:
        lines.append("notes:")
        lines += [f"  - {n}" for n in notes]
    return "\n".join(lines)


def run(a: argparse.Namespace) -> int:
    from ..meta_author import author_meta
    from ..meta_write import write_model_meta
    authored = author_meta(a.model, base=a.meta, options=options_from_args(a))
    if a.print:
        print(authored.meta.to_json(indent=2))
        for note in authored.notes:
            print(f"note: {note}", file=sys.stderr)
        return 0
    written = write_model_meta(a.model, authored.meta, sidecar=a.sidecar)
    print(summary(authored, written))
    return 0
