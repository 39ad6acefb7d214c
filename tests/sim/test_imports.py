"""The simulator's modules form no import cycle: each one is built from the modules below it.

The imports are read with `ast`, so those that only run under TYPE_CHECKING or inside a
function count too: a cycle hidden behind TYPE_CHECKING is a cycle all the same (two modules
that cannot be understood, or tested, one without the other).
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[2] / "src" / "xmcam" / "sim"
PACKAGE = "xmcam.sim"


def _module_name(path: Path) -> str:
    return PACKAGE if path.name == "__init__.py" else f"{PACKAGE}.{path.stem}"


def _sim_imports(source: str) -> set[str]:
    """The modules of xmcam.sim that `source` imports, by their dotted names."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names = [node.module]
            if node.module == PACKAGE:  # from xmcam.sim import state: a module, or a name
                names += [f"{PACKAGE}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(name for name in names if name == PACKAGE or name.startswith(PACKAGE + "."))
    return found


def import_graph(directory: Path) -> dict[str, set[str]]:
    """Each module of the package in `directory` and the package's modules it imports."""
    modules = {_module_name(path): path for path in sorted(directory.glob("*.py"))}
    return {
        name: {
            imported for imported in _sim_imports(path.read_text("utf-8")) if imported in modules
        }
        - {name}
        for name, path in modules.items()
    }


def test_the_simulator_has_no_import_cycle() -> None:
    graph = import_graph(SIM)
    assert {f"{PACKAGE}.server", f"{PACKAGE}.commands"} <= graph.keys()
    order = list(graphlib.TopologicalSorter(graph).static_order())  # CycleError on a cycle
    # The handlers sit below the device, the services below the server.
    assert order.index(f"{PACKAGE}.commands") < order.index(f"{PACKAGE}.device")
    assert order.index(f"{PACKAGE}.media_commands") < order.index(f"{PACKAGE}.device")
    for service in ("alarm_push", "discovery", "streaming", "device"):
        assert order.index(f"{PACKAGE}.{service}") < order.index(f"{PACKAGE}.server")


def test_the_check_sees_a_cycle_behind_type_checking(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("from xmcam.sim.b import B\n", encoding="utf-8")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from xmcam.sim import a\n",
        encoding="utf-8",
    )
    graph = import_graph(tmp_path)
    assert graph == {f"{PACKAGE}.a": {f"{PACKAGE}.b"}, f"{PACKAGE}.b": {f"{PACKAGE}.a"}}
    with pytest.raises(graphlib.CycleError):
        list(graphlib.TopologicalSorter(graph).static_order())
