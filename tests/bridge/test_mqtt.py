"""The MQTT bridge against a real Mosquitto broker and simulated cameras on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.bridge.conftest import Gate, Mosquitto, Subscriber, subscribed, text
from tests.bridge.test_homeassistant import check_home_assistant_config
from tests.waiting import until
from xmcam.aio import AsyncCamera, Backoff
from xmcam.aio.discovery import discover
from xmcam.bridge.homeassistant import DeviceDescription
from xmcam.bridge.mqtt import MqttBridge
from xmcam.fleet import CameraEntry
from xmcam.protocol.alarm_center import AlarmCenterMessage, encode_alarm_center_message
from xmcam.sim import Simulator, load_profile

FAST = Backoff(initial=0.02, maximum=0.2, settle=1.0)


def entry(name: str, sim: Simulator, password: str = "") -> CameraEntry:
    return CameraEntry(name=name, host=sim.host, port=sim.port, password=password, timeout=2.0)


@contextlib.asynccontextmanager
async def simulators(count: int, **options: Any) -> AsyncIterator[list[Simulator]]:
    async with contextlib.AsyncExitStack() as stack:
        yield [
            await stack.enter_async_context(Simulator(serial=f"SN{index:04d}", **options))
            for index in range(count)
        ]


@contextlib.asynccontextmanager
async def bridged(
    url: str, cameras: list[CameraEntry], **options: Any
) -> AsyncIterator[MqttBridge]:
    options.setdefault("broker_backoff", FAST)
    options.setdefault("camera_backoff", FAST)
    bridge = MqttBridge(url, cameras, **options)
    task = asyncio.create_task(bridge.run())
    try:
        yield bridge
    finally:
        bridge.stop()
        await task


async def online(subscriber: Subscriber, *cameras: str) -> None:
    for camera in cameras:
        await subscriber.wait_payload(f"xmcam/{camera}/availability", "online")


@contextlib.asynccontextmanager
async def porch_and_garage(
    broker: Mosquitto,
) -> AsyncIterator[tuple[Simulator, Simulator, Subscriber]]:
    """Two cameras, bridged and online, and a subscriber that saw them come."""
    async with (
        simulators(2) as (porch, garage),
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("porch", porch), entry("garage", garage)]),
    ):
        await online(subscriber, "porch", "garage")
        yield porch, garage, subscriber


async def test_an_alarm_reaches_mqtt_with_its_topic_and_payload(broker: Mosquitto) -> None:
    async with porch_and_garage(broker) as (first, second, subscriber):
        await subscriber.wait_payload("xmcam/bridge/availability", "online")
        # Before any alarm the sensors already have a state, read from WorkState.
        await subscriber.wait_payload("xmcam/garage/motion/0", "OFF")

        second.trigger_alarm(0, "VideoMotion", "Start")
        await subscriber.wait_payload("xmcam/garage/motion/0", "ON")
        [event] = subscriber.events("xmcam/garage/event")
        assert event["camera"] == "garage"
        assert (event["channel"], event["event"], event["status"]) == (0, "VideoMotion", "Start")
        assert event["source"] == "session"
        assert event["start_time"]
        assert event["received"].endswith("+00:00")

        second.trigger_alarm(0, "VideoMotion", "Stop")
        await subscriber.wait_payload("xmcam/garage/motion/0", "OFF")
        assert [e["status"] for e in subscriber.events("xmcam/garage/event")] == ["Start", "Stop"]
        assert subscriber.on("xmcam/porch/event") == []  # the other camera said nothing

        # Every event goes to the event topic; only motion events move the sensor.
        first.trigger_alarm(0, "LocalIO", "Start")
        await subscriber.wait_count("xmcam/porch/event", 1)
        assert subscriber.events("xmcam/porch/event")[0]["event"] == "LocalIO"
        assert subscriber.on("xmcam/porch/motion/0") == ["OFF"]

        # A late subscriber (Home Assistant after a restart) reads the state, retained.
        async with subscribed(broker.port) as late:
            await late.wait_payload("xmcam/garage/motion/0", "OFF")
            await late.wait_payload("xmcam/garage/availability", "online")
            assert all(m.retain for m in late.messages if "/event" not in m.topic.value)
            assert late.on("xmcam/garage/event") == []


async def test_a_snapshot_arrives_on_motion_and_on_request(broker: Mosquitto) -> None:
    async with porch_and_garage(broker) as (_first, second, subscriber):
        await subscriber.wait_payload("xmcam/garage/motion/0", "OFF")
        topic = "xmcam/garage/snapshot/0"

        def images() -> list[Any]:
            return [m.payload for m in subscriber.messages if m.topic.value == topic]

        assert images() == []
        second.trigger_alarm(0, "VideoMotion", "Start")
        await subscriber.wait_for(lambda _: len(images()) == 1, what="an image")
        [image] = images()
        assert isinstance(image, bytes)
        assert image.startswith(b"\xff\xd8")  # a JPEG
        assert image.endswith(b"\xff\xd9")
        await subscriber.publish("xmcam/garage/snapshot/take", "PRESS")
        await subscriber.wait_for(lambda _: len(images()) == 2, what="a second image")


async def test_motion_under_way_at_start_is_published_from_work_state(broker: Mosquitto) -> None:
    async with simulators(1, profile="nvr-8ch") as [nvr]:
        nvr.trigger_alarm(3, "VideoMotion", "Start")  # before the bridge is there
        async with (
            subscribed(broker.port) as subscriber,
            bridged(broker.url, [entry("nvr", nvr)]),
        ):
            await online(subscriber, "nvr")
            assert subscriber.on("xmcam/nvr/motion/3") == ["ON"]
            assert all(subscriber.on(f"xmcam/nvr/motion/{ch}") == ["OFF"] for ch in (0, 7))


async def test_discovery_configs_are_what_home_assistant_expects(broker: Mosquitto) -> None:
    async with (
        simulators(1, profile="nvr-8ch") as [nvr],
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("nvr", nvr)]) as bridge,
    ):
        await online(subscriber, "nvr")
        configs = {
            message.topic.value: json.loads(text(message))
            for message in subscriber.messages
            if message.topic.value.startswith("homeassistant/")
        }
        # Motion and a camera entity per channel, one alarm output, two buttons, two sensors.
        assert len(configs) == 8 + 8 + 1 + 2 + 2
        snapshot = configs["homeassistant/camera/xmcam_nvr_snapshot_5/config"]
        assert snapshot["topic"] == "xmcam/nvr/snapshot/5"
        assert (
            snapshot["device"]
            == configs["homeassistant/binary_sensor/xmcam_nvr_motion_5/config"]["device"]
        )
        free = configs["homeassistant/sensor/xmcam_nvr_storage_free/config"]
        await subscriber.wait_count(free["state_topic"], 1)
        assert subscriber.on(free["state_topic"]) == [str(0x2A3C)]
        for topic, config in configs.items():
            check_home_assistant_config(topic, config)
        motion = configs["homeassistant/binary_sensor/xmcam_nvr_motion_5/config"]
        assert motion["state_topic"] == "xmcam/nvr/motion/5"
        device = motion["device"]
        assert device["name"] == "nvr"
        assert device["manufacturer"] == "Xiongmai"
        assert device["model"] == "NBD80S10S-KL"
        assert device["sw_version"] == "V4.02.R11.C6380171.12201.141000.0000000"
        assert device["serial_number"] == "SN0000"
        assert motion["device"]["identifiers"] == ["xmcam_SN0000_nvr"]
        assert motion["unique_id"] == "xmcam_SN0000_nvr_motion_5"
        skew = configs["homeassistant/sensor/xmcam_nvr_clock_skew/config"]
        await subscriber.wait_count(skew["state_topic"], 1)
        assert abs(float(subscriber.on(skew["state_topic"])[-1])) < 5
        assert bridge.cameras["nvr"].description is not None

        # Home Assistant restarted: it announces itself, and gets every config again.
        count = len(subscriber.messages)
        await subscriber.publish("homeassistant/status", "online")
        await subscriber.wait_for(
            lambda sub: (
                sum(
                    m.topic.value.startswith("homeassistant/") and m.topic.value.endswith("/config")
                    for m in sub.messages[count:]
                )
                == len(configs)
            ),
            what="the configs again",
        )


async def test_the_switch_drives_the_simulators_alarm_output(broker: Mosquitto) -> None:
    async with porch_and_garage(broker) as (first, second, subscriber):
        await subscriber.wait_payload("xmcam/garage/alarm_out/0", "OFF")
        await subscriber.publish("xmcam/garage/alarm_out/0/set", "ON")
        await subscriber.wait_payload("xmcam/garage/alarm_out/0", "ON")
        assert second.state.alarm_out_mask() == 1
        assert second.state.get_config("Alarm.AlarmOut")[0]["AlarmOutType"] == "MANUAL"
        assert first.state.alarm_out_mask() == 0  # the other camera is left alone

        await subscriber.publish("xmcam/garage/alarm_out/0/set", "off")
        await subscriber.wait_payload("xmcam/garage/alarm_out/0", "OFF")
        assert second.state.alarm_out_mask() == 0

        # Nonsense is refused without a request to the camera.
        await subscriber.publish("xmcam/garage/alarm_out/0/set", "maybe")
        await subscriber.publish("xmcam/garage/alarm_out/7/set", "ON")  # no such output
        await subscriber.publish("xmcam/nobody/alarm_out/0/set", "ON")
        await subscriber.publish("xmcam/garage/alarm_out/0/set", "ON")
        await subscriber.wait_payload("xmcam/garage/alarm_out/0", "ON")
        assert subscriber.on("xmcam/garage/alarm_out/0") == ["OFF", "ON", "OFF", "ON"]


async def test_a_retained_command_is_not_obeyed(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    async with simulators(1) as [sim], subscribed(broker.port) as subscriber:
        await subscriber.publish("xmcam/cam/reboot/press", "PRESS", retain=True)
        async with bridged(broker.url, [entry("cam", sim)]):
            await online(subscriber, "cam")
            await until(lambda: "retained command" in caplog.text)
        assert sim.reboots == 0


async def test_the_reboot_button_reboots_and_the_camera_comes_back(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    profile = load_profile().with_quirks(reboot_delay=0.2)
    async with (
        simulators(1, profile=profile) as [sim],
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("cam", sim)]),
    ):
        await online(subscriber, "cam")
        await subscriber.publish("xmcam/cam/reboot/press", "please")
        await until(lambda: "reboot wants PRESS" in caplog.text)
        assert sim.reboots == 0
        await subscriber.publish("xmcam/cam/reboot/press", "PRESS")
        await subscriber.wait_payload("xmcam/cam/availability", "offline")
        await subscriber.wait_payload("xmcam/cam/availability", "online")
        assert sim.reboots == 1
        # (An "offline" may come first: the broker can be reached before the camera.)
        assert subscriber.on("xmcam/cam/availability")[-3:] == ["online", "offline", "online"]


async def test_a_broker_outage_loses_no_alarm_edge(broker: Mosquitto) -> None:
    async with (
        simulators(1) as [sim],
        Gate(broker.port) as gate,
        bridged(gate.url, [entry("cam", sim)]) as bridge,
    ):
        async with subscribed(broker.port) as subscriber:
            await online(subscriber, "cam")
            await asyncio.wait_for(bridge.outbox.drained(), 4)  # the start-up states are out
        await gate.close()  # the bridge cannot reach the broker until the test says so
        broker.kill()
        await until(lambda: not bridge.broker_connected)
        for status in ("Start", "Stop", "Start"):
            sim.trigger_alarm(0, "VideoMotion", status)
        sim.trigger_alarm(0, "LocalIO", "Start")
        await until(lambda: len(bridge.outbox.topics() & {"xmcam/cam/event"}) == 1)
        await until(lambda: len(bridge.outbox) >= 4 + 3)  # the events and the motion edges

        broker.start()  # the same port; every retained message is gone
        async with subscribed(broker.port) as subscriber:
            await gate.open()
            events = await subscriber.wait_count("xmcam/cam/event", 4)
            statuses = [(e["event"], e["status"]) for e in map(json.loads, events)]
            assert statuses == [
                ("VideoMotion", "Start"),
                ("VideoMotion", "Stop"),
                ("VideoMotion", "Start"),
                ("LocalIO", "Start"),
            ]
            await subscriber.wait_payload("xmcam/cam/motion/0", "ON")
            assert subscriber.on("xmcam/cam/motion/0") == ["ON", "OFF", "ON"]
            # The restarted broker forgot the retained state: the bridge told it again.
            await subscriber.wait_payload("xmcam/bridge/availability", "online")
            await subscriber.wait_payload("xmcam/cam/availability", "online")
            await subscriber.wait_count("homeassistant/button/xmcam_cam_reboot/config", 1)
        assert bridge.outbox.dropped == 0


async def test_a_message_in_flight_when_the_broker_goes_is_sent_again(broker: Mosquitto) -> None:
    async with (
        simulators(1) as [sim],
        Gate(broker.port) as gate,
        bridged(gate.url, [entry("cam", sim)]) as bridge,
        subscribed(broker.port) as subscriber,
    ):
        await online(subscriber, "cam")
        await asyncio.wait_for(bridge.outbox.drained(), 4)
        broker.pause()  # the publish goes out, its acknowledgement never comes
        sim.trigger_alarm(0, "LocalIO", "Start")
        await until(lambda: bridge.outbox.in_flight == 1)
        await gate.close()
        await until(lambda: len(bridge.outbox) == 1)  # put back when the connection died
        assert bridge.outbox.in_flight == 0
        broker.resume()
        await gate.open()
        events = await subscriber.wait_count("xmcam/cam/event", 1)
        # At least once (QoS 1): the broker may have read the first copy before the cut.
        assert {json.loads(event)["event"] for event in events} == {"LocalIO"}
        await until(lambda: len(bridge.outbox) == 0)


async def test_the_clock_skew_is_polled(broker: Mosquitto) -> None:
    async with (
        simulators(1) as [sim],
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("cam", sim)], skew_interval=0.05),
    ):
        skews = await subscriber.wait_count("xmcam/cam/clock_skew", 3)
        assert all(abs(float(skew)) < 5 for skew in skews)


async def test_the_audit_feeds_a_security_problem_sensor(broker: Mosquitto) -> None:
    async with (
        Simulator("xm530", serial="SEC0001") as sim,
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("cam", sim)], audit_interval=0.5),
    ):
        await subscriber.wait_payload("xmcam/cam/security", "ON")  # audited as it came online
        config_topic = "homeassistant/binary_sensor/xmcam_cam_security/config"
        await subscriber.wait_count(config_topic, 1)
        config = json.loads(subscriber.on(config_topic)[-1])
        check_home_assistant_config(config_topic, config)
        assert (config["device_class"], config["entity_category"]) == ("problem", "diagnostic")
        assert config["json_attributes_topic"] == "xmcam/cam/security/attributes"
        first = json.loads((await subscriber.wait_count("xmcam/cam/security/attributes", 1))[0])
        assert first["failed"] == ["cloud", "cloud-upgrade", "push", "upnp", "passwords"]
        assert first["findings"]["cloud"] == "the XMEye cloud (P2P) is on (secu100.net)"
        # Fixed by someone else: the next audit (twice a second here) says so.
        async with AsyncCamera(sim.host, sim.port) as camera:
            await camera.audit(fix=True, ports=None)
        await subscriber.wait_for(
            lambda sub: (
                json.loads(sub.on("xmcam/cam/security/attributes")[-1])["failed"] == ["passwords"]
            ),
            what="the audit after the fix",
        )


async def test_without_an_audit_interval_there_is_no_security_sensor(broker: Mosquitto) -> None:
    async with (
        simulators(1) as [sim],
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("cam", sim)]),
    ):
        await online(subscriber, "cam")
        await subscriber.wait_count("xmcam/cam/clock_skew", 1)
        topics = {message.topic.value for message in subscriber.messages}
        assert not any("security" in topic for topic in topics)


async def test_a_full_outbox_drops_the_oldest(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        simulators(1) as [sim],
        Gate(broker.port) as gate,
        bridged(gate.url, [entry("cam", sim)], outbox_limit=5) as bridge,
    ):
        async with subscribed(broker.port) as subscriber:
            await online(subscriber, "cam")
        caplog.clear()  # (a limit of 5 overflows at the start already)
        await gate.close()
        await until(lambda: not bridge.broker_connected)
        for channel in range(10):
            sim.trigger_alarm(channel, "LocalIO", "Start")
        # (Messages from before the cut may still wait too: more than 5 can go.)
        await until(lambda: bridge.outbox.dropped >= 5 and len(bridge.outbox) == 5)
        assert sum("dropping the oldest" in r.getMessage() for r in caplog.records) == 1
        async with subscribed(broker.port) as subscriber:
            await gate.open()
            await subscriber.wait_count("xmcam/cam/event", 5)
            channels = [event["channel"] for event in subscriber.events("xmcam/cam/event")]
            assert channels == [5, 6, 7, 8, 9]  # the newest kept, in order
            await until(lambda: "the broker caught up" in caplog.text)


async def test_a_camera_outage_goes_unavailable_and_back_with_the_edge_it_missed(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "xmcam.bridge")
    async with porch_and_garage(broker) as (_, second, subscriber):
        await second.stop()  # the camera is gone: its port is closed
        await subscriber.wait_payload("xmcam/garage/availability", "offline")
        await subscriber.publish("xmcam/garage/alarm_out/0/set", "ON")
        await until(lambda: "camera garage: offline, alarm_out command ignored" in caplog.text)
        second.trigger_alarm(0, "VideoMotion", "Start")  # nobody hears this push
        await second.start()  # back on the same port
        await subscriber.wait_payload("xmcam/garage/availability", "online")
        assert subscriber.on("xmcam/garage/motion/0")[-1] == "ON"  # from WorkState
        [event] = subscriber.events("xmcam/garage/event")
        assert (event["status"], event["source"]) == ("Start", "work_state")
        second.trigger_alarm(0, "VideoMotion", "Stop")  # and it is heard again
        await subscriber.wait_payload("xmcam/garage/motion/0", "OFF")
        assert subscriber.on("xmcam/porch/availability")[-1] == "online"  # the other one stayed
        assert subscriber.on("xmcam/porch/availability").count("online") == 1
        lines = [r.getMessage() for r in caplog.records if r.name == "xmcam.bridge"]
        assert sum("camera garage: offline (" in line for line in lines) == 1
        assert sum("camera garage: online (" in line for line in lines) == 2


async def test_a_refused_login_is_never_retried(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        simulators(1, password="secret") as [sim],
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("cam", sim, password="wrong")]) as bridge,
    ):
        await subscriber.wait_payload("xmcam/cam/availability", "offline")
        await until(lambda: "login refused" in caplog.text)
        assert sim.device.login_attempts == 1
        assert not bridge.cameras["cam"].online


async def test_stopping_publishes_offline_first(broker: Mosquitto) -> None:
    async with simulators(1) as [sim], subscribed(broker.port) as subscriber:
        async with bridged(broker.url, [entry("cam", sim)]):
            await online(subscriber, "cam")
        await subscriber.wait_payload("xmcam/cam/availability", "offline")
        await subscriber.wait_payload("xmcam/bridge/availability", "offline")
        assert sim.session_count == 0  # logged out


async def test_the_alarm_center_feeds_the_same_events(broker: Mosquitto) -> None:
    async with (
        simulators(1) as [known],
        subscribed(broker.port) as subscriber,
        bridged(
            broker.url, [entry("porch", known)], alarm_center_port=0, alarm_center_host="127.0.0.1"
        ) as bridge,
    ):
        await online(subscriber, "porch")
        assert bridge.alarm_center_port
        target = ("127.0.0.1", bridge.alarm_center_port)
        async with Simulator(serial="STRANGER1", alarm_center=target) as stranger:
            stranger.trigger_alarm(2, "MotionDetect", "Start")
            [event] = await subscriber.wait_count("xmcam/STRANGER1/event", 1)
        record = json.loads(event)
        assert (record["source"], record["serial"], record["type"]) == (
            "alarm_center",
            "STRANGER1",
            "Alarm",
        )
        assert (record["channel"], record["event"], record["status"]) == (
            2,
            "MotionDetect",
            "Start",
        )

        # A known camera that pushes to the center: matched by its serial.
        from xmcam.sim.alarm_push import configure_alarm_center  # noqa: PLC0415

        configure_alarm_center(known.state, *target)
        known.trigger_alarm(0, "MotionDetect", "Start")
        events = await subscriber.wait_count("xmcam/porch/event", 2)
        sources = sorted(json.loads(item)["source"] for item in events)
        assert sources == ["alarm_center", "session"]
        await subscriber.wait_payload("xmcam/porch/motion/0", "ON")


def test_the_package_imports_the_bridge_on_first_use() -> None:
    import xmcam.bridge  # noqa: PLC0415

    assert xmcam.bridge.MqttBridge is MqttBridge
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = xmcam.bridge.Nothing


def test_bad_arguments_are_refused() -> None:
    entries = [CameraEntry(name="cam", host="127.0.0.1"), CameraEntry(name="cam", host="::1")]
    with pytest.raises(ValueError, match="two cameras"):
        MqttBridge("mqtt://127.0.0.1", entries)
    with pytest.raises(ValueError, match="bridge's own topic"):
        MqttBridge("mqtt://127.0.0.1", [CameraEntry(name="bridge", host="127.0.0.1")])
    with pytest.raises(ValueError, match="clock-skew"):
        MqttBridge("mqtt://127.0.0.1", [], skew_interval=0)
    with pytest.raises(ValueError, match="audit interval"):
        MqttBridge("mqtt://127.0.0.1", [], audit_interval=0)
    with pytest.raises(ValueError, match="topic prefix"):
        MqttBridge("mqtt://127.0.0.1", [], prefix="a/+/b")


# ------------------------------------------------------------------ spoofed pushes


async def push(port: int, data: bytes, *, source: str) -> None:
    """One alarm-center push from `source` (a loopback address of the test's choosing)."""
    _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def motion_push(serial: str, status: str = "Start") -> bytes:
    return encode_alarm_center_message(
        serial=serial, address="127.0.0.1", event="MotionDetect", status=status
    )


async def test_a_push_with_a_cameras_serial_from_elsewhere_is_not_that_camera(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "xmcam.bridge")
    async with (
        Simulator(serial="PORCH-SN", discovery_port=0) as porch,
        subscribed(broker.port) as subscriber,
        bridged(
            broker.url, [entry("porch", porch)], alarm_center_port=0, alarm_center_host="127.0.0.1"
        ) as bridge,
    ):
        await online(subscriber, "porch")
        assert bridge.alarm_center_port
        port = bridge.alarm_center_port
        # The attacker learns the serial as anyone on the LAN can: with a search.
        [found] = await discover(
            timeout=0.3, targets=[("127.0.0.1", porch.discovery_port or 0)], bind=("127.0.0.1", 0)
        )
        assert found.serial == "PORCH-SN"
        await push(port, motion_push(found.serial), source="127.0.0.2")
        # Pushes are handled in order: once a later one is out, the spoof has been seen.
        await push(port, motion_push("MARKER1"), source="127.0.0.2")
        await subscriber.wait_count("xmcam/MARKER1/event", 1)
        assert bridge.alarm_center_refused == 1
        assert subscriber.on("xmcam/porch/event") == []
        assert subscriber.on("xmcam/porch/motion/0")[-1] == "OFF"
        events = [m for m in subscriber.messages if m.topic.value.endswith("/event")]
        assert not [m for m in events if "PORCH-SN" in text(m)]  # not as a stranger either
        assert "alarm-center push with its serial from 127.0.0.2, not its address" in caplog.text

        # From the camera's own address the same push is the camera's.
        await push(port, motion_push("PORCH-SN"), source="127.0.0.1")
        await subscriber.wait_payload("xmcam/porch/motion/0", "ON")
        [event] = subscriber.events("xmcam/porch/event")
        assert (event["source"], event["serial"]) == ("alarm_center", "PORCH-SN")


async def test_the_inventory_can_allow_other_addresses(broker: Mosquitto) -> None:
    async with Simulator(serial="GATE-SN") as gate:
        allowed = CameraEntry(
            name="gate",
            host="localhost",  # a name: its addresses are looked up
            port=gate.port,
            timeout=2.0,
            alarm_center_addresses=("127.0.0.3", "127.0.4.0/24"),
        )
        async with (
            subscribed(broker.port) as subscriber,
            bridged(
                broker.url, [allowed], alarm_center_port=0, alarm_center_host="127.0.0.1"
            ) as bridge,
        ):
            await online(subscriber, "gate")
            port = bridge.alarm_center_port or 0
            for number, source in enumerate(["127.0.0.3", "127.0.4.9", "127.0.0.1"]):
                status = "Start" if number % 2 == 0 else "Stop"
                await push(port, motion_push("GATE-SN", status), source=source)
                await subscriber.wait_count("xmcam/gate/event", number + 1)
            await push(port, motion_push("GATE-SN"), source="127.0.0.5")
            await push(port, motion_push("MARKER2"), source="127.0.0.5")
            await subscriber.wait_count("xmcam/MARKER2/event", 1)
            assert len(subscriber.on("xmcam/gate/event")) == 3
            assert bridge.alarm_center_refused == 1
            await subscriber.wait_payload("xmcam/gate/motion/0", "ON")


def _push_from(source: str | None, serial: str | None) -> AlarmCenterMessage:
    return AlarmCenterMessage(
        serial=serial,
        address="10.9.9.9",  # what the sender claims: never looked at
        channel=0,
        event="MotionDetect",
        status="Start",
        start_time=None,
        type="Alarm",
        description=None,
        source=source,
    )


def test_which_camera_a_push_is_attributed_to() -> None:
    entries = [
        CameraEntry(name="a", host="10.0.0.1"),
        CameraEntry(name="b", host="10.0.0.2", alarm_center_addresses=("10.0.0.1", "fd00::/64")),
        CameraEntry(name="c", host="cam-c.lan"),  # not resolved: only its serial is known
    ]
    bridge = MqttBridge("mqtt://127.0.0.1", entries)
    cameras = bridge.cameras
    for name, serial in (("a", "SA"), ("b", "SB"), ("c", "SC")):
        cameras[name].description = DeviceDescription(camera=name, serial=serial)

    def match(source: str | None, serial: str | None) -> str | None:
        camera = bridge._match(_push_from(source, serial))  # noqa: SLF001  (the rule itself)
        return camera.name if camera is not None else None

    assert match("10.0.0.1", "SA") == "a"
    assert match("10.0.0.1", "SB") == "b"  # b's pushes may come through 10.0.0.1
    assert match("::ffff:10.0.0.1", "SA") == "a"  # an IPv4 peer on a dual-stack socket
    assert match("fd00::7", "SB") == "b"
    assert match("10.0.0.2", "SB") == "b"
    assert match("10.0.0.2", None) == "b"  # no serial: the only camera there
    assert match("10.0.0.1", None) is None  # two cameras there: which one is unknown
    assert match("10.0.0.2", "SA") is None  # a's serial, not from a's address
    assert match("10.0.0.9", "SC") is None  # c's address is not known: nothing is c's
    assert match(None, "SA") is None
    assert match("not an address", "SA") is None
    cameras["b"].description = None  # not reached yet: its serial is unknown
    assert match("10.0.0.2", "ANY") == "b"
    assert match("10.0.0.1", "SX") == "b"  # a's serial is known to differ, b's is not
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        MqttBridge("mqtt://127.0.0.1", [CameraEntry("d", "h", alarm_center_addresses=("x",))])
