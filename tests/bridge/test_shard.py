"""Sharded bridges: three `xmcam bridge mqtt --shard K/3` processes share one inventory of
simulated cameras on a real Mosquitto broker."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import resource
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import pytest

from tests.bridge.conftest import Mosquitto, Subscriber, subscribed
from tests.bridge.test_mqtt import bridged, entry, simulators
from tests.waiting import until
from xmcam.bridge.homeassistant import Topics
from xmcam.bridge.mqtt import MqttBridge
from xmcam.bridge.shard import MAX_SHARDS, Shard, parse_shard, shard_of
from xmcam.fleet import CameraEntry
from xmcam.sim import Simulator

SHARDS = 3
NAMES = [f"cam{index:02d}" for index in range(12)]
TIMEOUT = 20.0


# ------------------------------------------------------------------ the hash, sans I/O


def test_a_cameras_shard_is_a_stable_hash_of_its_name() -> None:
    # The first 8 bytes of SHA-256("porch") are 698131fa10b8088e, of "garage"
    # 21b747de22dbb757: pinned, so that no release moves cameras to other bridges.
    assert shard_of("porch", 3) == 0x698131FA10B8088E % 3 == 1
    assert shard_of("garage", 7) == 0x21B747DE22DBB757 % 7 == 4
    assert shard_of("porch", 1) == 0
    assert [shard_of(name, SHARDS) for name in NAMES] == [0, 0, 1, 2, 1, 0, 0, 0, 0, 1, 2, 2]
    owners = {name: [k for k in range(SHARDS) if Shard(k, SHARDS).owns(name)] for name in NAMES}
    assert all(len(found) == 1 for found in owners.values())  # each camera in exactly one
    with pytest.raises(ValueError, match="shard count"):
        shard_of("porch", 0)


@pytest.mark.parametrize(
    "value", ["3/3", "-1/3", "1", "1/0", "a/b", "0/3/1", f"0/{MAX_SHARDS + 1}", "", "1 /3"]
)
def test_a_bad_shard_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="shard"):
        parse_shard(value)


def test_a_shard_has_its_own_topics() -> None:
    shard = parse_shard("2/5")
    assert (shard.index, shard.count, shard.label) == (2, 5, "2/5")
    topics = Topics(bridge=shard.topic_level)
    assert topics.bridge_availability == "xmcam/bridge/shard-2-of-5/availability"
    assert topics.parse_command(topics.bridge_availability) is None
    assert Topics().bridge_availability == "xmcam/bridge/availability"


def test_commands_are_a_shared_subscription_of_the_shard_where_the_broker_allows() -> None:
    cameras = [CameraEntry(name=name, host="127.0.0.1") for name in NAMES]
    bridge = MqttBridge("mqtt://127.0.0.1", cameras, shard=Shard(1, SHARDS), prefix="home/x")
    assert set(bridge.cameras) == {name for name in NAMES if shard_of(name, SHARDS) == 1}
    assert bridge.inventory_size == len(NAMES)
    assert bridge.command_filters(shared=True) == [
        "$share/home_x_shard-1-of-3/home/x/+/alarm_out/+/set",
        "$share/home_x_shard-1-of-3/home/x/+/reboot/press",
        "$share/home_x_shard-1-of-3/home/x/+/snapshot/take",
    ]
    # A broker without shared subscriptions: every bridge gets every command, and obeys
    # only those for its own cameras.
    assert bridge.command_filters(shared=False) == [
        "home/x/+/alarm_out/+/set",
        "home/x/+/reboot/press",
        "home/x/+/snapshot/take",
    ]
    alone = MqttBridge("mqtt://127.0.0.1", cameras)
    assert alone.command_filters(shared=True) == [
        "xmcam/+/alarm_out/+/set",
        "xmcam/+/reboot/press",
        "xmcam/+/snapshot/take",
    ]
    with pytest.raises(ValueError, match="connect rate"):
        MqttBridge("mqtt://127.0.0.1", cameras, connect_rate=0)
    with pytest.raises(ValueError, match="two cameras"):
        MqttBridge("mqtt://127.0.0.1", [*cameras, cameras[0]], shard=Shard(0, 2))


async def test_two_bridges_of_one_shard_obey_a_command_once(
    broker: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """Two bridges started for the same shard (a rolling update): the shard's shared
    subscription hands each command to one of them."""
    caplog.set_level(logging.INFO, "xmcam.bridge")
    async with (
        simulators(1) as [sim],
        subscribed(broker.port) as subscriber,
        bridged(broker.url, [entry("cam", sim)], shard=Shard(0, 1)) as first,
        bridged(broker.url, [entry("cam", sim)], shard=Shard(0, 1)) as second,
    ):
        await until(lambda: first.cameras["cam"].online and second.cameras["cam"].online)
        await until(lambda: first.broker_connected and second.broker_connected)
        assert first.shared_subscriptions
        assert second.shared_subscriptions
        for mode in ("ON", "OFF", "ON", "OFF"):
            await subscriber.publish("xmcam/cam/alarm_out/0/set", mode)
            await subscriber.wait_payload("xmcam/cam/alarm_out/0", mode)
        await asyncio.sleep(0.3)
        assert caplog.text.count("camera cam: alarm output 0 on") == 2
        assert caplog.text.count("camera cam: alarm output 0 off") == 2
        assert "connected as shard 0/1 (commands: shared subscription)" in caplog.text


# ------------------------------------------------------------------ three bridges


class Bridges:
    """Three bridge processes, each with its log in a file."""

    def __init__(self, directory: Path, broker: Mosquitto, inventory: Path) -> None:
        self.directory = directory
        self.broker = broker
        self.inventory = inventory
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self.logs: dict[int, list[Path]] = {}
        self._files: list[IO[bytes]] = []

    async def start(self, shard: int) -> None:
        path = self.directory / f"bridge{shard}-{len(self.logs.get(shard, []))}.log"
        self.logs.setdefault(shard, []).append(path)
        log = path.open("wb")
        self._files.append(log)
        self.processes[shard] = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "xmcam", "bridge", "mqtt",
            "--broker", self.broker.url, "--inventory", str(self.inventory),
            "--shard", f"{shard}/{SHARDS}", "--skew-interval", "3600",
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip

    async def kill(self, shard: int) -> None:
        process = self.processes.pop(shard)
        process.send_signal(signal.SIGKILL)
        await process.wait()

    def log_text(self, shard: int | None = None) -> str:
        shards = [shard] if shard is not None else sorted(self.logs)
        return "".join(path.read_text() for k in shards for path in self.logs[k])

    async def close(self) -> None:
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        for log in self._files:
            log.close()


@contextlib.asynccontextmanager
async def three_bridges(
    tmp_path: Path, broker: Mosquitto, sims: dict[str, Simulator]
) -> AsyncIterator[Bridges]:
    inventory = tmp_path / "cameras.toml"
    inventory.write_text(
        "".join(
            f'[[camera]]\nname = "{name}"\nhost = "127.0.0.1"\nport = {sim.port}\n'
            for name, sim in sims.items()
        )
    )
    bridges = Bridges(tmp_path, broker, inventory)
    try:
        for shard in range(SHARDS):
            await bridges.start(shard)
        yield bridges
    finally:
        await bridges.close()


def bridge_topic(shard: int) -> str:
    return f"xmcam/bridge/shard-{shard}-of-{SHARDS}/availability"


def available(subscriber: Subscriber, name: str) -> bool:
    """Home Assistant's view: every availability topic of the camera's latest motion sensor
    config says online (availability_mode: all)."""
    topic = f"homeassistant/binary_sensor/xmcam_{name}_motion_0/config"
    configs = subscriber.on(topic)
    if not configs:
        return False
    config = json.loads(configs[-1])
    assert config["availability_mode"] == "all"
    return all(
        subscriber.on(item["topic"])[-1:] == [item["payload_available"]]
        for item in config["availability"]
    )


def statuses(subscriber: Subscriber, name: str) -> list[str]:
    return [event["status"] for event in subscriber.events(f"xmcam/{name}/event")]


def owners() -> dict[int, set[str]]:
    """The cameras of each shard."""
    found: dict[int, set[str]] = {k: set() for k in range(SHARDS)}
    for name in NAMES:
        found[shard_of(name, SHARDS)].add(name)
    return found


async def test_three_bridges_share_one_inventory(broker: Mosquitto, tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        sims = {
            name: await stack.enter_async_context(Simulator(serial=f"SN{index:04d}"))
            for index, name in enumerate(NAMES)
        }
        subscriber = await stack.enter_async_context(subscribed(broker.port))
        bridges = await stack.enter_async_context(three_bridges(tmp_path, broker, sims))
        mine = owners()
        assert all(mine.values())  # every bridge has cameras
        await each_camera_is_watched_by_one_bridge(subscriber, sims, bridges, mine)
        await an_alarm_from_each_arrives_once(subscriber, sims)
        await a_command_to_each_is_obeyed_once(subscriber, sims, bridges, mine)
        await a_killed_bridge_takes_only_its_cameras_away(subscriber, sims, bridges, mine)
        assert "Traceback" not in bridges.log_text()


async def each_camera_is_watched_by_one_bridge(
    subscriber: Subscriber, sims: dict[str, Simulator], bridges: Bridges, mine: dict[int, set[str]]
) -> None:
    """Every camera online, watched by exactly one bridge (one session each), and its
    entities name the bridge that serves it."""
    await subscriber.wait_for(
        lambda sub: all(available(sub, name) for name in NAMES), TIMEOUT, "all available"
    )
    await until(lambda: all(sim.session_count == 1 for sim in sims.values()), TIMEOUT)
    for shard, names in mine.items():
        assert subscriber.on(bridge_topic(shard))[-1] == "online"
        log = bridges.log_text(shard)
        assert f"bridging {len(names)} camera(s)" in log
        assert f"of an inventory of {len(NAMES)}" in log
        assert "(commands: shared subscription)" in log
        assert {name for name in NAMES if f"camera {name}: online" in log} == names
        for name in names:
            config = json.loads(
                subscriber.on(f"homeassistant/binary_sensor/xmcam_{name}_motion_0/config")[-1]
            )
            topics = [item["topic"] for item in config["availability"]]
            assert topics == [f"xmcam/{name}/availability", bridge_topic(shard)]


async def an_alarm_from_each_arrives_once(
    subscriber: Subscriber, sims: dict[str, Simulator]
) -> None:
    for sim in sims.values():
        sim.trigger_alarm(0, "VideoMotion", "Start")
    for name in NAMES:
        await subscriber.wait_payload(f"xmcam/{name}/motion/0", "ON", TIMEOUT)
    await asyncio.sleep(0.5)  # a duplicate would have come by now
    assert all(statuses(subscriber, name) == ["Start"] for name in NAMES)


async def a_command_to_each_is_obeyed_once(
    subscriber: Subscriber, sims: dict[str, Simulator], bridges: Bridges, mine: dict[int, set[str]]
) -> None:
    """By the bridge that owns the camera; the others ignore it."""
    for name in NAMES:
        await subscriber.publish(f"xmcam/{name}/alarm_out/0/set", "ON")
    for name in NAMES:
        await subscriber.wait_payload(f"xmcam/{name}/alarm_out/0", "ON", TIMEOUT)
    assert all(sim.state.alarm_out_mask() == 1 for sim in sims.values())
    await asyncio.sleep(0.5)
    for shard, names in mine.items():
        log = bridges.log_text(shard)
        counts = {name: log.count(f"camera {name}: alarm output 0 on") for name in NAMES}
        assert counts == {name: int(name in names) for name in NAMES}, shard
    assert all(subscriber.on(f"xmcam/{n}/alarm_out/0") == ["OFF", "ON"] for n in NAMES)


async def a_killed_bridge_takes_only_its_cameras_away(
    subscriber: Subscriber, sims: dict[str, Simulator], bridges: Bridges, mine: dict[int, set[str]]
) -> None:
    """SIGKILL: its last will marks exactly its cameras unavailable. An edge while it is
    down: the other bridges publish theirs at once, the restarted one finds its cameras'
    edges in WorkState against the broker's retained states; none lost, none twice."""
    await bridges.kill(1)
    await subscriber.wait_payload(bridge_topic(1), "offline", TIMEOUT)
    assert {name for name in NAMES if not available(subscriber, name)} == mine[1]
    await until(lambda: all(sims[name].session_count == 0 for name in mine[1]), TIMEOUT)

    for sim in sims.values():
        sim.trigger_alarm(0, "VideoMotion", "Stop")
    for name in set(NAMES) - mine[1]:
        await subscriber.wait_payload(f"xmcam/{name}/motion/0", "OFF", TIMEOUT)
    await bridges.start(1)
    await subscriber.wait_payload(bridge_topic(1), "online", TIMEOUT)
    for name in mine[1]:
        await subscriber.wait_payload(f"xmcam/{name}/motion/0", "OFF", TIMEOUT)
    await until(lambda: all(sim.session_count == 1 for sim in sims.values()), TIMEOUT)
    await subscriber.wait_for(
        lambda sub: all(available(sub, name) for name in NAMES), TIMEOUT, "all back"
    )
    await asyncio.sleep(0.5)
    for name in NAMES:
        sources = [event["source"] for event in subscriber.events(f"xmcam/{name}/event")]
        missed = "work_state" if name in mine[1] else "session"
        assert sources == ["session", missed], name
        assert statuses(subscriber, name) == ["Start", "Stop"], name

    # The restarted bridge hears its cameras' pushes again; a restart with no edge missed
    # publishes none.
    for sim in sims.values():
        sim.trigger_alarm(0, "VideoMotion", "Start")
    for name in NAMES:
        await subscriber.wait_payload(f"xmcam/{name}/motion/0", "ON", TIMEOUT)
    await bridges.kill(1)
    await bridges.start(1)
    restarted = bridges.logs[1][-1]
    await until(
        lambda: all(f"camera {name}: online" in restarted.read_text() for name in mine[1]), TIMEOUT
    )
    await asyncio.sleep(0.5)
    assert all(statuses(subscriber, name) == ["Start", "Stop", "Start"] for name in NAMES)


