"""Real third-party clients, as published on PyPI, against the simulator on 127.0.0.1.

- `python-dvr` (module `dvrip`, class `DVRIPCam`): installed by the test extra and driven in
  this process.
- `dvrip` (its `dvr` command): a package named `dvrip` too, so the two cannot share one
  environment. It lives in a directory of its own and runs in a subprocess with PYTHONPATH set
  to it: the directory named by XMCAM_TEST_DVRIP_CLI (`.ci/run` fills it), or else one this
  session installs into pytest's cache with pip.

Neither client is changed or patched: what they send is what real users send. The media tests
run against the simulator as it starts, with no fault knob and no quirk (issue 17): these
clients work with real cameras, so they must work with it. (go2rtc's flow is in
`tests/clients/`.)
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Final

import pytest
from dvrip import DVRIPCam  # python-dvr's module (not the `dvrip` package)

from tests.firmware_images import NEW_VERSION, corrupt, firmware_image
from tests.media.probing import probe, stream_of
from tests.sim.python_dvr_flow import download_file, list_local_files
from tests.waiting import wait_until
from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import AudioFrame, VideoFrame
from xmcam.sim import SimulatorThread, load_profile
from xmcam.sim.profile import Profile

DVRIP_CLI_ENV: Final = "XMCAM_TEST_DVRIP_CLI"
DVRIP_CLI_REQUIREMENT: Final = "dvrip[dvr-find,dvr-time]==0.0.3"
SUBPROCESS_TIMEOUT: Final = 60.0
SNAPSHOT: Final = Path(str(resources.files("xmcam.sim") / "clips" / "snapshot.jpg"))


# ----------------------------------------------------------------------------- python-dvr


@pytest.fixture
def quiet_python_dvr() -> Iterator[None]:
    # python-dvr logs every packet it sends at DEBUG, the login's password hash included; the
    # suite's no-secret-in-logs guard would (rightly) fail on it, so its logger stays at INFO.
    logger = logging.getLogger("dvrip")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


@pytest.fixture
def camera_sim() -> Iterator[SimulatorThread]:
    with SimulatorThread() as simulator:
        yield simulator


@pytest.fixture
def dvrip_cam(camera_sim: SimulatorThread, quiet_python_dvr: None) -> Iterator[Any]:
    cam = DVRIPCam("127.0.0.1", port=camera_sim.port, user="admin", password="")
    yield cam
    _close(cam)


def _close(cam: Any) -> None:
    # python-dvr's close() drops the socket without closing it when no keep-alive timer was
    # ever started (a failed login): its `self.alive.cancel()` raises first. Close it here.
    sock = cam.socket
    _stop_keepalive(cam)
    cam.close()
    if sock is not None:
        sock.close()
    # None of this camera's keep-alive timers is left (only its own: a process-wide check
    # once caught a timer of some other python-dvr camera of the same worker).
    assert not [
        thread
        for thread in threading.enumerate()
        if isinstance(thread, threading.Timer)
        and getattr(thread.function, "__self__", None) is cam
        and thread.is_alive()
    ]


def _stop_keepalive(cam: Any) -> None:
    """Cancel python-dvr's keep-alive timer and wait for its thread. A timer that is firing
    right now starts the next one before it ends, so repeat until no new timer appears."""
    deadline = time.monotonic() + 5
    while True:
        timer = cam.alive
        if timer is None:
            return
        timer.cancel()
        if timer.ident is None and time.monotonic() < deadline:
            # python-dvr assigns the timer before starting it: let the firing thread start it.
            time.sleep(0.001)
            continue
        timer.join(timeout=5)
        assert not timer.is_alive()
        if cam.alive is timer:
            return


def _frames_received(simulator: SimulatorThread) -> list[int]:
    def count() -> list[int]:
        return [c.frames_received for c in simulator.simulator.device.connections.values()]

    return simulator.call(count)


def test_python_dvr_login_and_system_info(dvrip_cam: Any, camera_sim: SimulatorThread) -> None:
    assert dvrip_cam.login() is True
    # The session id the simulator gave (random: not the seed camera's 1), in python-dvr's
    # hands whatever its high bit.
    sessions = camera_sim.call(
        lambda: [c.session_id for c in camera_sim.simulator.device.connections.values()]
    )
    assert sessions == [dvrip_cam.session]
    assert dvrip_cam.alive_time == 20
    assert camera_sim.simulator.session_count == 1

    info = dvrip_cam.get_system_info()
    expected = load_profile().system_info
    assert info["HardWare"] == "HI3516D_83H50N" == expected["HardWare"]
    assert info["SerialNo"] == expected["SerialNo"]
    assert info["SoftWareVersion"] == expected["SoftWareVersion"]
    assert set(info) == set(expected)


def test_python_dvr_wrong_password_is_refused(
    camera_sim: SimulatorThread, quiet_python_dvr: None
) -> None:
    cam = DVRIPCam("127.0.0.1", port=camera_sim.port, user="admin", password="wrong")
    try:
        assert cam.login() is False
        assert cam.alive is None  # no keep-alive for a refused login
        assert camera_sim.simulator.session_count == 0
    finally:
        _close(cam)


def test_python_dvr_get_and_set_config(dvrip_cam: Any, camera_sim: SimulatorThread) -> None:
    assert dvrip_cam.login()
    general = dvrip_cam.get_info("General.General")
    assert general == camera_sim.state.get_config("General.General")
    assert general["MachineName"] == "LocalHost"

    general["MachineName"] = "Porch"
    reply = dvrip_cam.set_info("General.General", general)
    assert reply["Ret"] == 100
    assert camera_sim.state.get_config("General.General")["MachineName"] == "Porch"
    assert dvrip_cam.get_info("General.General")["MachineName"] == "Porch"

    param = dvrip_cam.get_info("Camera.Param.[0]")
    assert param == camera_sim.state.get_config("Camera.Param.[0]")
    param["PictureFlip"] = "0x00000001"
    assert dvrip_cam.set_info("Camera.Param.[0]", param)["Ret"] == 100
    assert camera_sim.state.get_config("Camera.Param.[0]")["PictureFlip"] == "0x00000001"

    # An unknown name comes back as the device's error reply, not as a value.
    assert dvrip_cam.get_info("No.Such.Thing") == {
        "Name": "No.Such.Thing",
        "Ret": 607,
        "SessionID": f"0x{dvrip_cam.session:08X}",
    }
    # The library's other readers built on the same commands.
    assert dvrip_cam.get_netcommon()["TCPPort"] == 34567
    assert dvrip_cam.get_general_info()["General"]["MachineName"] == "Porch"
    assert isinstance(dvrip_cam.get_camera_info()["Param"], list)
    assert dvrip_cam.get_encode_info()[0]["MainFormat"]["Video"]["Compression"] == "H.264"
    assert "EncodeInfo" in dvrip_cam.get_encode_capabilities()


def test_python_dvr_time(dvrip_cam: Any, camera_sim: SimulatorThread) -> None:
    assert dvrip_cam.login()
    before = dvrip_cam.get_time()
    assert isinstance(before, datetime)
    assert abs((before - camera_sim.state.device_time()).total_seconds()) < 5

    when = datetime(2031, 2, 3, 4, 5, 6)
    assert dvrip_cam.set_time(when)["Ret"] == 100
    now = dvrip_cam.get_time()
    assert when <= now < datetime(2031, 2, 3, 4, 5, 16)


def test_python_dvr_keepalive_timer(dvrip_cam: Any, camera_sim: SimulatorThread) -> None:
    assert dvrip_cam.login()
    # login() sent one KeepAlive and armed a timer for AliveInterval (20 s); rearm it on a
    # short period so that the timer thread's own keepalives can be seen.
    _stop_keepalive(dvrip_cam)
    (after_login,) = _frames_received(camera_sim)
    assert after_login == 2  # the login and the first KeepAlive
    dvrip_cam.alive_time = 0.05
    dvrip_cam.keep_alive()
    wait_until(lambda: _frames_received(camera_sim)[0] >= after_login + 4)
    _stop_keepalive(dvrip_cam)

    # Every keepalive was answered on the one session: it is still logged in, and a command
    # on the main thread between timer ticks still works.
    assert dvrip_cam.socket is not None
    assert camera_sim.simulator.session_count == 1
    assert dvrip_cam.get_info("General.General")["MachineName"] == "LocalHost"


def decodes_cleanly(path: Path) -> str:
    """What ffmpeg says when it decodes the whole file (nothing when every frame decodes)."""
    command = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return result.stderr


def test_python_dvr_start_monitor_gives_playable_h264(
    dvrip_cam: Any, camera_sim: SimulatorThread, tmp_path: Path
) -> None:
    # start_monitor claims and starts on its one socket and reads media at once: a JSON
    # reply to the Start, or a packet holding the end of one frame and the start of the
    # next, raises ValueError in its reader (issue 17).
    assert dvrip_cam.login()
    video: list[bytes] = []
    audio: list[bytes] = []
    kinds: list[tuple[str | None, str | None]] = []
    metadata: dict[str, Any] = {}

    def frame(data: bytes, meta: dict[str, Any], user: Any) -> None:
        kinds.append((meta.get("type"), meta.get("frame")))
        if meta.get("frame") in ("I", "P"):
            video.append(bytes(data))
            if meta["frame"] == "I" and not metadata:
                metadata.update(meta)
        else:
            audio.append(bytes(data))
        if len(video) == 60:
            dvrip_cam.stop_monitor()

    dvrip_cam.start_monitor(frame)
    assert (metadata["type"], metadata["width"], metadata["height"], metadata["fps"]) == (
        "h264",
        640,
        360,
        25,
    )
    assert abs((metadata["datetime"] - camera_sim.state.device_time()).total_seconds()) < 10
    assert kinds[0] == ("h264", "I")  # from a keyframe
    assert len(audio) >= 55  # 40 ms of G.711 A-law under each video frame
    assert {len(samples) for samples in audio} == {320}
    assert {kind for kind, number in kinds if number is None} == {"g711a"}
    clip = tmp_path / "live.h264"
    clip.write_bytes(b"".join(video))
    stream = stream_of(probe(clip), "video")
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 640, 360)
    assert int(stream["nb_read_frames"]) == 60
    assert decodes_cleanly(clip) == ""


def test_python_dvr_snapshot(dvrip_cam: Any, tmp_path: Path) -> None:
    # python-dvr takes the first 1561 packet as the whole picture.
    assert dvrip_cam.login()
    jpeg = dvrip_cam.snapshot()
    assert bytes(jpeg) == SNAPSHOT.read_bytes()
    picture = tmp_path / "snapshot.jpg"
    picture.write_bytes(jpeg)
    stream = stream_of(probe(picture), "video")
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("mjpeg", 640, 360)
    assert decodes_cleanly(picture) == ""


def test_python_dvr_list_local_files(dvrip_cam: Any, camera_sim: SimulatorThread) -> None:
    assert dvrip_cam.login()
    day = (camera_sim.call(camera_sim.state.device_time) - timedelta(days=1)).date()
    found = list_local_files(dvrip_cam, f"{day} 00:00:00", f"{day} 23:59:59", "h264")
    # 64 + 64 + 18: python-dvr keeps the record that opens each next page twice.
    assert len(found) == 146
    assert len({record["FileName"] for record in found}) == 144
    assert found[0]["FileName"].endswith("/001/00.00.00-00.09.59[R][@0][0].h264")
    pictures = list_local_files(dvrip_cam, f"{day} 00:00:00", f"{day} 23:59:59", "jpg")
    assert len(pictures) == 24
    assert list_local_files(dvrip_cam, "2001-01-01 00:00:00", "2001-01-01 23:59:59", "h264") == []


def test_python_dvr_download_file(
    dvrip_cam: Any, camera_sim: SimulatorThread, tmp_path: Path
) -> None:
    # The file's packets read until an empty one: a JSON reply to the DownloadStart would
    # land in the file, and a download ended by EndFlag alone would time out into a
    # TypeError (issue 17).
    assert dvrip_cam.login()
    day = (camera_sim.call(camera_sim.state.device_time) - timedelta(days=1)).date()
    (record, *_) = list_local_files(dvrip_cam, f"{day} 10:00:00", f"{day} 10:09:59", "h264")
    target = tmp_path / "clip.h264"
    download_file(dvrip_cam, record["BeginTime"], record["EndTime"], record["FileName"], target)
    media = camera_sim.simulator.device.media

    def content() -> bytes:
        recording = media.catalogue.by_name(record["FileName"])
        assert recording is not None
        return media.catalogue.content(recording, media.library)

    data = target.read_bytes()
    assert data == camera_sim.call(content)
    assert -(-len(data) // 1024) == int(record["FileLength"], 16)
    frames = MediaDemuxer().feed(data)
    clip = tmp_path / "plain.h264"
    clip.write_bytes(b"".join(frame.data for frame in frames if isinstance(frame, VideoFrame)))
    stream = stream_of(probe(clip), "video")
    assert (stream["codec_name"], int(stream["nb_read_frames"])) == ("h264", 100)
    # The session goes on: DownloadStop was answered, and so is the next request.
    assert dvrip_cam.get_info("General.General")["MachineName"] == "LocalHost"


# ----------------------------------------------------------------------------- dvrip's `dvr`


@pytest.fixture(scope="session")
def dvrip_cli(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding the `dvrip` package (and its dependencies)."""
    given = os.environ.get(DVRIP_CLI_ENV)
    if given:
        return Path(given)
    cache: pytest.Cache | None = getattr(request.config, "cache", None)
    target = cache.mkdir("dvrip-cli") if cache is not None else tmp_path_factory.mktemp("dvr")
    marker = target / ".installed"
    installed = marker.exists() and marker.read_text(encoding="utf-8") == DVRIP_CLI_REQUIREMENT
    if not installed:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        command += ["--upgrade", "--target", str(target), DVRIP_CLI_REQUIREMENT]
        subprocess.run(command, check=True, timeout=300, capture_output=True)
        marker.write_text(DVRIP_CLI_REQUIREMENT, encoding="utf-8")
    return target


