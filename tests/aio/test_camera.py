"""The asyncio client against the simulator on 127.0.0.1: every method, the request rules
(one outstanding request, deadlines, rebuilt connections), keepalive, alarms, PTZ stops and
reboots."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import xmcam
from tests import virtual_time
from tests.client_tour import method_tour
from tests.waiting import until
from xmcam.aio import AsyncCamera
from xmcam.client.models import AlarmEvent, LoginInfo
from xmcam.errors import (
    AuthenticationError,
    ConnectionClosedError,
    RequestTimeoutError,
    XMCamError,
)
from xmcam.sim import Simulator, load_profile


def guarded(sim: Simulator) -> bool:
    return any(connection.guarded for connection in sim.device.connections.values())


def run(test: Callable[[Simulator], Awaitable[None]], sim: Simulator | None = None) -> None:
    """Run `test` against a started simulator, both on one virtual-time event loop: the
    keepalives, expiries and deadlines below take no real time."""

    async def main() -> None:
        async with sim or Simulator() as started:
            await test(started)

    virtual_time.run(main())


def now() -> float:
    """The event loop's clock, in which the waits of these tests pass."""
    return asyncio.get_running_loop().time()


def test_every_method() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            session = cam.login_info.session_id  # the simulator's: random, never 0
            assert session != 0
            assert cam.login_info == LoginInfo(session, 20, 1, "IPC")
            tour = method_tour(sim.state)
            result: Any = None
            with contextlib.suppress(StopIteration):
                while True:
                    name, args, kwargs = tour.send(result)
                    try:
                        result = await getattr(cam, name)(*args, **kwargs)
                    except XMCamError as error:
                        result = error
            await cam.logout()
            assert sim.session_count == 0
        assert sim.device.login_attempts == 1

    run(test)


def test_await_connect_and_repr_without_password() -> None:
    async def test(sim: Simulator) -> None:
        sim.device.state.users[0]["Password"] = xmcam.sofia_hash("hunter2")
        cam = await xmcam.connect(sim.host, sim.port, password="hunter2")
        try:
            assert "hunter2" not in repr(cam)
            assert repr(cam) == f"AsyncCamera(host='127.0.0.1', port={sim.port}, user='admin')"
            assert (await cam.system_info()).alarm_out == 1
        finally:
            await cam.close()
        with pytest.raises(ConnectionClosedError):
            await cam.system_info()

    run(test)


def test_wrong_password_is_one_login_attempt() -> None:
    async def test(sim: Simulator) -> None:
        with pytest.raises(AuthenticationError) as caught:
            await xmcam.connect(sim.host, sim.port, password="hunter2")
        assert caught.value.ret == 203
        assert "hunter2" not in str(caught.value)
        assert xmcam.sofia_hash("hunter2") not in str(caught.value)
        assert sim.device.login_attempts == 1
        assert sim.connection_count == 0 or sim.session_count == 0

    run(test)


def test_refused_connection_is_a_connection_error() -> None:
    async def test(sim: Simulator) -> None:
        port = sim.port
        await sim.stop()
        with pytest.raises(ConnectionClosedError, match="cannot connect"):
            await xmcam.connect("127.0.0.1", port, timeout=1)

    run(test)


def test_silent_reply_times_out_and_next_request_rebuilds() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port, timeout=0.3) as cam:
            sim.faults.silent_ids = {1020}
            started = now()
            with pytest.raises(RequestTimeoutError, match="SYSINFO_REQ"):
                await cam.system_info()
            assert now() - started < 1.0
            sim.faults.silent_ids = set()
            assert (await cam.system_info()).model == "HI3516D_83H50N"
            assert sim.device.login_attempts == 2  # a new connection, logged in again
            assert sim.connection_count == 1  # and the desynchronised one is gone

    run(test)


def test_one_outstanding_request_at_a_time() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            sim.faults.reply_delay = 0.02
            results = await asyncio.gather(
                cam.system_info(), cam.get_time(), cam.channel_titles(), cam.keepalive()
            )
            assert results[0].model == "HI3516D_83H50N"
            assert results[2] == ["CAM01"]
            assert sim.device.login_attempts == 1

    run(test)


def test_dropped_connection_fails_then_is_rebuilt() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            sim.drop_connections()
            await until(lambda: sim.connection_count == 0)
            await asyncio.sleep(0.01)  # let the client see the EOF
            assert (await cam.system_info()).model == "HI3516D_83H50N"
            assert sim.device.login_attempts == 2

    run(test)


