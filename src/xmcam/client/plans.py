"""Plans: what a camera method does across connections and time, without I/O.

Theory of operation. A request procedure (`xmcam.client.operations`) runs on one connection:
it yields Calls and receives Replies. A few methods do more than that, and what they do is
policy worth writing once: a PTZ move pauses between its start and its stop, sends the stop
on every way out and retries it once; a snapshot falls back to the live stream; a live stream
or a download tries a second connection, then one socket. Each is a *plan*: a generator that
yields steps (run a procedure on the camera's control connection, pause, open a data
connection, ...) and receives each step's result, or meets the step's exception at its
`yield`. Every exception meets the plan there, KeyboardInterrupt and asyncio's
CancelledError included, so a plan's `try` blocks see every way out and its cleanup steps
(the PTZ stop) are performed like the others.

A shell drives a plan with `drive()` (blocking) or `drive_async()` (asyncio) and a function
that performs the steps it is given: `Run`, `Pause` and `Shielded` here, the media steps in
`xmcam.client.media_operations`. Neither driver does any I/O itself; `drive_async` only
awaits what the shell's function returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from xmcam.client.operations import Procedure

__all__ = ["Finished", "Pause", "Plan", "Run", "Shielded", "drive", "drive_async", "resume"]

T = TypeVar("T")

Plan = Generator[Any, Any, T]
"""A method's policy: yields steps, receives their results, returns the method's result."""


@dataclass(frozen=True, slots=True)
class Run(Generic[T]):
    """Run `procedure` on the camera's control connection, opened and logged in first when
    needed. Its result comes back; its error is raised at the `yield`."""

    procedure: Procedure[T]


@dataclass(frozen=True, slots=True)
class Pause:
    """Wait `seconds`."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Shielded(Generic[T]):
    """Perform `plan` to its end even when the caller is cancelled meanwhile (asyncio: in a
    task of its own that `close()` waits for); its result comes back."""

    plan: Plan[T]


@dataclass(frozen=True, slots=True)
class Finished(Generic[T]):
    """A plan's (or a procedure's) result."""

    value: T


def resume(plan: Plan[T], value: Any, error: BaseException | None) -> Any:
    """Resume `plan` with the result of its last step (None to start it), or raise `error`
    inside it at that step; return its next step, or `Finished` with its result."""
    try:
        return plan.send(value) if error is None else plan.throw(error)
    except StopIteration as stop:
        return Finished(stop.value)


def drive(plan: Plan[T], perform: Callable[[Any], Any]) -> T:
    """Perform `plan`'s steps with `perform`, one after the other; return its result."""
    value, error = None, None
    while not isinstance(step := resume(plan, value, error), Finished):
        try:
            value, error = perform(step), None
        except BaseException as caught:  # met by the plan at its yield: its cleanup runs
            value, error = None, caught
    result: T = step.value
    return result


async def drive_async(plan: Plan[T], perform: Callable[[Any], Awaitable[Any]]) -> T:
    """`drive()` for a shell whose steps are awaited."""
    value, error = None, None
    while not isinstance(step := resume(plan, value, error), Finished):
        try:
            value, error = await perform(step), None
        except BaseException as caught:  # met by the plan at its yield: its cleanup runs
            value, error = None, caught
    result: T = step.value
    return result