def _dvr(cli: Path, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(cli), DVR_PASSWORD="", DVR_USERNAME="admin")
    command = [sys.executable, "-m", "dvrip", "-h", "127.0.0.1", "-p", str(port), *args]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False
    )


def _older_firmware(profile: Profile) -> Profile:
    """The seed's camera with the SystemInfo of firmware older than the seed's: without the
    `DeviceModel` and `DeviceType` members, which `dvrip` 0.0.3 refuses as unknown."""
    info = {k: v for k, v in profile.system_info.items() if k not in ("DeviceModel", "DeviceType")}
    return dataclasses.replace(profile, system_info=info)


def test_dvr_info(dvrip_cli: Path) -> None:
    with SimulatorThread(_older_firmware(load_profile())) as simulator:
        result = _dvr(dvrip_cli, simulator.port, "info")
        assert result.returncode == 0, result.stderr
        system, disk, part, channel, status = result.stdout.splitlines()
        assert system.startswith("IPC HI3516D_83H50N 58e7fa5e6e262535 hardware 1.01 ")
        assert "software V4.03.R12.G7914927.12012.145902.0020000" in system
        assert "build 2020-02-26 17:11:38 videoin 1" in system
        assert disk == "disk 0"
        assert part.startswith("  part 0 current size ")
        assert channel == "channel 0 bitrate 2048K/s recording"
        assert " up P3dT06h48m triggers none" in status  # DeviceRunTime 0x1278 minutes
        # It logged out at the end: no session is left behind.
        _wait_until_no_session(simulator)