def test_keepalive_holds_the_session_past_three_expiry_periods() -> None:
    # The simulator ends a session after one AliveInterval (1 s) of silence.
    profile = load_profile().with_alive_interval(1).with_quirks(session_expiry_intervals=1.0)

    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port, timeout=1) as cam:
            assert cam.login_info.alive_interval == 1
            await asyncio.sleep(3.3)
            assert sim.session_count == 1
            assert (await cam.system_info()).model == "HI3516D_83H50N"
            assert sim.device.login_attempts == 1  # the same session all along

    run(test, Simulator(profile))


def test_keepalive_without_reply_detects_a_dead_connection() -> None:
    profile = load_profile().with_alive_interval(1)

    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port, timeout=0.3) as cam:
            sim.faults.silent_ids = {1006}  # the link looks alive but answers nothing
            alarms = cam.alarms()
            started = now()
            with pytest.raises(ConnectionClosedError, match=r"keepalive|KEEPALIVE"):
                await anext(alarms)
            assert now() - started < 2.0
            await alarms.aclose()

    run(test, Simulator(profile))


def test_alarms_are_routed_apart_from_replies() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            async with contextlib.aclosing(cam.alarms()) as alarms:
                first = asyncio.ensure_future(anext(alarms))
                await until(lambda: guarded(sim))
                sim.faults.reply_delay = 0.05
                reply = asyncio.ensure_future(cam.system_info())
                await until(lambda: sim.device.connections[1].frames_received == 3)
                assert sim.trigger_alarm(0, "VideoMotion", "Start") == 1  # before the reply
                assert (await reply).model == "HI3516D_83H50N"
                event = await first
                assert isinstance(event, AlarmEvent)
                assert (event.channel, event.event, event.status) == (0, "VideoMotion", "Start")
                sim.trigger_alarm(0, "VideoMotion", "Stop")
                assert (await anext(alarms)).status == "Stop"
            await until(lambda: not guarded(sim))  # unguarded on exit

    run(test)


def test_alarms_end_when_the_camera_closes_and_fail_on_eof() -> None:
    async def test(sim: Simulator) -> None:
        cam = await xmcam.connect(sim.host, sim.port)
        alarms = cam.alarms()
        waiting = asyncio.ensure_future(anext(alarms))
        await until(lambda: guarded(sim))
        sim.drop_connections()
        with pytest.raises(ConnectionClosedError):
            await waiting
        waiting = asyncio.ensure_future(anext(cam.alarms()))
        await until(lambda: guarded(sim))
        await cam.close()
        with pytest.raises(StopAsyncIteration):
            await waiting

    run(test)


def test_ptz_stop_is_sent_when_the_caller_is_cancelled() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            moving = asyncio.ensure_future(cam.ptz("left", duration=30))
            await until(lambda: len(sim.state.ptz_log) == 1)
            moving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await moving
            await until(lambda: len(sim.state.ptz_log) == 2)
            assert [entry.preset for entry in sim.state.ptz_log] == [65535, -1]

    run(test)


def test_ptz_stop_is_retried_once() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            sim.faults.drop_after_frames = 4  # negotiation, login, start; the first stop is cut off
            await cam.ptz("right", duration=0)
            presets = [entry.preset for entry in sim.state.ptz_log]
            assert presets == [65535, -1, -1]
            assert sim.device.login_attempts == 2

    run(test)


def test_ptz_rejects_unknown_commands_before_sending() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            with pytest.raises(ValueError, match="unknown PTZ command"):
                await cam.ptz("sideways")
            assert sim.state.ptz_log == []

    run(test)


def test_reboot_waits_until_login_works_again() -> None:
    profile = load_profile().with_quirks(reboot_delay=0.3)

    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            cam.reboot_poll_interval = 0.05
            started = now()
            await cam.reboot(wait=True, wait_timeout=5)
            assert now() - started >= 0.3
            assert sim.reboots == 1
            assert sim.device.login_attempts >= 2
            assert (await cam.system_info()).model == "HI3516D_83H50N"
            await cam.reboot()
            await until(lambda: sim.reboots == 2)

    run(test, Simulator(profile))


