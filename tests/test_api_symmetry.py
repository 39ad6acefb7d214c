"""The two clients have one API: `AsyncCamera` (asyncio) and `Camera` (blocking) offer the same
public methods and attributes, with the same parameters and the same docstrings, word for word;
only what needs an event loop is asyncio's alone. Every public method has a docstring."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from xmcam.aio import AsyncCamera
from xmcam.sync import Camera

# Alarm subscriptions need something reading the connection all the time (the blocking client
# does not subscribe), and work that outlives a cancelled caller needs an event loop.
ASYNCIO_ONLY = frozenset({"alarms", "subscribe", "subscribed", "subscribed_alarms", "run_to_end"})
# The blocking session's clock: the asyncio client times its sessions on its event loop.
BLOCKING_ONLY: frozenset[str] = frozenset({"clock"})


def public_names(camera: object) -> set[str]:
    return {name for name in dir(camera) if not name.startswith("_")}


SHARED = sorted(public_names(Camera("127.0.0.1")) - BLOCKING_ONLY)


def members(name: str) -> tuple[Any, Any]:
    """The class members named `name` (None: an attribute each instance sets)."""
    return (
        inspect.getattr_static(AsyncCamera, name, None),
        inspect.getattr_static(Camera, name, None),
    )


def test_the_same_public_names() -> None:
    asyncio_names = public_names(AsyncCamera("127.0.0.1")) - ASYNCIO_ONLY
    assert asyncio_names == set(SHARED)
    assert len(SHARED) > 40


@pytest.mark.parametrize("name", ["__init__", *SHARED])
def test_the_same_parameters_and_docstring(name: str) -> None:
    asyncio_member, blocking_member = members(name)
    if asyncio_member is None:  # host, timeout, ...: set by the shared CameraSettings
        assert blocking_member is None
        return
    if isinstance(asyncio_member, property):
        assert isinstance(blocking_member, property)
        asyncio_member, blocking_member = asyncio_member.fget, blocking_member.fget
    asyncio_parameters = list(inspect.signature(asyncio_member).parameters.values())
    assert asyncio_parameters == list(inspect.signature(blocking_member).parameters.values())
    assert inspect.getdoc(asyncio_member), f"AsyncCamera.{name} has no docstring"
    assert inspect.getdoc(asyncio_member) == inspect.getdoc(blocking_member)


@pytest.mark.parametrize("name", sorted(ASYNCIO_ONLY))
def test_the_asyncio_only_members_are_documented(name: str) -> None:
    member = inspect.getattr_static(AsyncCamera, name)
    assert inspect.getdoc(member.fget if isinstance(member, property) else member)
    assert not hasattr(Camera, name)


def test_the_coroutines_are_where_the_blocking_methods_are() -> None:
    # Every shared method that talks to the camera is a coroutine function (or an async
    # generator, or returns an async iterator) on AsyncCamera, and a plain function on Camera.
    for name in SHARED:
        asyncio_member, blocking_member = members(name)
        if not inspect.isfunction(asyncio_member):
            continue
        assert not inspect.iscoroutinefunction(blocking_member), name
        if name not in ("live", "download"):  # these return an iterator at once
            assert inspect.iscoroutinefunction(asyncio_member), name