def test_dvr_info_against_the_seed_camera_fails_in_dvrip(dvrip_cli: Path) -> None:
    # The seed's camera itself says DeviceType and DeviceModel in SystemInfo, which dvrip's
    # strict decoder does not know: the real camera breaks `dvr info` the same way.
    with SimulatorThread() as simulator:
        result = _dvr(dvrip_cli, simulator.port, "info")
        assert result.returncode != 0
        assert "extra member 'DeviceType'" in result.stderr


def test_dvr_time(dvrip_cli: Path) -> None:
    with SimulatorThread() as simulator:
        result = _dvr(dvrip_cli, simulator.port, "time")
        assert result.returncode == 0, result.stderr
        shown = datetime.fromisoformat(result.stdout.strip())
        assert abs((shown - simulator.state.device_time()).total_seconds()) < 10

        result = _dvr(dvrip_cli, simulator.port, "time", "2031-02-03 04:05:06")
        assert result.returncode == 0, result.stderr
        after = simulator.call(simulator.state.device_time)
        assert datetime(2031, 2, 3, 4, 5, 6) <= after < datetime(2031, 2, 3, 4, 5, 30)

        result = _dvr(dvrip_cli, simulator.port, "time")
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("2031-02-03T04:05:")
        _wait_until_no_session(simulator)


