"""docs/tensorrt_api.md against the TensorRT API fixtures: every row of its tables says something
the fixtures can confirm, absences included (a row once said 11.4's BuilderFlag lacks DIRECT_IO
and REFIT; the 11.4.0.106 bindings have both, and nothing checked the claim)."""

import os
import re

import pytest

from .trt_surface import load_surfaces

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
DOC = os.path.join(ROOT, "docs", "tensorrt_api.md")
SURFACES = load_surfaces()
NAME = re.compile(r"`([^`]+)`")


def _tables(text: str) -> list[list[list[str]]]:
    """Each markdown table as rows of cells (header first, the --- line dropped)."""
    tables, rows = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            if not all(set(c) <= {"-", " "} for c in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def has(api: dict, name: str):
    """True/False: ``name`` (``trt.X`` or ``Owner.member``) is in ``api``; None: the fixtures do not
    describe its owner at all (then the row cannot be checked, which is itself a failure)."""
    if name.startswith("trt."):
        return name[4:] in api["module"]
    owner, _, member = name.rpartition(".")
    if owner in api["classes"]:
        return member in api["classes"][owner]
    if owner in api["enums"]:
        return member in api["enums"][owner]
    return None


def presence_problems(table) -> list[str]:
    """What is wrong with a presence table (``| name | 10.16 | 11.4 | note |``) per the fixtures."""
    header, *rows = table
    out = []
    for row in rows:
        names = NAME.findall(row[0])
        if len(names) != 1:
            out.append(f"{row[0]}: one `name` per row")
            continue
        for version, claim in zip(header[1:-1], row[1:-1]):
            found = has(SURFACES[version], names[0])
            if claim not in ("yes", "no") or found is None:
                out.append(f"{names[0]} in {version}: {claim!r} cannot be checked")
            elif found != (claim == "yes"):
                out.append(f"{names[0]}: the doc says {claim!r} for {version}, the fixture says "
                           f"{'yes' if found else 'no'}")
    return out


def call_problems(table) -> list[str]:
    """What is wrong with a calls table: each row's ``names`` are in every fixture, except those
    its TensorRT 11 cell lists after **removed**, which are in 10.x and not in 11.x."""
    header, *rows = table
    at, eleven_at = header.index("names"), next(i for i, h in enumerate(header) if h.startswith("TensorRT 11"))
    out = []
    for row in rows:
        names, eleven = NAME.findall(row[at]), row[eleven_at]
        removed = set(NAME.findall(eleven)) if eleven.startswith("**removed**") else set()
        if not names or (eleven.startswith("**removed**") and not removed) or not removed <= set(names):
            out.append(f"{row[0]}: names {names}, removed {sorted(removed)}: nothing or not all of it checkable")
            continue
        for name in names:
            for version, api in SURFACES.items():
                found, expected = has(api, name), not (name in removed and version.startswith("11."))
                if found is None or found != expected:
                    out.append(f"{row[0]}: {name} {'has no owner in' if found is None else 'is' if found else 'is not'}"
                               f" TensorRT {version}")
    return out


with open(DOC, encoding="utf-8") as _f:
    TEXT = _f.read()
TABLES = _tables(TEXT)
PRESENCE = [t for t in TABLES if t[0][:3] == ["name", "10.16", "11.4"]]
CALLS = [t for t in TABLES if "names" in t[0]]


def test_the_doc_has_the_tables_the_checks_read():
    assert len(PRESENCE) == 1 and len(PRESENCE[0]) > 20
    assert len(CALLS) == 2 and all(len(t) > 15 for t in CALLS)   # builder calls, runtime calls
    assert sorted(PRESENCE[0][0][1:-1]) == sorted(SURFACES)      # a new fixture needs its column here


def test_every_presence_row_matches_the_fixtures():
    problems = presence_problems(PRESENCE[0])
    assert not problems, "docs/tensorrt_api.md presence table:\n  " + "\n  ".join(problems)
    claims = {NAME.findall(r[0])[0]: r[2] for r in PRESENCE[0][1:]}
    assert claims["BuilderFlag.DIRECT_IO"] == claims["BuilderFlag.REFIT"] == "yes"   # the row that was wrong


@pytest.mark.parametrize("index", [0, 1], ids=["builder", "runtime"])
def test_every_call_row_names_real_members(index):
    problems = call_problems(CALLS[index])
    assert not problems, "docs/tensorrt_api.md calls table:\n  " + "\n  ".join(problems)


def test_absence_claims_live_in_the_presence_table():
    """A sentence (in prose or in another table's cell, as the wrong B11 row was) that says a version
    has no member cannot be checked; such claims go in the presence table, or point to it."""
    for no, line in enumerate(TEXT.splitlines(), 1):
        if re.search(r"\b(has no|have no|lacks|is gone|are gone|gone in)\b", line):
            assert "presence table" in line, f"docs/tensorrt_api.md:{no}: {line.strip()}"


def test_the_checks_catch_wrong_rows():
    """The old claim (11.4 lacks DIRECT_IO and REFIT), a false presence, an unknown owner and a
    removed row that names no member all fail."""
    wrong = _tables("| name | 10.16 | 11.4 | note |\n| --- | --- | --- | --- |\n"
                    "| `BuilderFlag.DIRECT_IO` | yes | no | |\n| `BuilderFlag.REFIT` | yes | no | |\n"
                    "| `BuilderFlag.FP16` | yes | yes | |\n| `NoSuchOwner.x` | yes | yes | |\n")[0]
    found = presence_problems(wrong)
    assert len(found) == 5 and "BuilderFlag.REFIT: the doc says 'no' for 11.4" in "\n".join(found)
    calls = _tables("| call | names | TensorRT 10 | TensorRT 11 |\n| --- | --- | --- | --- |\n"
                    "| a | `IBuilderConfig.set_flag`, `BuilderFlag.FP16` | S10 | B11 |\n"
                    "| b | `BuilderFlag.FP16` | S10 | **removed** (B11) |\n"
                    "| c | `BuilderFlag.REFIT` | S10 | **removed**: `BuilderFlag.REFIT` |\n| d | x | S10 | B11 |\n")[0]
    found = call_problems(calls)
    assert [p[0] for p in found] == ["a", "b", "c", "d"], found
