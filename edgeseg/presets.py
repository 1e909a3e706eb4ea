"""Class names and palettes a model from elsewhere was trained with, and segNet's files.

Presets carry the official names and colours of three data sets: ``voc`` (background and the 20
PASCAL VOC classes, the devkit's bit-pattern palette), ``cityscapes`` (the 19 train-id classes, the
official colours) and ``ade20k`` (the 150 SceneParsing classes, names and palette exactly as
MMSegmentation's ``ADE20KDataset`` has them, ``"bed "`` with its trailing space included; they are
what MMSeg and Hugging Face ADE20K checkpoints predict).

jetson-inference's segNet (and DeepStream users) keep classes in two text files, read here the way
segNet reads them (``tensorNet::LoadClassLabels`` / ``LoadClassColors``):

- ``labels.txt``: one class name a line, line ``i`` is class ``i``. A line ``n01440764 tench`` (a
  WordNet synset, then a space) names ``tench``. There are no comments: segNet takes a ``#`` line as
  a class name, so edgeseg does too (a count check against the graph catches a stray header).
- ``colors.txt``: ``r g b`` a line (whitespace between, 0..255), with an optional fourth alpha value
  that segNet uses for its overlay and edgeseg reads and ignores (its overlay has one ``--alpha``).

Trailing blank lines are ignored. A blank line before the last class, which segNet would read as a
class named "" (or as white, 255 255 255), is an error naming the line, as is a colour line that is
not three or four numbers (segNet would quietly fill in white).
``edgeseg build --deepstream`` writes both files (:mod:`edgeseg.backends.tensorrt.deepstream`);
these readers read back exactly what it writes.

>>> p = preset("voc")
>>> p.num_classes, p.classes[15], p.palette[15]
(21, 'person', (192, 128, 128))
>>> len(preset("ade20k").classes), preset("cityscapes").classes[:3]
(150, ('road', 'sidewalk', 'building'))
>>> import os, tempfile
>>> d = tempfile.mkdtemp()
>>> _ = open(os.path.join(d, "labels.txt"), "w").write("road\\ncar\\n\\n")
>>> _ = open(os.path.join(d, "colors.txt"), "w").write("128 64 128\\n0 0 142 255\\n")
>>> read_labels(os.path.join(d, "labels.txt")), read_colors(os.path.join(d, "colors.txt"))
(('road', 'car'), ((128, 64, 128), (0, 0, 142)))
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import ConfigError, DataError

PRESET_NAMES = ("voc", "cityscapes", "ade20k")
# segNet's synset lines: 'n' + 8 digits + a space, then the name (ImageNet's synset_words.txt).
# segNet itself only checks the 'n' and the space at index 9; digits keep "notebooks paper" whole.
_SYNSET = re.compile(r"^n\d{8} (.+)$")

# MMSegmentation 1.2.2, mmseg/datasets/ade.py, ADE20KDataset.METAINFO (extracted with
# ast.literal_eval from the wheel, not typed: tests/fixtures/presets/mmseg_metainfo.json).
ADE20K_CLASSES = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed ", "windowpane", "grass", "cabinet",
    "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair", "car", "water",
    "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field", "armchair", "seat", "fence", "desk",
    "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion", "base", "box", "column", "signboard",
    "chest of drawers", "counter", "sand", "sink", "skyscraper", "fireplace", "refrigerator", "grandstand", "path",
    "stairs", "runway", "case", "pool table", "pillow", "screen door", "stairway", "river", "bridge", "bookcase",
    "blind", "coffee table", "toilet", "flower", "book", "hill", "bench", "countertop", "stove", "palm",
    "kitchen island", "computer", "swivel chair", "boat", "bar", "arcade machine", "hovel", "bus", "towel", "light",
    "truck", "tower", "chandelier", "awning", "streetlight", "booth", "television receiver", "airplane", "dirt track",
    "apparel", "pole", "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster", "stage", "van",
    "ship", "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool", "barrel",
    "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank", "trade name",
    "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket", "sculpture", "hood", "sconce",
    "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen", "plate", "monitor", "bulletin board",
    "shower", "radiator", "glass", "clock", "flag",
)
ADE20K_PALETTE = (
    (120, 120, 120), (180, 120, 120), (6, 230, 230), (80, 50, 50), (4, 200, 3), (120, 120, 80), (140, 140, 140),
    (204, 5, 255), (230, 230, 230), (4, 250, 7), (224, 5, 255), (235, 255, 7), (150, 5, 61), (120, 120, 70),
    (8, 255, 51), (255, 6, 82), (143, 255, 140), (204, 255, 4), (255, 51, 7), (204, 70, 3), (0, 102, 200),
    (61, 230, 250), (255, 6, 51), (11, 102, 255), (255, 7, 71), (255, 9, 224), (9, 7, 230), (220, 220, 220),
    (255, 9, 92), (112, 9, 255), (8, 255, 214), (7, 255, 224), (255, 184, 6), (10, 255, 71), (255, 41, 10),
    (7, 255, 255), (224, 255, 8), (102, 8, 255), (255, 61, 6), (255, 194, 7), (255, 122, 8), (0, 255, 20),
    (255, 8, 41), (255, 5, 153), (6, 51, 255), (235, 12, 255), (160, 150, 20), (0, 163, 255), (140, 140, 140),
    (250, 10, 15), (20, 255, 0), (31, 255, 0), (255, 31, 0), (255, 224, 0), (153, 255, 0), (0, 0, 255), (255, 71, 0),
    (0, 235, 255), (0, 173, 255), (31, 0, 255), (11, 200, 200), (255, 82, 0), (0, 255, 245), (0, 61, 255),
    (0, 255, 112), (0, 255, 133), (255, 0, 0), (255, 163, 0), (255, 102, 0), (194, 255, 0), (0, 143, 255),
    (51, 255, 0), (0, 82, 255), (0, 255, 41), (0, 255, 173), (10, 0, 255), (173, 255, 0), (0, 255, 153), (255, 92, 0),
    (255, 0, 255), (255, 0, 245), (255, 0, 102), (255, 173, 0), (255, 0, 20), (255, 184, 184), (0, 31, 255),
    (0, 255, 61), (0, 71, 255), (255, 0, 204), (0, 255, 194), (0, 255, 82), (0, 10, 255), (0, 112, 255), (51, 0, 255),
    (0, 194, 255), (0, 122, 255), (0, 255, 163), (255, 153, 0), (0, 255, 10), (255, 112, 0), (143, 255, 0),
    (82, 0, 255), (163, 255, 0), (255, 235, 0), (8, 184, 170), (133, 0, 255), (0, 255, 92), (184, 0, 255),
    (255, 0, 31), (0, 184, 255), (0, 214, 255), (255, 0, 112), (92, 255, 0), (0, 224, 255), (112, 224, 255),
    (70, 184, 160), (163, 0, 255), (153, 0, 255), (71, 255, 0), (255, 0, 163), (255, 204, 0), (255, 0, 143),
    (0, 255, 235), (133, 255, 0), (255, 0, 235), (245, 0, 255), (255, 0, 122), (255, 245, 0), (10, 190, 212),
    (214, 255, 0), (0, 204, 255), (20, 0, 255), (255, 255, 0), (0, 153, 255), (0, 41, 255), (0, 255, 204),
    (41, 0, 255), (41, 255, 0), (173, 0, 255), (0, 245, 255), (71, 0, 255), (122, 0, 255), (0, 255, 184),
    (0, 92, 255), (184, 255, 0), (0, 133, 255), (255, 214, 0), (25, 194, 194), (102, 255, 0), (92, 0, 255),
)


@dataclass(frozen=True)
class Preset:
    """A data set's class names and palette (RGB), and where they come from."""

    name: str
    classes: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...]
    source: str

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def preset(name: str) -> Preset:
    """The preset called ``name`` (voc | cityscapes | ade20k); else a ConfigError with a did-you-mean."""
    key = str(name).strip().lower()
    if key == "voc":
        from .data.voc import VOC_CLASSES, VOC_PALETTE
        return Preset("voc", VOC_CLASSES, VOC_PALETTE, "PASCAL VOC 2012 (background + 20 classes, devkit palette)")
    if key == "cityscapes":
        from .data.cityscapes import CITYSCAPES_CLASSES, CITYSCAPES_PALETTE
        return Preset("cityscapes", CITYSCAPES_CLASSES, CITYSCAPES_PALETTE,
                      "Cityscapes (19 train-id classes, official colours)")
    if key == "ade20k":
        return Preset("ade20k", ADE20K_CLASSES, ADE20K_PALETTE,
                      "ADE20K SceneParsing (150 classes, MMSegmentation's names and palette)")
    from .uri import did_you_mean
    raise ConfigError("unknown class preset", expected=" | ".join(PRESET_NAMES), got=repr(name),
                      fix=did_you_mean(key, PRESET_NAMES) or "name a preset, a labels.txt file or a comma list")


