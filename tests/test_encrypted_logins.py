"""Both clients, watch and the bridge against the simulator's new firmware (`v506`, which logs
in only over the encrypted FunSDK session) and its older profiles, on 127.0.0.1.

What is counted: the logins the device sees (`SimulatedDevice.login_attempts`, plain ones it
ignores included). `auto` must find out before any password goes out, so a device never sees
more than one login per connection attempt, and none after a refusal."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator

import pytest

import xmcam
from tests.waiting import until
from xmcam.aio import AsyncCamera, Backoff
from xmcam.client.encryption import NEGOTIATION_TIMEOUT, Encryption
from xmcam.client.models import AlarmEvent, ConnectionEvent
from xmcam.errors import (
    AuthenticationError,
    EncryptionRequiredError,
    EncryptionUnavailableError,
)
from xmcam.protocol import MessageId, sofia_hash
from xmcam.sim import Simulator, SimulatorThread, load_profile

FAST = Backoff(initial=0.02, maximum=0.2, settle=1.0)


@pytest.fixture
def v506() -> Iterator[SimulatorThread]:
    with SimulatorThread("v506") as running:
        yield running


@pytest.fixture
def seed() -> Iterator[SimulatorThread]:
    with SimulatorThread() as running:
        yield running


def logins(sim: SimulatorThread) -> int:
    return sim.call(lambda: sim.simulator.device.login_attempts)


def connections(sim: SimulatorThread) -> int:
    return sim.call(lambda: sim.simulator.device._next_connection)  # noqa: SLF001  (counted)


# ------------------------------------------------------------------------ the blocking client


def test_auto_logs_in_to_new_firmware_encrypted_with_one_login(v506: SimulatorThread) -> None:
    with xmcam.Camera(v506.host, v506.port, timeout=5) as cam:
        assert cam.encryption is Encryption.AUTO
        assert cam.login_info.encrypted
        assert cam.login_info.alive_interval == 30
        info = cam.system_info()
        assert info.firmware is not None
        assert info.firmware.startswith("V5.06.R02")
        assert cam.get_config("General.General")["MachineName"] == "LocalHost"
        cam.keepalive()
    assert logins(v506) == 1
    assert connections(v506) == 1


def test_auto_logs_in_to_older_firmware_in_clear_on_the_same_connection(
    seed: SimulatorThread,
) -> None:
    with xmcam.Camera(seed.host, seed.port, timeout=5) as cam:
        assert not cam.login_info.encrypted
        assert cam.system_info().model == "HI3516D_83H50N"
        cam.close()  # the next request opens a new connection: no negotiation this time
        assert cam.system_info().model == "HI3516D_83H50N"
    assert logins(seed) == 2
    assert connections(seed) == 2


def test_auto_gives_a_silent_device_a_new_connection_for_the_plain_login() -> None:
    profile = load_profile().with_quirks(negotiation_silent=True)
    with SimulatorThread(profile) as sim:
        with xmcam.Camera(sim.host, sim.port, timeout=NEGOTIATION_TIMEOUT + 2) as cam:
            assert not cam.login_info.encrypted
            assert cam.system_info().model == "HI3516D_83H50N"
        assert logins(sim) == 1
        assert connections(sim) == 2


def test_on_and_off(v506: SimulatorThread, seed: SimulatorThread) -> None:
    with xmcam.Camera(v506.host, v506.port, encryption="on") as cam:
        assert cam.login_info.encrypted
    with pytest.raises(EncryptionUnavailableError, match="refused the negotiation \\(Ret 103\\)"):
        xmcam.Camera(seed.host, seed.port, encryption="on").open()
    assert logins(seed) == 0  # no password went out
    with pytest.raises(EncryptionRequiredError, match="wants an encrypted session"):
        xmcam.Camera(v506.host, v506.port, encryption="off").open()
    assert logins(v506) == 2
    with pytest.raises(ValueError, match="encryption must be one of auto, on, off"):
        xmcam.Camera(v506.host, v506.port, encryption="maybe")


def test_a_wrong_password_over_the_encrypted_session_is_one_login(v506: SimulatorThread) -> None:
    with pytest.raises(AuthenticationError):
        xmcam.Camera(v506.host, v506.port, password="wrong").open()
    assert logins(v506) == 1
    assert not v506.call(lambda: v506.simulator.device.is_locked("admin"))


def dumped_text(log: str) -> str:
    """The text columns of the hex dumps in a log, joined: the frames' bytes as logged."""
    rows = [line for line in log.splitlines() if len(line) > 57 and line[4:7] == "   "]
    return "".join(row[57:] for row in rows if all(c in "0123456789abcdef" for c in row[:4]))


