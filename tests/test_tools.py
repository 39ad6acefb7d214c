"""tests/tools.py: a missing program skips the test, or fails it when CI is set."""

from __future__ import annotations

import sys

import pytest

from tests.tools import CI_VARIABLE, check_needed_tools, require_tool

MISSING = "xmcam-test-no-such-program"


def test_an_installed_program_gives_its_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CI_VARIABLE, "true")
    assert require_tool(sys.executable) == sys.executable


def test_a_missing_program_skips_without_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CI_VARIABLE, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{MISSING} is not installed"):
        require_tool(MISSING)


def test_an_empty_ci_variable_is_no_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CI_VARIABLE, "")
    with pytest.raises(pytest.skip.Exception):
        require_tool(MISSING)


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_missing_program_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(CI_VARIABLE, value)
    with pytest.raises(pytest.fail.Exception, match=f"{MISSING} is not installed, and CI"):
        require_tool(MISSING)


def test_the_marker_names_the_programs_checked(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CI_VARIABLE, "true")
    check_needed_tools(request.node)  # no marker: nothing to check
    request.node.add_marker(pytest.mark.needs_tool(sys.executable))
    check_needed_tools(request.node)
    request.node.add_marker(pytest.mark.needs_tool(sys.executable, MISSING))
    with pytest.raises(pytest.fail.Exception, match=MISSING):
        check_needed_tools(request.node)
    monkeypatch.delenv(CI_VARIABLE)
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        check_needed_tools(request.node)
