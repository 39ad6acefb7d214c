"""`xmcam demo`: xmcam working with no camera at hand.

It starts the simulator in this process, on 127.0.0.1 and a free port, and runs a short tour
against it with the real asyncio client over a real TCP connection: log in, read what the
camera is, switch the alarm output on, receive one motion alarm, switch the output off, change
a setting and put it back, take a snapshot, receive a second of live video, list the
recordings since yesterday, find the camera by the UDP search, log out. (No step needs the
`media` extra: the video is demultiplexed and counted, not written.) Each step prints as the
`xmcam` command that does the same against a real camera, and what came back; `--json` prints
one JSON object per step.

This is the first command in the README, so it must be quick and must not fail: everything is
on loopback, every wait has a deadline, and the simulator is stopped whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TextIO

from xmcam.aio import AsyncCamera, connect
from xmcam.aio.discovery import discover
from xmcam.cli.output import CommandError, ExitCode, print_json, safe_text
from xmcam.cli.parsing import json_lines
from xmcam.cli.session import closing
from xmcam.client.models import AlarmEvent, AlarmOutput
from xmcam.media import VideoFrame
from xmcam.media.writer import codec_label

if TYPE_CHECKING:
    from xmcam.sim import Simulator

__all__ = ["add_parser", "run_demo"]

DEMO_CONFIG: Final = "General.General"
DEMO_MEMBER: Final = "MachineName"
DEMO_MACHINE_NAME: Final = "xmcam-demo"
ALARM_DEADLINE: Final = 2.0
"""Seconds to wait for the simulated alarm; it comes in milliseconds."""
LIVE_SECONDS: Final = 1.0
"""Seconds of live video to receive (the simulator sends it in real time)."""
DISCOVERY_SECONDS: Final = 0.3
"""How long the UDP search listens; the simulator answers at once."""

Step = Callable[[str, str, dict[str, Any]], None]


def _step_printer(stream: TextIO, as_json: bool) -> Step:
    """Print one step: the equivalent command and what came back (or one JSON line)."""

    def show(command: str, outcome: str, record: dict[str, Any]) -> None:
        if as_json:
            print_json({"step": command, **record}, stream)
        else:
            print(f"  {command:<36} {safe_text(outcome)}", file=stream, flush=True)

    return show


def _outputs_text(outputs: list[AlarmOutput]) -> str:
    return ", ".join(f"channel {output.channel}: {output.mode}" for output in outputs)


async def _one_alarm(camera: AsyncCamera, simulator: Simulator) -> AlarmEvent:
    """Subscribe, have the simulated camera see motion once, and return the event it pushes."""
    events = camera.alarms()
    async with closing(events):
        first = asyncio.ensure_future(anext(events))
        try:
            async with asyncio.timeout(ALARM_DEADLINE):
                # The subscription (guard) is in flight until the simulator counts it: push
                # once it does, so that exactly one alarm goes out.
                while not first.done() and simulator.trigger_alarm(0, "VideoMotion", "Start") == 0:
                    await asyncio.sleep(0.005)
                event = await first
        except TimeoutError:
            raise CommandError("the simulated alarm did not arrive in time") from None
        finally:
            first.cancel()
            await asyncio.wait([first])  # the generator must stop running before it is closed
    if not isinstance(event, AlarmEvent):
        raise CommandError("the simulated alarm did not arrive")
    return event


async def _tour(camera: AsyncCamera, simulator: Simulator, show: Step) -> None:
    login = camera.login_info
    show(
        "login",
        f"admin on 127.0.0.1:{simulator.port}: session {login.session_id:#010x}, "
        f"{login.device_type}, {login.channel_count} channel(s), "
        f"keepalive every {login.alive_interval} s",
        {"login": login},
    )
    info = await camera.system_info()
    show(
        "xmcam info",
        f"{info.model}, firmware {info.firmware}, serial {info.serial}",
        {"system_info": info},
    )
    await camera.set_alarm_out("on")
    outputs = await camera.alarm_outputs()
    show("xmcam alarm-out on", _outputs_text(outputs), {"alarm_outputs": outputs})
    event = await _one_alarm(camera, simulator)
    show(
        "xmcam watch",
        f"{event.event} on channel {event.channel}: {event.status} (simulated motion)",
        {"alarm": event},
    )
    await camera.set_alarm_out("off")
    outputs = await camera.alarm_outputs()
    show("xmcam alarm-out off", _outputs_text(outputs), {"alarm_outputs": outputs})
    await _config_round_trip(camera, show)
    await _audit(camera, show)
    await _media_tour(camera, show)
    await _discovery(simulator, show)


async def _config_round_trip(camera: AsyncCamera, show: Step) -> None:
    original = await camera.get_config(DEMO_CONFIG)
    old_name = original.get(DEMO_MEMBER) if isinstance(original, dict) else None
    await camera.set_config(DEMO_CONFIG, {**original, DEMO_MEMBER: DEMO_MACHINE_NAME})
    changed = (await camera.get_config(DEMO_CONFIG)).get(DEMO_MEMBER)
    show(
        f"xmcam config set {DEMO_CONFIG} …",
        f"{DEMO_MEMBER}: {old_name!r} → {changed!r}",
        {"config": DEMO_CONFIG, "member": DEMO_MEMBER, "old": old_name, "new": changed},
    )
    await camera.set_config(DEMO_CONFIG, original)
    restored = (await camera.get_config(DEMO_CONFIG)).get(DEMO_MEMBER)
    show(
        f"xmcam config set {DEMO_CONFIG} …",
        f"{DEMO_MEMBER}: back to {restored!r}",
        {"config": DEMO_CONFIG, "member": DEMO_MEMBER, "restored": restored},
    )


async def _audit(camera: AsyncCamera, show: Step) -> None:
    report = await camera.audit(ports=None)  # a demo knocks on no port of this host
    failed = ", ".join(finding.check for finding in report.failed) or "none"
    show(
        "xmcam audit",
        f"{len(report.failed)} of {len(report.findings)} checks failed ({failed}), "
        f"{len(report.unknown)} this camera does not answer",
        {"audit": {"passed": report.passed, "findings": report.findings}},
    )


async def _media_tour(camera: AsyncCamera, show: Step) -> None:
    jpeg = await camera.snapshot(0, fallback=False)
    show("xmcam snapshot -o front.jpg", f"a JPEG of {len(jpeg):,} bytes", {"jpeg_bytes": len(jpeg)})
    frames = keyframes = 0
    first: VideoFrame | None = None
    async with camera.live(0) as stream:
        async for frame in stream:
            if not isinstance(frame, VideoFrame):
                continue
            first = first or frame
            frames += 1
            keyframes += frame.keyframe
            if first.fps and frames >= first.fps * LIVE_SECONDS:
                break
    if first is None:  # pragma: no cover - the simulator streams from a keyframe
        raise CommandError("the simulated live stream sent no video")
    codec = codec_label(first.codec)
    show(
        "xmcam stream -o front.mp4",
        f"{frames} frames of {codec} {first.width}x{first.height} at {first.fps} fps, "
        f"{keyframes} keyframe(s), {stream.stats.dropped_frames} dropped",
        {
            "frames": frames,
            "keyframes": keyframes,
            "codec": codec,
            "width": first.width,
            "height": first.height,
            "fps": first.fps,
            "stats": stream.stats,
        },
    )
    # Since yesterday: a whole day recorded whatever the hour (the simulated camera, like a
    # real one, lists no file before it has ended).
    now = datetime.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    records = await camera.files(midnight - timedelta(days=1), midnight + timedelta(days=1))
    show(
        "xmcam files list --from yesterday",
        f"{len(records)} recordings since yesterday (the device pages them 64 at a time)",
        {"recordings": len(records)},
    )


async def _discovery(simulator: Simulator, show: Step) -> None:
    port = simulator.discovery_port
    assert port is not None  # the demo starts the simulator with a discovery port
    found = await discover(targets=[("127.0.0.1", port)], timeout=DISCOVERY_SECONDS)
    if not found:
        raise CommandError("the simulated camera did not answer the UDP search")
    device = found[0]
    show(
        "xmcam discover",
        f"serial {device.serial}, MAC {device.mac}, TCP port {device.tcp_port}",
        {"discovered": device},
    )


async def _demo(stream: TextIO, as_json: bool) -> None:
    # Here, not at the top: every command builds the demo's parser, few run it.
    from xmcam.sim import Simulator  # noqa: PLC0415

    show = _step_printer(stream, as_json)
    started = time.monotonic()
    async with Simulator(host="127.0.0.1", port=0, discovery_port=0) as simulator:
        if not as_json:
            print(
                f"xmcam demo: a simulated camera on 127.0.0.1:{simulator.port}, and the xmcam "
                "client talking to it over TCP.\nEach step is what the xmcam command on the left "
                "does with a real camera.\n",
                file=stream,
            )
        async with connect("127.0.0.1", simulator.port, timeout=5.0) as camera:
            await _tour(camera, simulator, show)
    elapsed = time.monotonic() - started
    if as_json:
        print_json({"step": "done", "seconds": round(elapsed, 3)}, stream)
    else:
        print(
            f"\nDone in {elapsed:.2f} s; the password hash never shown. Point xmcam at a real "
            "camera with -H HOST (see xmcam --help).",
            file=stream,
        )


def run_demo(stream: TextIO | None = None, *, as_json: bool = False) -> int:
    """Run the tour; return the exit code."""
    asyncio.run(_demo(stream or sys.stdout, as_json))
    return ExitCode.SUCCESS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo",
        help="see xmcam work against a simulated camera (no camera needed)",
        description=(
            "Start the camera simulator in this process (127.0.0.1, a free port) and run a "
            "short tour against it with the real client: info, alarm output on, one alarm "
            "event, alarm output off, a config change and its restore, a snapshot, a second "
            "of live video, the recordings since yesterday, and the UDP search."
        ),
        epilog="example: xmcam demo --json | jq .step",
    )
    json_lines(parser)  # one object per step, as the tour goes
    parser.set_defaults(handler=lambda args: run_demo(sys.stdout, as_json=args.json))
