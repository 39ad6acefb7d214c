"""The plans, driven by a scripted performer (no sockets, no clock): every exception meets the
plan at its step, so the PTZ stop goes out on every way out and is retried once; the start of
a transfer falls back from two connections to one socket; the snapshot falls back to the live
stream. The same plans are what the blocking and the asyncio client perform."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from xmcam.client import media_operations as mops
from xmcam.client import operations as ops
from xmcam.client import plans
from xmcam.client.models import RecordFile
from xmcam.errors import (
    AuthenticationError,
    ConnectionClosedError,
    DeviceError,
    RequestTimeoutError,
    error_for_ret,
)
from xmcam.protocol.codes import MessageId, Ret

Script = Callable[[Any], Any]


class Performer:
    """Performs steps by what `script` says for each; records what it was given."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.steps: list[Any] = []

    def __call__(self, step: Any) -> Any:
        self.steps.append(step)
        return self.script(step)


def _kind(step: Any) -> str:
    if isinstance(step, plans.Run):
        call = step.procedure.send(None)  # the procedure's first call tells which it is
        step.procedure.close()
        if call.message_id == MessageId.PTZ_REQ:
            preset = call.body["OPPTZControl"]["Parameter"]["Preset"]
            return "start" if preset == 65535 else "stop"
        return f"run {call.message_id}"
    if isinstance(step, plans.Shielded):
        return "shielded"
    return type(step).__name__


def test_a_plan_gets_the_results_of_its_steps_and_returns_its_own() -> None:
    def plan() -> plans.Plan[int]:
        first: int = yield "one"
        second: int = yield "two"
        return first + second

    performer = Performer({"one": 1, "two": 2}.__getitem__)
    assert plans.drive(plan(), performer) == 3
    assert performer.steps == ["one", "two"]


def test_an_error_meets_the_plan_at_its_step() -> None:
    def plan() -> plans.Plan[str]:
        try:
            yield "fails"
        except RequestTimeoutError as error:
            return f"caught {error}"
        return "not reached"

    def fail(step: Any) -> Any:
        raise RequestTimeoutError("late")

    assert plans.drive(plan(), fail) == "caught late"


def drive_ptz(done: list[str], fail: Callable[[Any, list[str]], None]) -> None:
    """Drive the PTZ plan, its Shielded steps in place, the kind of every step performed
    appended to `done`; `fail` may raise for a step."""

    def perform(step: Any) -> Any:
        if isinstance(step, plans.Shielded):
            done.append("shielded")
            return plans.drive(step.plan, perform)
        done.append(_kind(step))
        fail(step, done)
        return None

    plans.drive(ops.ptz("left", duration=1), perform)


def test_ptz_starts_pauses_and_stops() -> None:
    done: list[str] = []
    drive_ptz(done, lambda step, done: None)
    assert done == ["start", "Pause", "shielded", "stop"]


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, asyncio.CancelledError])
def test_the_ptz_stop_goes_out_when_the_pause_is_interrupted(
    interrupt: type[BaseException],
) -> None:
    def fail(step: Any, done: list[str]) -> None:
        if isinstance(step, plans.Pause):
            raise interrupt

    done: list[str] = []
    with pytest.raises(interrupt):
        drive_ptz(done, fail)
    assert done == ["start", "Pause", "shielded", "stop"]


def test_a_failed_start_is_not_retried_but_the_stop_goes_out() -> None:
    def fail(step: Any, done: list[str]) -> None:
        if done[-1] == "start":
            raise ConnectionClosedError("cut")

    done: list[str] = []
    with pytest.raises(ConnectionClosedError):
        drive_ptz(done, fail)
    assert done == ["start", "shielded", "stop"]


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (ConnectionClosedError("cut"), ["start", "Pause", "shielded", "stop", "stop"]),
        (AuthenticationError(Ret.WRONG_PASSWORD), ["start", "Pause", "shielded", "stop"]),
    ],
)
def test_a_failed_stop_is_sent_once_more_unless_its_login_was_refused(
    failure: Exception, expected: list[str]
) -> None:
    def fail(step: Any, done: list[str]) -> None:
        if done[-1] == "stop" and done.count("stop") == 1:
            raise failure

    done: list[str] = []
    if isinstance(failure, AuthenticationError):
        with pytest.raises(AuthenticationError):
            drive_ptz(done, fail)
    else:
        drive_ptz(done, fail)
    assert done == expected


