"""The bench result schema (``schema.json``, JSON Schema) and a small dependency-free validator.

Only the keywords our schema uses are implemented: ``type`` (a name or a list of names),
``required``, ``properties``, ``items``, ``enum`` and ``minimum``. Unknown keys are allowed,
so a newer writer's extra fields do not break an older reader.

>>> validate({"a": 1}, {"type": "object", "required": ["a", "b"]})
['$: missing required property b']
>>> validate([1, -2], {"type": "array", "items": {"type": "integer", "minimum": 0}})
['$[1]: -2 is below the minimum 0']
>>> validate(load_schema()["properties"]["schema"]["enum"][0], {"type": "string"})
[]
"""

from __future__ import annotations

import json
import os

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema.json")
SCHEMA_ID = "edgeseg-bench/1"

# JSON type name -> Python check; bool is not a number in JSON Schema, so exclude it explicitly.
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def load_schema() -> dict:
    with open(SCHEMA_PATH) as f:
        return json.load(f)


def validate(doc, schema: dict | None = None, path: str = "$") -> list[str]:
    """Errors of ``doc`` against ``schema`` (default: the bench schema), one string each."""
    schema = load_schema() if schema is None else schema
    errors: list[str] = []
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_TYPES[n](doc) for n in names):
            return [f"{path}: expected {' or '.join(names)}, got {type(doc).__name__}"]
    if "enum" in schema and doc not in schema["enum"]:
        errors.append(f"{path}: {doc!r} is not one of {schema['enum']}")
    if "minimum" in schema and _TYPES["number"](doc) and doc < schema["minimum"]:
        errors.append(f"{path}: {doc} is below the minimum {schema['minimum']}")
    if isinstance(doc, dict):
        errors += [f"{path}: missing required property {k}" for k in schema.get("required", ())
                   if k not in doc]
        for key, sub in schema.get("properties", {}).items():
            if key in doc:
                errors += validate(doc[key], sub, f"{path}.{key}")
    if isinstance(doc, list) and "items" in schema:
        for i, item in enumerate(doc):
            errors += validate(item, schema["items"], f"{path}[{i}]")
    return errors