def test_wire_log_shows_frames_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    async def test(sim: Simulator) -> None:
        sim.device.state.users[0]["Password"] = xmcam.sofia_hash("hunter2")
        async with xmcam.connect(sim.host, sim.port, password="hunter2") as cam:
            await cam.add_user("bob", "hunter2")

    with caplog.at_level(logging.DEBUG, logger="xmcam.wire"):
        run(test)
    sent = [record.getMessage() for record in caplog.records if record.name == "xmcam.wire"]
    assert any(message.startswith("-> ") for message in sent)
    assert any(message.startswith("<- ") for message in sent)
    assert any("Password" in message for message in sent)
    # the conftest guard fails the test if the password or its hash reached the log


def test_camera_is_usable_without_connect_helper() -> None:
    async def test(sim: Simulator) -> None:
        async with AsyncCamera(sim.host, sim.port) as cam:
            assert (await cam.work_state()).recording == (True,)
        with pytest.raises(ConnectionClosedError):
            _ = AsyncCamera(sim.host).login_info

    run(test)


def test_close_during_open_leaves_no_connection_behind() -> None:
    async def test(sim: Simulator) -> None:
        sim.faults.reply_delay = 0.2  # the login reply comes after the close
        cam = AsyncCamera(sim.host, sim.port, timeout=2)
        opening = asyncio.create_task(cam.open())
        await until(lambda: sim.connection_count == 1)
        await cam.close()
        with pytest.raises(ConnectionClosedError):
            await opening
        await until(lambda: sim.connection_count == 0)

    run(test)


def test_close_ends_a_reboot_wait_at_once() -> None:
    profile = load_profile().with_quirks(reboot_delay=3.0)

    async def test(sim: Simulator) -> None:
        cam = await xmcam.connect(sim.host, sim.port, timeout=1)
        cam.reboot_poll_interval = 0.05
        rebooting = asyncio.create_task(cam.reboot(wait=True, wait_timeout=4))
        await until(lambda: sim.reboots == 1 and not sim.listening)
        await cam.close()
        started = now()
        with pytest.raises(ConnectionClosedError):
            await rebooting
        assert now() - started < 0.5

    run(test, Simulator(profile))


def test_ptz_stop_never_retries_a_refused_login() -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port) as cam:
            sim.device.state.users[0]["Password"] = xmcam.sofia_hash("changed")
            sim.faults.drop_after_frames = 2  # login, then the start is cut off
            with pytest.raises(AuthenticationError):  # the stop's new login is refused
                await cam.ptz("right", duration=0)
            assert sim.device.login_attempts == 2  # the first, and one refused: no retry

    run(test)


def test_close_ends_every_alarm_reader() -> None:
    async def test(sim: Simulator) -> None:
        cam = await xmcam.connect(sim.host, sim.port)
        await cam.subscribe()
        readers = [asyncio.ensure_future(anext(cam.subscribed_alarms())) for _ in range(2)]
        await asyncio.sleep(0.01)
        await cam.close()
        async with asyncio.timeout(1):
            for reader in readers:
                with pytest.raises(StopAsyncIteration):
                    await reader
            with pytest.raises(StopAsyncIteration):  # and any reader after the close
                await anext(cam.subscribed_alarms())

    run(test)


def test_logout_after_the_camera_hung_up_does_not_log_in_again() -> None:
    async def test(sim: Simulator) -> None:
        cam = await xmcam.connect(sim.host, sim.port, timeout=2)
        sim.drop_connections()
        await asyncio.sleep(0.05)
        await cam.logout()
        assert sim.device.login_attempts == 1

    run(test)


def test_alarms_pushed_without_a_subscription_are_not_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def test(sim: Simulator) -> None:
        async with xmcam.connect(sim.host, sim.port, timeout=2) as cam:
            for connection in sim.device.connections.values():
                connection.guarded = True  # firmware that pushes although nobody asked
            with caplog.at_level(logging.DEBUG, logger="xmcam.aio"):
                for _ in range(5):
                    sim.trigger_alarm()
                await cam.keepalive()  # the pushes have arrived by the time this returns
            dropped = [r for r in caplog.records if "pushed while not subscribed" in r.message]
            assert len(dropped) == 5
            await cam.subscribe()
            sim.trigger_alarm(0, "VideoMotion", "Stop")
            async with contextlib.aclosing(cam.subscribed_alarms()) as alarms:
                event = await anext(alarms)
            assert event.status == "Stop"

    run(test)