def test_the_debug_log_shows_bodies_decrypted_and_no_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="xmcam.wire")
    with (
        SimulatorThread("v506", password="secret") as sim,
        xmcam.Camera(sim.host, sim.port, password="secret") as cam,
    ):
        cam.system_info()
    text = dumped_text(caplog.text)
    assert '"SoftWareVersion" : "V5.06.R02' in text  # a reply, decrypted
    # A request, unsealed (the session id is the simulator's random one).
    assert re.search(r'\{ "Name" : "SystemInfo", "SessionID" : "0x[0-9A-F]{8}" \}', text)
    # The login as it was before the bootstrap key wrapped it: its secrets overwritten.
    assert '"PassWord":"' + "*" * 256 + '"' in text
    assert '"CommunicateKey":"' + "*" * 256 + '"' in text
    assert '"PublicKey" : "' + "*" * 263 + '"' in text  # the device's key material too
    assert "secret" not in caplog.text
    assert sofia_hash("secret") not in caplog.text


# ------------------------------------------------------------------------------ asyncio


async def test_the_asyncio_client_auto_and_on() -> None:
    async with Simulator("v506") as sim:
        async with xmcam.connect(sim.host, sim.port, timeout=5) as cam:
            assert cam.login_info.encrypted
            assert (await cam.system_info()).firmware is not None
            assert await cam.request(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})
        async with xmcam.connect(sim.host, sim.port, encryption="on") as cam:
            assert cam.encryption is Encryption.ON
        with pytest.raises(EncryptionRequiredError):
            await AsyncCamera(sim.host, sim.port, encryption="off").open()
        assert sim.device.login_attempts == 3
    async with Simulator() as sim:
        with pytest.raises(EncryptionUnavailableError):
            await AsyncCamera(sim.host, sim.port, encryption="on").open()
        async with xmcam.connect(sim.host, sim.port) as cam:
            assert not cam.login_info.encrypted
        assert sim.device.login_attempts == 1


async def test_a_silent_device_gets_a_new_link_for_the_plain_login() -> None:
    profile = load_profile().with_quirks(negotiation_silent=True)
    async with Simulator(profile) as sim:
        async with xmcam.connect(sim.host, sim.port, timeout=NEGOTIATION_TIMEOUT + 2) as cam:
            assert not cam.login_info.encrypted
        assert sim.device.login_attempts == 1
        with pytest.raises(EncryptionUnavailableError, match="did not answer"):
            await AsyncCamera(sim.host, sim.port, encryption="on", timeout=0.3).open()
        assert sim.device.login_attempts == 1


async def test_alarms_come_through_the_encrypted_session() -> None:
    async with Simulator("v506") as sim, xmcam.connect(sim.host, sim.port, timeout=5) as cam:
        await cam.subscribe()
        events = cam.subscribed_alarms()
        sim.trigger_alarm(0, "VideoMotion", "Start")
        event = await asyncio.wait_for(anext(events), 5)
        assert (event.event, event.status) == ("VideoMotion", "Start")
        await events.aclose()


# --------------------------------------------------------------------------------- watch


async def test_watch_logs_in_once_per_connection_attempt() -> None:
    async with Simulator("v506") as sim:
        seen: list[AlarmEvent | ConnectionEvent] = []
        events = xmcam.watch(sim.host, sim.port, timeout=5, backoff=FAST)
        async with contextlib.aclosing(events):
            first = asyncio.create_task(anext(events))
            await until(lambda: sim.session_count == 1)
            await asyncio.sleep(0.05)
            sim.trigger_alarm(0, "VideoMotion", "Start")
            seen.append(await asyncio.wait_for(first, 5))
            sim.drop_connections()
            seen.append(await asyncio.wait_for(anext(events), 5))  # disconnected
            reconnected = asyncio.create_task(anext(events))
            await until(lambda: sim.session_count == 1)
            await asyncio.sleep(0.05)
            seen.append(await asyncio.wait_for(reconnected, 5))  # reconnected
            sim.trigger_alarm(0, "VideoMotion", "Stop")
            seen.append(await asyncio.wait_for(anext(events), 5))
        assert [getattr(event, "status", getattr(event, "kind", None)) for event in seen] == [
            "Start",
            "disconnected",
            "reconnected",
            "Stop",
        ]
        assert sim.device.login_attempts == 2  # two connection attempts, one login each


async def test_watch_stops_at_a_refusal_after_one_login() -> None:
    async with Simulator("v506") as sim:
        events = xmcam.watch(sim.host, sim.port, password="wrong", timeout=5, backoff=FAST)
        with pytest.raises(AuthenticationError):
            async with contextlib.aclosing(events):
                await anext(events)
        await asyncio.sleep(0.2)
        assert sim.device.login_attempts == 1
        events = xmcam.watch(sim.host, sim.port, encryption="off", timeout=5, backoff=FAST)
        with pytest.raises(EncryptionRequiredError):
            async with contextlib.aclosing(events):
                await anext(events)
        await asyncio.sleep(0.2)
        assert sim.device.login_attempts == 2
