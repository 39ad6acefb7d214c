"""Shared test configuration: the Hypothesis settings profiles, the event loop of each
asyncio test (virtual time for the `virtual_time` marker: tests/virtual_time.py), the guard
that no test ever logs a password or its hash, and the programs a test needs (the
`needs_tool` marker: skipped where missing, failed under CI; tests/tools.py).

Choose one with the HYPOTHESIS_PROFILE environment variable (default "dev"):
"dev" for quick local runs, "ci" for the CI pipeline, "deep" for an occasional long hunt.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator

import pytest
from hypothesis import settings

from tests.tools import check_needed_tools
from tests.virtual_time import VirtualTimeLoop
from xmcam.protocol import sofia_hash

# The simulated-camera fixtures xmcam offers its users (tests/test_testing.py uses them as a
# user would), and small clips made with ffmpeg once per session (tests/media_clips.py).
pytest_plugins = ["xmcam.testing", "tests.media_clips"]

settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "ci", max_examples=1000, deadline=None, derandomize=False, print_blob=True
)
settings.register_profile("deep", max_examples=10_000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# ----------------------------------------------------------------------------- virtual time


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The event loop of each asyncio test: a virtual-time one for the `virtual_time` marker
    (pytest-asyncio asks every test, and one name each leaves the test ids as they are)."""
    if item.get_closest_marker("virtual_time") is not None:
        return {"virtual_time": VirtualTimeLoop}
    return {"asyncio": asyncio.new_event_loop}


# ----------------------------------------------------------------------- no secret in any log

# The passwords the tests use, and their Sofia hashes: the hash logs in like the password, so
# neither may ever reach a log record, in any test (docs/protocol.md §F4.2, "Secrets").
TEST_PASSWORDS = ("", "secret", "hunter2", "wrong", "new", "admin")
FORBIDDEN_IN_LOGS = (*{sofia_hash(password) for password in TEST_PASSWORDS}, "hunter2")


@pytest.fixture(autouse=True)
def _no_secret_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    text = caplog.text
    leaked = [secret for secret in FORBIDDEN_IN_LOGS if secret in text]
    assert not leaked, f"a password or its hash reached the log: {len(leaked)} secret(s)"


# ------------------------------------------------------------------ programs the tests start


def pytest_runtest_setup(item: pytest.Item) -> None:
    check_needed_tools(item)  # the `needs_tool` markers: skip, or fail under CI
