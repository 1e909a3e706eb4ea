"""Static check of edgeseg's TensorRT calls against the API surfaces dumped from TensorRT's own
bindings (tests/fixtures/tensorrt_api/*.json), so a name missing in 10.x or 11.x fails a test on
a machine without TensorRT or a GPU.

What is checked (AST, no import of the scanned code):
  * attribute chains rooted at the tensorrt module: ``trt.BuilderFlag.FP16``, ``trt.Logger.WARNING``
    (the module is any name ``trt``, or a name bound by ``import tensorrt`` / ``require("tensorrt")``);
  * attributes of TensorRT objects the checker can type: ``trt.X(...)`` constructs X; the calls in
    :data:`RETURNS` produce their type; a type flows through local names and closures,
    ``self.attr = ...`` and keyword or positional dataclass arguments ``Slot(context=ctx)`` (keyed by
    attribute name, per file), the returns of same-file functions (``builder, network, parser =
    network_from_onnx(...)``), their parameters when every same-file call site agrees, and parameters
    annotated ``"trt.IBuilderConfig"``. Anything seen with two types is left unchecked, never
    guessed. Calling a property (``engine.num_io_tensors()``) is an error.

Which versions a reference must exist in: all fixtures, unless tagged
  * ``# trt: 10`` / ``# trt: 11`` (or ``10,11``) on the line, or on the first line of a statement
    (``def``, ``if``, ``with`` ...) to cover its whole block;
  * ``# trt: optional`` for a guarded use (``if hasattr(trt, ...)``): not checked;
  * a dict literal keyed by majors, ``{10: trt.BuilderFlag.FP16, 11: None}``: each value is
    checked against its key's version only.
"""

from __future__ import annotations

import ast
import collections
import glob
import json
import os
import re
from dataclasses import dataclass

FIXTURES = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "fixtures", "tensorrt_api")

# (type, method) -> type of its result: the objects edgeseg chains through.
RETURNS = {
    ("Builder", "create_network"): "INetworkDefinition",
    ("Builder", "create_builder_config"): "IBuilderConfig",
    ("Builder", "create_optimization_profile"): "IOptimizationProfile",
    ("Builder", "build_serialized_network"): "IHostMemory",
    ("IBuilderConfig", "create_timing_cache"): "ITimingCache",
    ("IBuilderConfig", "get_timing_cache"): "ITimingCache",
    ("ITimingCache", "serialize"): "IHostMemory",
    ("INetworkDefinition", "get_input"): "ITensor",
    ("INetworkDefinition", "get_output"): "ITensor",
    ("OnnxParser", "get_error"): "ParserError",
    ("Runtime", "deserialize_cuda_engine"): "ICudaEngine",
    ("ICudaEngine", "create_execution_context"): "IExecutionContext",
    ("ICudaEngine", "create_engine_inspector"): "EngineInspector",
    ("ICudaEngine", "create_serialization_config"): "ISerializationConfig",
    ("ICudaEngine", "create_runtime_config"): "IRuntimeConfig",
    ("ICudaEngine", "serialize"): "IHostMemory",
    ("IExecutionContext", "engine"): "ICudaEngine",
}
_TAG = re.compile(r"#\s*trt:\s*(optional|[0-9][0-9,\s]*)")


def load_surfaces(folder: str = FIXTURES) -> dict[str, dict]:
    """{"10.16": {...}, "11.4": {...}} from the committed fixtures."""
    out = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
        with open(path, encoding="utf-8") as f:
            out[os.path.basename(path)[:-5]] = json.load(f)
    return out


@dataclass(frozen=True)
class Ref:
    """One use of a TensorRT name: ``owner`` is "module", an enum or a class name."""

    file: str
    line: int
    text: str
    owner: str
    attr: str
    called: bool
    majors: frozenset | None  # None: every fixture; empty: not checked (optional)


def _tags(source: str) -> dict[int, frozenset]:
    tags = {}
    for no, line in enumerate(source.splitlines(), 1):
        m = _TAG.search(line)
        if m:
            val = m.group(1).strip()
            tags[no] = frozenset() if val == "optional" else frozenset(int(x) for x in re.split(r"[,\s]+", val) if x)
    return tags


