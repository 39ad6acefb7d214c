"""`import xmcam` loads nothing outside the standard library, and the public API is explicit."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import xmcam
import xmcam.protocol

_PROBE = """
import sys
before = set(sys.modules)
import xmcam, xmcam.protocol, xmcam.errors, xmcam.cli
loaded = {name.split(".")[0] for name in set(sys.modules) - before}
print("\\n".join(sorted(loaded - set(sys.stdlib_module_names) - {"xmcam"})))
"""


def test_importing_xmcam_loads_only_the_standard_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == []


def test_public_names_exist() -> None:
    for module in (xmcam, xmcam.protocol):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_version_is_a_string() -> None:
    assert isinstance(xmcam.__version__, str)
    assert xmcam.__version__.count(".") == 2


def test_the_version_is_written_once() -> None:
    # pyproject.toml takes it from xmcam.__version__ (setuptools reads the assignment).
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text("utf-8"))
    assert "version" not in project["project"]
    assert project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "xmcam.__version__"}
    assert "example.invalid" not in str(project["project"].get("urls"))


_CLI_PROBE = """
import sys
from xmcam.cli import build_parser
build_parser()
print("\\n".join(sorted(name for name in sys.modules if name.startswith("xmcam.sim."))))
"""


def test_building_the_command_line_leaves_the_simulator_unloaded() -> None:
    # Every command builds every parser; the simulator (~40 ms of imports) loads only when
    # `xmcam sim` or `xmcam demo` runs.
    result = subprocess.run(
        [sys.executable, "-c", _CLI_PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(result.stdout.split())
    assert "xmcam.sim.server" not in loaded
    assert "xmcam.sim.device" not in loaded


def test_the_simulator_package_names_load_on_first_use() -> None:
    import xmcam.sim  # noqa: PLC0415

    for name in xmcam.sim.__all__:
        assert getattr(xmcam.sim, name) is not None, name
    assert xmcam.sim.Simulator.__module__ == "xmcam.sim.server"
    with pytest.raises(AttributeError, match="has no attribute 'nothing_of_that_name'"):
        _ = xmcam.sim.nothing_of_that_name
