"""The README's library example runs as written, over a real loopback socket, against the
simulated camera, and the README names its two commands."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xmcam.sim import SimulatorThread

README = Path(__file__).parent.parent / "README.md"


def test_readme_library_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert code is not None
    with SimulatorThread() as camera:
        source = code.group(1).replace('("192.168.1.10", 34567)', f'("127.0.0.1", {camera.port})')
        assert f'127.0.0.1", {camera.port}' in source
        exec(compile(source, "README.md", "exec"), {})  # noqa: S102 - our own README
    assert capsys.readouterr().out == "HI3516D_83H50N V4.03.R12.G7914927.12012.145902.0020000\n"


def test_readme_names_both_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert "xmcam demo" in text
    assert "bash .ci/run" in text