def _wait_until_no_session(simulator: SimulatorThread) -> None:
    wait_until(lambda: simulator.call(lambda: simulator.simulator.session_count) == 0)


def test_dvr_find_with_its_default_start(dvrip_cli: Path) -> None:
    # With no -s, `dvr find` asks from its EPOCH, "2000-00-00 00:00:00", and pages by itself.
    with SimulatorThread() as simulator:
        result = _dvr(dvrip_cli, simulator.port, "find", "-v", "-l", "-c", "0")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        now = simulator.call(simulator.state.device_time)
        today = [line for line in lines if f" {now.date().isoformat()}T" in line]
        assert len(lines) - len(today) == 144  # the whole of yesterday, past three pages
        names = [line.split()[-1] for line in lines]
        assert len(set(names)) == len(names)
        ends = [datetime.fromisoformat(line.split()[3]) for line in lines]
        assert max(ends) <= now  # nothing in the future
        disk, part, _begin, _end, size, name = lines[0].split()
        assert (disk, part, size) == ("0", "0", "234K")
        assert name.endswith("/001/00.00.00-00.09.59[R][@0][0].h264")
        pictures = _dvr(dvrip_cli, simulator.port, "find", "-i", "-c", "0")
        assert pictures.returncode == 0, pictures.stderr
        assert all(line.endswith(".jpg") for line in pictures.stdout.splitlines())
        assert len(pictures.stdout.splitlines()) >= 24
        _wait_until_no_session(simulator)