def _chain(node) -> list[str] | None:
    """``a.b.c`` -> ["a", "b", "c"]; None for anything else (calls, subscripts...)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _own_nodes(scope):
    """The nodes of ``scope`` without those of functions (and lambdas) nested in it."""
    todo = list(reversed(list(ast.iter_child_nodes(scope))))
    while todo:  # depth first, in source order
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(reversed(list(ast.iter_child_nodes(node))))


def local_annotated(func, param: str) -> bool:
    """True if ``param`` carries an annotation naming a TensorRT class (it wins over call sites)."""
    return any(a.arg == param and a.annotation is not None and "trt." in ast.unparse(a.annotation)
               for a in func.args.args + func.args.kwonlyargs)


def _trt_names(tree) -> set[str]:
    names = {"trt"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name == "tensorrt"}
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            args = node.value.args
            if args and isinstance(args[0], ast.Constant) and args[0].value == "tensorrt":
                names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


class _Typer:
    """Flow-insensitive types: locals per function, attributes per file."""

    def __init__(self, tree, roots: set[str], classes: set[str]):
        self.roots, self.classes = roots, classes
        self.attrs: dict[str, str] = {}
        self.ambiguous: set[str] = set()
        self.scopes: dict[int, collections.ChainMap] = {id(tree): collections.ChainMap({})}
        funcs = []
        # Nested functions see their enclosing functions' names (closures), innermost first.
        stack = [tree]
        while stack:
            parent = stack.pop()
            for node in ast.walk(parent):
                if node is not parent and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                        and id(node) not in self.scopes:
                    self.scopes[id(node)] = self.scopes[id(parent)].new_child()
                    funcs.append(node)
                    stack.append(node)
        self.funcs = funcs
        by_name = collections.defaultdict(list)
        for f in funcs:
            by_name[f.name].append(f)
        self.defs = {name: fs[0] for name, fs in by_name.items() if len(fs) == 1}  # unique names only
        self.fields = {c.name: [a.target.id for a in c.body if isinstance(a, ast.AnnAssign)
                                and isinstance(a.target, ast.Name)]
                       for c in ast.walk(tree) if isinstance(c, ast.ClassDef)}
        self.returns: dict[int, object] = {}   # id(function) -> type, or tuple of types
        self.params: dict[tuple, str] = {}     # (id(function), parameter) -> type from call sites
        self.unsure: set = set()               # returns / parameters seen with two types
        # Rounds until nothing changes let types flow through attributes, returns and calls;
        # only then is "untyped" final (the strict round marks disagreements as unsure).
        self.strict, before = False, None
        for _ in range(30):
            for scope in [tree, *funcs]:
                self._learn(scope)
            now = repr((sorted(self.attrs.items()), sorted(self.returns.items()), sorted(self.params.items()),
                        [sorted(m.maps[0].items(), key=str) for m in self.scopes.values()]))
            if now == before:
                break
            before = now
        self.strict = True
        for scope in [tree, *funcs]:
            self._learn(scope)

    def _learn(self, scope) -> None:
        names = self.scopes[id(scope)]
        local = names.maps[0]
        if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in scope.args.args + scope.args.kwonlyargs:
                ann = arg.annotation
                text = ann.value if isinstance(ann, ast.Constant) and isinstance(ann.value, str) else (
                    ".".join(_chain(ann) or []) if ann is not None else "")
                typed = "." in text and text.split(".")[0] in self.roots and text.split(".")[-1] in self.classes
                local[arg.arg] = text.split(".")[-1] if typed else local.get(arg.arg)  # None shadows outer names
        for node in _own_nodes(scope):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    returned = self._returned_tuple(node.value)
                    if isinstance(target, ast.Tuple) and returned and len(returned) == len(target.elts):
                        for tgt, t in zip(target.elts, returned):  # a, b = f() where f returns (A, B)
                            self._bind(tgt, t, local)
                        continue
                    pairs = [(target, node.value)]
                    if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                        pairs = list(zip(target.elts, node.value.elts))  # a, b = x, y
                    for tgt, value in pairs:
                        if not (isinstance(value, ast.Constant) and value.value is None):  # x = None: a reset
                            self._bind(tgt, self.type_of(value, names), local)
            elif isinstance(node, (ast.For, ast.With, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                for tgt in ast.walk(getattr(node, "target", None) or ast.Tuple(elts=[], ctx=ast.Store())):
                    if isinstance(tgt, ast.Name):
                        local.setdefault(tgt.id, None)
            elif isinstance(node, ast.Call):
                for kw in node.keywords:
                    if kw.arg and not (isinstance(kw.value, ast.Constant) and kw.value.value is None):
                        self._bind_attr(kw.arg, self.type_of(kw.value, names))
                self._learn_call(node, names)
            elif isinstance(node, ast.Return) and node.value is not None and scope is not None \
                    and isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                v = node.value
                t = (tuple(self.type_of(e, names) for e in v.elts) if isinstance(v, ast.Tuple)
                     else self.type_of(v, names))
                if not (isinstance(v, ast.Constant) and v.value is None):
                    self._settle(("return", id(scope)), self.returns, id(scope), t if any(
                        t if isinstance(t, tuple) else [t]) else None)

    def _learn_call(self, call, names) -> None:
        """Types flow into same-file functions' parameters (all call sites must agree) and,
        positionally, into the fields of same-file (data)classes."""
        if not isinstance(call.func, ast.Name) or any(isinstance(a, ast.Starred) for a in call.args):
            return
        func = self.defs.get(call.func.id)
        if func is not None:
            params = [a.arg for a in func.args.args]
            pairs = list(zip(params, call.args)) + [(k.arg, k.value) for k in call.keywords if k.arg]
            callee = self.scopes[id(func)].maps[0]
            for param, value in pairs:
                key = (id(func), param)
                self._settle(("param", key), self.params, key, self.type_of(value, names))
                if not local_annotated(func, param):
                    callee[param] = self.params.get(key)
        elif call.func.id in self.fields:
            for field, value in zip(self.fields[call.func.id], call.args):
                self._bind_attr(field, self.type_of(value, names))

    def _settle(self, tag, table: dict, key, t) -> None:
        """Record ``t`` for ``key`` unless it disagrees with an earlier type (then: unsure)."""
        if tag in self.unsure or (t is None and not self.strict):
            return
        if t is None or table.get(key, t) != t:
            table.pop(key, None)
            self.unsure.add(tag)
        else:
            table[key] = t

    def _returned_tuple(self, value):
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id in self.defs:
            t = self.returns.get(id(self.defs[value.func.id]))
            return t if isinstance(t, tuple) else None
        return None

    def _bind(self, target, t, local) -> None:
        if isinstance(target, ast.Name):
            if t or target.id not in local:
                local[target.id] = t  # a typed binding wins over an untyped one (flow-insensitive)
        elif isinstance(target, ast.Attribute):
            self._bind_attr(target.attr, t)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._bind(elt, None, local)

    def _bind_attr(self, name: str, t) -> None:
        """Attributes are typed by name across the file, so a name ever given an untyped value
        (``result.plan = PrecisionPlan(...)`` beside ``self.plan = builder.build_...``) is
        ambiguous and left unchecked rather than guessed."""
        if name in self.ambiguous or (t is None and not self.strict):
            return
        if t is None or self.attrs.get(name, t) != t:
            self.attrs.pop(name, None)
            self.ambiguous.add(name)
        else:
            self.attrs[name] = t

    def type_of(self, node, local: dict) -> str | None:
        if isinstance(node, ast.Call):
            chain = _chain(node.func)
            if chain and len(chain) == 2 and chain[0] in self.roots and chain[1] in self.classes:
                return chain[1]
            if isinstance(node.func, ast.Name) and node.func.id in self.defs:
                t = self.returns.get(id(self.defs[node.func.id]))
                return t if isinstance(t, str) else None
            if isinstance(node.func, ast.Attribute):
                owner = self.type_of(node.func.value, local)
                return RETURNS.get((owner, node.func.attr)) if owner else None
            return None
        if isinstance(node, ast.Name):
            return local.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.type_of(node.value, local)
            if owner and (owner, node.attr) in RETURNS:  # properties returning objects
                return RETURNS[(owner, node.attr)]
            return self.attrs.get(node.attr)
        return None


def scan_source(source: str, filename: str, classes: set[str]) -> list[Ref]:
    """Every TensorRT reference in ``source`` that the checker can resolve."""
    tree = ast.parse(source, filename)
    tags = _tags(source)
    intervals = sorted(((n.lineno, n.end_lineno, tags[n.lineno]) for n in ast.walk(tree)
                        if isinstance(n, ast.stmt) and n.lineno in tags), key=lambda t: t[1] - t[0])
    roots = _trt_names(tree)
    typer = _Typer(tree, roots, classes)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    forced: dict[int, frozenset] = {}  # node id -> majors from a {10: ..., 11: ...} table
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and node.keys and all(
                isinstance(k, ast.Constant) and isinstance(k.value, int) and 8 <= k.value <= 20 for k in node.keys):
            for k, v in zip(node.keys, node.values):
                for sub in ast.walk(v):
                    forced[id(sub)] = frozenset({k.value})

    def majors(node) -> frozenset | None:
        if id(node) in forced:
            return forced[id(node)]
        if node.lineno in tags:
            return tags[node.lineno]
        for lo, hi, tag in intervals:  # smallest enclosing tagged statement
            if lo <= node.lineno <= hi:
                return tag
        return None

    scope_of = {}
    for func in [tree, *typer.funcs]:  # outer before inner: the innermost function wins
        for sub in ast.walk(func):
            scope_of[id(sub)] = typer.scopes[id(func)]

    refs = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        chain = _chain(node)
        if node.attr.startswith("__") and not (chain and len(chain) == 2 and chain[0] in roots):
            continue  # ILogger.__init__ and the like; trt.__version__ is checked
        line, text = node.lineno, ast.unparse(node)
        is_called = id(node) in called
        if chain and chain[0] in roots:
            # trt.A (module), trt.A.B (enum/class member), trt.A.B.C (nested enum member)
            owner = "module" if len(chain) == 2 else ".".join(chain[1:-1])
            refs.append(Ref(filename, line, text, owner, chain[-1], is_called, majors(node)))
            continue
        owner = typer.type_of(node.value, scope_of.get(id(node), {}))
        if owner:
            refs.append(Ref(filename, line, text, owner, node.attr, is_called, majors(node)))
    return refs


def _lookup(ref: Ref, api: dict, described: bool) -> tuple[bool, str | None] | None:
    """(exists, kind) of ``ref`` in one API surface; None when the fixtures do not describe it."""
    if ref.owner == "module":
        return ref.attr in api["module"], None
    if not described:
        return None  # e.g. trt.ActivationType.RELU: see unknown_owners()
    if ref.owner in api["enums"]:
        return ref.attr in api["enums"][ref.owner], None
    if ref.owner in api["classes"]:
        kind = api["classes"][ref.owner].get(ref.attr)
        return kind is not None, kind
    return False, None  # the owner itself is gone in this version


def problems(refs: list[Ref], surfaces: dict[str, dict]) -> list[str]:
    """One readable line per reference missing (or misused) in versions it must support."""
    out = []
    for ref in refs:
        described = any(ref.owner in s["enums"] or ref.owner in s["classes"] for s in surfaces.values())
        missing, misused = [], []
        for version, api in surfaces.items():
            if ref.majors is not None and int(version.split(".")[0]) not in ref.majors:
                continue
            found = _lookup(ref, api, described)
            if found is None:
                continue
            ok, kind = found
            if not ok:
                missing.append(api["tensorrt"])
            elif kind == "property" and ref.called:
                misused.append(api["tensorrt"])
        where, name = f"{ref.file}:{ref.line} {ref.text}", f"{ref.owner}.{ref.attr}"
        if missing:
            have = sorted({v.split(".")[0] for v in surfaces} - {m.split(".")[0] for m in missing})
            hint = (f"; if this is a {'/'.join(have)}-only path, tag the line '# trt: {','.join(have)}'"
                    if have else "")
            out.append(f"{where}: {name} is missing in TensorRT {', '.join(missing)}{hint}")
        if misused:
            out.append(f"{where}: {name} is a property in TensorRT {', '.join(misused)}; do not call it")
    return out


def unknown_owners(refs: list[Ref], surfaces: dict[str, dict]) -> set[str]:
    """Owners used in code that no fixture describes: the dump should be widened for them."""
    known = set()
    for api in surfaces.values():
        known |= {"module"} | set(api["enums"]) | set(api["classes"])
    return {r.owner for r in refs if r.owner not in known and r.majors != frozenset()}