@pytest.mark.parametrize("value", ["0", "-5/s", "fast", "nan", "1e9"])
def test_a_bad_connect_rate_is_a_usage_error(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from xmcam.cli import build_parser  # noqa: PLC0415

    argv = ["bridge", "mqtt", "--broker", "mqtt://x", "--connect-rate", value]
    with pytest.raises(SystemExit) as exit_code:
        build_parser().parse_args(argv)
    assert exit_code.value.code == 2
    assert "--connect-rate" in capsys.readouterr().err


def test_the_open_file_limit_is_raised_for_the_inventory(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from xmcam.bridge.mqtt import _raise_file_limit  # noqa: PLC0415

    caplog.set_level(logging.INFO, "xmcam.bridge")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2 * 1000 + 256:
        pytest.skip(f"the hard open-file limit ({hard}) is below what the test asks")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
        _raise_file_limit(1000)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 2 * 1000 + 256
        assert "open-file limit raised from 1024 to 2256 for 1000 camera(s)" in caplog.text
        caplog.clear()
        _raise_file_limit(10)  # enough already: nothing said
        assert caplog.text == ""
        if hard != resource.RLIM_INFINITY:
            _raise_file_limit(hard)  # more than the hard limit allows: a warning
            assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == hard
            assert "raise it (systemd: LimitNOFILE=)" in caplog.text
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