def test_dvr_cat_of_a_recording(dvrip_cli: Path) -> None:
    # Two sockets: the claim (1424, Action "DownloadStart") on the data connection, the
    # DownloadStart answered on the control connection, the file until EndFlag.
    with SimulatorThread() as simulator:
        found = _dvr(dvrip_cli, simulator.port, "find", "-v", "-c", "0")
        assert found.returncode == 0, found.stderr
        name = found.stdout.splitlines()[3]
        command = [sys.executable, "-m", "dvrip", "-h", "127.0.0.1", "-p", str(simulator.port)]
        result = subprocess.run(
            [*command, "cat", name],
            env=dict(os.environ, PYTHONPATH=str(dvrip_cli), DVR_PASSWORD=""),
            capture_output=True,
            timeout=SUBPROCESS_TIMEOUT,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        recording = simulator.call(lambda: simulator.simulator.device.media.catalogue.by_name(name))
        assert recording is not None
        media = simulator.simulator.device.media
        expected = simulator.call(lambda: media.catalogue.content(recording, media.library))
        assert result.stdout == expected
        _wait_until_no_session(simulator)


def test_dvr_cat_of_the_live_stream(dvrip_cli: Path, tmp_path: Path) -> None:
    with SimulatorThread() as simulator:
        env = dict(os.environ, PYTHONPATH=str(dvrip_cli), DVR_PASSWORD="")
        command = [sys.executable, "-m", "dvrip", "-h", "127.0.0.1", "-p", str(simulator.port)]
        with subprocess.Popen(
            [*command, "cat", "monitor:0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        ) as process:
            assert process.stdout is not None
            data = _read_at_least(process.stdout, 120_000)  # about 2.5 s in real time
            process.kill()
            _, errors = process.communicate(timeout=SUBPROCESS_TIMEOUT)
        assert data.startswith(b"\x00\x00\x01\xfc"), errors
        # The media frames as cameras send them: demultiplexed, they give H.264 that plays.
        demuxer = MediaDemuxer()
        frames = demuxer.feed(data)
        video = [frame for frame in frames if isinstance(frame, VideoFrame)]
        assert len(video) >= 20
        assert video[0].keyframe
        assert any(isinstance(frame, AudioFrame) for frame in frames)
        clip = tmp_path / "live.h264"
        clip.write_bytes(b"".join(frame.data for frame in video))
        stream = stream_of(probe(clip), "video")
        assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", 640, 360)
        assert decodes_cleanly(clip) == ""


def _read_at_least(stream: Any, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read1(65536)
        if not chunk:
            break
        data += chunk
    return bytes(data)


# ----------------------------------------------------------------------------- upgrade


def test_python_dvr_upgrade(tmp_path: Path, quiet_python_dvr: None) -> None:
    """python-dvr's `upgrade()`, unmodified: Start, a block at a time waiting for each answer,
    the empty end mark, then the 1524 progress until 515. The simulator comes back from its
    reboot with the image's version, kept in its state file."""
    profile = load_profile().with_quirks(upgrade_step_delay=0.05, reboot_delay=0.2)
    image = tmp_path / "firmware.bin"
    image.write_bytes(firmware_image(size=300_000))
    state = tmp_path / "state.json"
    with SimulatorThread(profile, state_path=state) as simulator:
        cam = DVRIPCam("127.0.0.1", port=simulator.port, user="admin", password="")
        try:
            assert cam.login() is True
            said: list[str] = []
            result = cam.upgrade(str(image), vprint=said.append)
        finally:
            _close(cam)
        assert result["Ret"] == 515
        assert "Upgrade successful" in said
        assert "Uploaded 100.00%" in said
        wait_until(lambda: simulator.simulator.reboots == 1 and simulator.simulator.listening)
        again = DVRIPCam("127.0.0.1", port=simulator.port, user="admin", password="")
        try:
            assert again.login() is True
            assert again.get_system_info()["SoftWareVersion"] == NEW_VERSION
        finally:
            _close(again)
    with SimulatorThread(profile, state_path=state) as restarted:
        assert restarted.state.software_version == NEW_VERSION


def test_python_dvr_upgrade_with_a_corrupt_image(tmp_path: Path, quiet_python_dvr: None) -> None:
    """The simulator answers the end mark of a corrupt image with 513 and keeps its version.
    python-dvr, which waits for a 100 before it reads a verdict, gives up at its socket
    timeout and returns None."""
    profile = load_profile().with_quirks(upgrade_step_delay=0.05)
    image = tmp_path / "firmware.bin"
    image.write_bytes(corrupt(firmware_image(size=100_000)))
    with SimulatorThread(profile) as simulator:
        cam = DVRIPCam("127.0.0.1", port=simulator.port, user="admin", password="")
        try:
            assert cam.login() is True
            cam.socket.settimeout(1.0)
            assert cam.upgrade(str(image), vprint=lambda _: None) is None
            assert (
                cam.get_system_info()["SoftWareVersion"]
                == load_profile().system_info["SoftWareVersion"]
            )
        finally:
            _close(cam)
        assert simulator.simulator.reboots == 0