def test_ptz_checks_its_arguments_before_anything_is_performed() -> None:
    performer = Performer(lambda step: None)
    with pytest.raises(ValueError, match="unknown PTZ command"):
        plans.drive(ops.ptz("sideways"), performer)
    with pytest.raises(ValueError, match="speed"):
        plans.drive(ops.ptz("left", speed=11), performer)
    assert performer.steps == []


def test_the_async_driver_meets_a_cancel_the_same_way() -> None:
    done: list[str] = []

    async def perform(step: Any) -> Any:
        if isinstance(step, plans.Shielded):
            return await plans.drive_async(step.plan, perform)
        done.append(_kind(step))
        if isinstance(step, plans.Pause):
            raise asyncio.CancelledError
        return None

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(plans.drive_async(ops.ptz("up", duration=1), perform))
    assert done == ["start", "Pause", "stop"]


# ---------------------------------------------------------------------- starting a transfer


def start_kinds(flow: str, claim_outcome: BaseException | None) -> tuple[list[str], str]:
    """Drive the live start plan; the claim meets `claim_outcome`; (steps, flow chosen)."""
    done: list[str] = []

    def perform(step: Any) -> None:
        done.append(type(step).__name__)
        if isinstance(step, mops.ClaimData) and claim_outcome is not None:
            raise claim_outcome

    chosen = plans.drive(mops.start_live(0, False, flow), perform)
    return done, chosen


def test_two_connections_when_the_claim_succeeds() -> None:
    assert start_kinds("auto", None) == (["ClaimData", "StartOnControl"], "two")
    assert start_kinds("two", None) == (["ClaimData", "StartOnControl"], "two")


@pytest.mark.parametrize(
    "failure",
    [
        RequestTimeoutError("silent"),
        ConnectionClosedError("refused"),
        error_for_ret(Ret.UNSUPPORTED_VERSION),
    ],
)
def test_one_socket_when_the_claim_fails(failure: Exception) -> None:
    assert start_kinds("auto", failure) == (["ClaimData", "ClaimOnControl"], "one")
    with pytest.raises(type(failure)):
        start_kinds("two", failure)


def test_one_socket_asked_for_claims_on_the_control_connection_only() -> None:
    assert start_kinds("one", None) == (["ClaimOnControl"], "one")


def test_a_download_of_a_file_the_device_does_not_have_does_not_fall_back() -> None:
    day = datetime(2024, 1, 1)
    record = RecordFile("/idea0/none.h264", 0, day, day, 0, 0, 0, "video", {})
    missing = error_for_ret(Ret.NO_FILE_FOUND)
    done: list[str] = []

    def perform(step: Any) -> None:
        done.append(type(step).__name__)
        raise missing

    with pytest.raises(DeviceError):
        plans.drive(mops.start_download(record), perform)
    assert done == ["ClaimData"]


# ---------------------------------------------------------------------- snapshots


def snapshot_kinds(failure: BaseException | None, *, fallback: bool = True) -> list[str]:
    done: list[str] = []

    def perform(step: Any) -> bytes:
        done.append(type(step).__name__)
        if isinstance(step, mops.RunWithSink) and failure is not None:
            raise failure
        return b"jpeg"

    assert plans.drive(mops.take_snapshot(0, fallback=fallback), perform) == b"jpeg"
    return done


def test_a_snapshot_by_opsnap() -> None:
    assert snapshot_kinds(None) == ["RunWithSink"]


@pytest.mark.parametrize(
    "failure",
    [error_for_ret(Ret.UNSUPPORTED_VERSION), error_for_ret(Ret.TIMEOUT), RequestTimeoutError("x")],
)
def test_a_refused_snapshot_falls_back_to_the_live_stream(failure: Exception) -> None:
    assert snapshot_kinds(failure) == ["RunWithSink", "KeyframeJpeg"]
    with pytest.raises(type(failure)):
        snapshot_kinds(failure, fallback=False)


def test_a_snapshot_that_failed_otherwise_does_not_fall_back() -> None:
    with pytest.raises(ConnectionClosedError):
        snapshot_kinds(ConnectionClosedError("cut"))
