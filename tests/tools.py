"""The programs some tests start for real (ffmpeg, ffprobe, mosquitto): a test that needs one
is skipped where it is not installed, except under CI, where it fails. A CI image that lacks a
tool must not turn the tests that use it green by skipping them all.

A test says what it needs with the `needs_tool` marker (tests/conftest.py checks it before
the test runs), or by calling `require_tool()` where the need is found later (a fixture that
makes clips with ffmpeg).
"""

from __future__ import annotations

import os
import shutil

import pytest

__all__ = ["CI_VARIABLE", "check_needed_tools", "require_tool"]

CI_VARIABLE = "CI"
"""The environment variable CI services set (GitHub Actions, GitLab CI, ... and .ci/run)."""


def require_tool(tool: str) -> str:
    """The path of `tool` (a program name, or a path to one). When it is missing the running
    test is skipped, or failed when the CI variable is set (to anything but "")."""
    path = shutil.which(tool)
    if path is not None:
        return path
    if os.environ.get(CI_VARIABLE):
        pytest.fail(
            f"{tool} is not installed, and {CI_VARIABLE} is set: the CI image must have every "
            "tool the tests use",
            pytrace=False,
        )
    pytest.skip(f"{tool} is not installed")


def check_needed_tools(item: pytest.Item) -> None:
    """`require_tool()` for each tool the test's `needs_tool` markers name."""
    for marker in item.iter_markers("needs_tool"):
        for tool in marker.args:
            require_tool(tool)