# -- segNet's files ------------------------------------------------------------------------------
def _lines(path, what: str) -> list[str]:
    """The file's lines without line ends (\\n or \\r\\n, a UTF-8 BOM dropped), trailing blank lines gone."""
    path = os.fspath(path)
    from .utils.files import existing_file
    existing_file(path, what, error=DataError, fix=f"give the {what}'s path")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise DataError(f"the {what} is not UTF-8 text", path=f"{path}, line {line}",
                        got=f"byte 0x{exc.object[exc.start]:02x}",
                        fix="save it as UTF-8 (one entry a line)") from None
    lines = [ln.removesuffix("\r") for ln in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _blank(path, what: str, n: int, segnet_reads: str) -> DataError:
    return DataError(f"blank line {n} in the {what}", path=f"{os.fspath(path)}, line {n}",
                     expected="one entry a line, blank lines only at the end",
                     got=f"a blank line before the last entry (segNet would read it as {segnet_reads} for class {n - 1})",
                     fix=f"write class {n - 1}'s entry on line {n}, or remove the line if it is not a class")


def read_labels(path) -> tuple[str, ...]:
    """The class names in a segNet-style ``labels.txt``: line ``i`` is class ``i`` (module docstring)."""
    names = []
    for n, line in enumerate(_lines(path, "labels file"), 1):
        name = line.strip()
        if not name:
            raise _blank(path, "labels file", n, 'a class named ""')
        m = _SYNSET.match(name)
        names.append(m.group(1).strip() if m else name)
    if not names:
        raise DataError("the labels file names no class", path=os.fspath(path),
                        expected="one class name a line", got="an empty file")
    return tuple(names)


def _channel(text: str, path, n: int, line: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 <= value <= 255) or value != int(value):
        raise DataError("a colour line is not r g b in 0..255", path=f"{os.fspath(path)}, line {n}",
                        expected="three integers 0..255 separated by spaces, e.g. 128 64 128 (an alpha 4th is allowed)",
                        got=repr(line), fix="segNet has no comments or commas here: one 'r g b' a line")
    return int(value)


def read_colors(path) -> tuple[tuple[int, int, int], ...]:
    """The RGB colours in a segNet-style ``colors.txt`` (``r g b [a]`` a line; alpha read, ignored)."""
    colors = []
    for n, line in enumerate(_lines(path, "colors file"), 1):
        fields = line.split()
        if not fields:
            raise _blank(path, "colors file", n, "white (255 255 255)")
        if len(fields) not in (3, 4):
            raise DataError("a colour line is not r g b in 0..255", path=f"{os.fspath(path)}, line {n}",
                            expected="three integers 0..255 separated by spaces, e.g. 128 64 128 (an alpha 4th "
                                     "is allowed)", got=repr(line),
                            fix="segNet has no comments or commas here: one 'r g b' a line")
        r, g, b = (_channel(x, path, n, line) for x in fields[:3])
        if len(fields) == 4:
            _channel(fields[3], path, n, line)
        colors.append((r, g, b))
    if not colors:
        raise DataError("the colors file holds no colour", path=os.fspath(path),
                        expected="one 'r g b' a line", got="an empty file")
    return tuple(colors)


# -- what users type -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ClassSpec:
    """Classes as a user gave them: the names, a palette when the source has one, and a word on where
    they came from (``preset ade20k``, ``labels.txt``, ``list``)."""

    classes: tuple[str, ...]
    palette: tuple[tuple[int, int, int], ...] | None
    source: str


def resolve_classes(spec) -> ClassSpec:
    """``spec``: a preset name, the path of a labels.txt, ``"a,b,c"``, or a sequence of names.

    >>> resolve_classes("road,car").classes, resolve_classes(["sky"]).source
    (('road', 'car'), 'list')
    """
    if isinstance(spec, ClassSpec):
        return spec
    if isinstance(spec, Preset):
        return ClassSpec(spec.classes, spec.palette, f"preset {spec.name}")
    if isinstance(spec, os.PathLike):
        return ClassSpec(read_labels(spec), None, os.fspath(spec))
    if isinstance(spec, str):
        text = spec.strip()
        if text.lower() in PRESET_NAMES:
            p = preset(text)
            return ClassSpec(p.classes, p.palette, f"preset {p.name}")
        if "," in text:
            names = tuple(x.strip() for x in text.split(","))
            while names and not names[-1]:
                names = names[:-1]   # "road," is one class
            if not names or not all(names):
                raise ConfigError("empty class name in the list", got=repr(spec),
                                  expected="comma-separated names, e.g. road,car,sky")
            return ClassSpec(names, None, "list")
        if os.path.exists(text) or text.endswith(".txt") or os.sep in text:
            return ClassSpec(read_labels(text), None, text)   # a path: a missing file is named as one
        from .uri import did_you_mean
        raise ConfigError("classes must be a preset, a labels file or a comma list", got=repr(spec),
                          expected=f"{' | '.join(PRESET_NAMES)} | a labels.txt path | a,b,c",
                          fix=did_you_mean(text.lower(), PRESET_NAMES) or
                          "check the file's path; for a single class write it with a comma: 'road,'")
    try:
        names = tuple(str(c) for c in spec)
    except TypeError:
        raise ConfigError("classes must be a preset, a labels file or a list of names",
                          got=type(spec).__name__) from None
    if not names or not all(n.strip() for n in names):
        raise ConfigError("classes must be non-empty names", got=repr(names)[:200])
    return ClassSpec(names, None, "list")


def resolve_colors(spec) -> tuple[tuple[int, int, int], ...]:
    """``spec``: the path of a colors.txt, or a sequence of (r, g, b).

    >>> resolve_colors([(1, 2, 3), [4, 5, 6]])
    ((1, 2, 3), (4, 5, 6))
    """
    if isinstance(spec, (str, os.PathLike)):
        return read_colors(spec)
    try:
        colors = tuple(tuple(int(c) for c in rgb) for rgb in spec)
    except (TypeError, ValueError):
        raise ConfigError("colors must be a colors.txt path or a list of (r, g, b)", got=repr(spec)[:200]) from None
    if not colors or any(len(c) != 3 or min(c) < 0 or max(c) > 255 for c in colors):
        raise ConfigError("colors must be (r, g, b) triples in 0..255", got=repr(colors)[:200])
    return colors
