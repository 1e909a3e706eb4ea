"""Every test file on disk is collected by the README's test command, and every module with a
docstring example is collected for its doctests.

pytest's default ``norecursedirs`` once skipped a folder named ``build``, and with it a third of
the TensorRT tests, for months, while everything looked green. This walks the tree itself (not
through pytest's collection) and compares it with what ``python -m pytest --collect-only``
collects, so a folder can never fall out silently again.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Not modules to import: the entry point runs the CLI when imported (conftest.py says the same).
NOT_DOCTESTED = {"edgeseg/__main__.py"}


def _on_disk(folder: str, keep) -> set[str]:
    found = set()
    for dirpath, dirnames, files in os.walk(os.path.join(ROOT, folder)):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in files:
            path = os.path.relpath(os.path.join(dirpath, f), ROOT)
            if keep(path):
                found.add(path.replace(os.sep, "/"))
    return found


def _collected() -> tuple[set[str], dict[str, str]]:
    """Files that hold collected items, as the README's command sees them (``-q -q``: one line
    per file, ``path: count``), and files skipped whole at import with the reason they give
    (an optional dependency such as nvidia-modelopt)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-rs", "-p", "no:cacheprovider"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = {m.group(1) for m in re.finditer(r"^(\S+\.py): \d+$", proc.stdout, re.M)}
    skipped = {m.group(1): m.group(2) for m in re.finditer(r"^SKIPPED \[\d+\] (\S+\.py):\d+: (.*)$",
                                                            proc.stdout, re.M)}
    return files, skipped


def _has_example(path: str) -> bool:
    """A docstring example doctest runs: ``>>> code``, not only ``>>> # a comment``."""
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return re.search(r"^\s*>>> (?!#)\S", f.read(), re.M) is not None


def test_every_test_file_and_every_doctest_module_is_collected():
    collected, skipped = _collected()
    # a whole file may skip only for an optional dependency that says how to install it
    assert all("pip install" in why for why in skipped.values()), skipped
    collected |= set(skipped)
    tests = _on_disk("tests", lambda p: os.path.basename(p).startswith("test_") and p.endswith(".py"))
    modules = _on_disk("edgeseg", lambda p: p.endswith(".py") and p.replace(os.sep, "/") not in NOT_DOCTESTED
                       and _has_example(p))
    assert len(tests) > 50 and len(modules) > 50  # the walk itself found the tree
    missing_tests = sorted(tests - collected)
    missing_doctests = sorted(modules - collected)
    assert not missing_tests, f"test files on disk that `python -m pytest` does not collect: {missing_tests}"
    assert not missing_doctests, f"modules with examples whose doctests are not collected: {missing_doctests}"


def test_no_folder_is_named_build():
    """pytest, ruff and the common .gitignore templates all skip folders named build."""
    for top in ("edgeseg", "tests"):
        for dirpath, dirnames, _ in os.walk(os.path.join(ROOT, top)):
            assert "build" not in dirnames, os.path.relpath(os.path.join(dirpath, "build"), ROOT)
