"""The CLI as one thin layer: a table of commands, one module each, imported only when used."""

import os
import subprocess
import sys

import pytest

from edgeseg.cli import COMMANDS, build_parser, command_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_only_the_named_command_gets_its_arguments_and_runner(name):
    module = command_module(name)
    assert module.__name__ == f"edgeseg.cli.{COMMANDS[name][0]}"
    subparsers = build_parser(only=name)._subparsers._group_actions[0].choices
    assert subparsers[name].get_default("_run") is module.run
    assert len(subparsers[name]._actions) > 1  # add_args gave it options beyond --help
    for other, p in subparsers.items():
        if other != name:
            assert p.get_default("_run") is None and len(p._actions) == 1, other  # --help only


def test_a_command_imports_only_its_own_module():
    code = ("import sys\nfrom edgeseg.cli import main\n"
            "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('edgeseg.cli.')\n"
            "             and not m.startswith('edgeseg.cli._')))")  # shared helpers (argument types) are no command
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "['edgeseg.cli.run']"


def test_no_library_package_carries_a_command_module():
    """Commands live in edgeseg/cli/ only; a library package holds what a Python user calls."""
    stray = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "edgeseg")):
        rel = os.path.relpath(dirpath, ROOT)
        if rel.split(os.sep)[:2] != ["edgeseg", "cli"]:
            stray += [os.path.join(rel, f) for f in files if f in ("command.py", "commands.py", "cli.py")
                      or f.endswith("_command.py")]
    assert not stray, stray
