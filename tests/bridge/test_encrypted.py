"""The MQTT bridge with cameras on new firmware (the simulator's `v506` profile, which logs in
only over the encrypted FunSDK session), against a real Mosquitto broker on 127.0.0.1: alarms
come through, and each camera sees one login per connection attempt and none after a
refusal."""

from __future__ import annotations

import asyncio

from tests.bridge.conftest import Mosquitto, subscribed
from tests.bridge.test_mqtt import bridged, online, simulators
from tests.waiting import until
from xmcam.fleet import CameraEntry
from xmcam.sim import Simulator


def entry(name: str, sim: Simulator, **fields: object) -> CameraEntry:
    return CameraEntry(name=name, host=sim.host, port=sim.port, timeout=2.0, **fields)  # type: ignore[arg-type]


async def test_new_firmware_is_bridged_over_the_encrypted_session(broker: Mosquitto) -> None:
    async with (
        simulators(3, profile="v506") as (porch, wrong, plain),
        subscribed(broker.port) as subscriber,
        bridged(
            broker.url,
            [
                entry("porch", porch),
                entry("wrong", wrong, password="wrong"),
                entry("plain", plain, encryption="off"),
            ],
        ),
    ):
        await online(subscriber, "porch")
        porch.trigger_alarm(0, "VideoMotion", "Start")
        await subscriber.wait_payload("xmcam/porch/motion/0", "ON")
        await until(lambda: wrong.device.login_attempts == 1 and plain.device.login_attempts == 1)
        await asyncio.sleep(1.0)  # several backoff periods: nothing tries again
        assert porch.device.login_attempts == 1
        assert wrong.device.login_attempts == 1
        assert plain.device.login_attempts == 1
        assert subscriber.on("xmcam/wrong/availability")[-1:] != ["online"]
        assert subscriber.on("xmcam/plain/availability")[-1:] != ["online"]
        # A dropped connection comes back with one more login, encrypted again.
        porch.drop_connections()
        await until(lambda: porch.device.login_attempts == 2 and porch.session_count == 1)
        await asyncio.sleep(0.1)
        porch.trigger_alarm(0, "VideoMotion", "Stop")
        await subscriber.wait_payload("xmcam/porch/motion/0", "OFF")
        assert porch.device.login_attempts == 2
