"""`xmcam stream` against the simulator: files that play with the source's codec, size, frame
count and duration; raw video on standard output; Ctrl-C (a real SIGINT to a real process)
ending with a playable file; one-line errors."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import MEDIA_STARTS, Result, Run, camera_starting, run_timed
from tests.cli.test_watch import killed_after
from tests.media.probing import codecs_of, probe, stream_of
from tests.media_checks import refuse_starts
from xmcam.cli import ExitCode, main
from xmcam.cli.output import CommandError
from xmcam.cli.stream import Recording, _frames_until, _stop_on_signals
from xmcam.media.frames import MediaFrame, VideoFrame
from xmcam.sim import Profile, SimulatorThread, load_profile

pytestmark = pytest.mark.needs_tool("ffprobe")

FAST = 20  # the simulator's media_pace: 20 times real time


def video_of(info: dict[str, Any]) -> dict[str, Any]:
    return stream_of(info, "video")


def stream_from(profile: Profile, run_cli: Run, *argv: str) -> Result:
    """`xmcam --json stream ARGV...` against a simulator of `profile`, paced FAST."""
    with SimulatorThread(profile) as simulator:
        simulator.simulator.faults.media_pace = FAST
        return run_cli("-H", f"127.0.0.1:{simulator.port}", "--json", "stream", *argv)


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    """The simulated camera, streaming 20 times faster than real time (tests stay quick;
    unpaced, the client's bounded queue would drop frames to keep up, as it should)."""
    with SimulatorThread() as simulator:
        simulator.simulator.faults.media_pace = FAST
        yield simulator


def test_stream_to_mp4_for_two_seconds(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "front.mp4"
    result = xmcam("--json", "stream", "-o", str(path), "--duration", "2")
    assert result.code == ExitCode.SUCCESS, result.err
    summary = json.loads(result.out)
    assert summary["output"] == str(path)
    assert (summary["codec"], summary["width"], summary["height"]) == ("H.264", 640, 360)
    assert (summary["frames"], summary["duration"]) == (50, 2.0)
    assert summary["interrupted"] is False
    assert summary["ended_by_camera"] is False
    assert summary["dropped_before_keyframe"] == 0
    assert summary["dropped_frames"] == 0
    assert summary["audio_frames"] > 0
    assert summary["bitrate"] > 0
    assert not path.with_name("front.mp4.part").exists()

    info = probe(path)
    video = video_of(info)
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
    assert int(video["nb_read_frames"]) == 50
    assert float(info["format"]["duration"]) == pytest.approx(2.0, abs=0.2)
    assert codecs_of(info) == ["aac", "h264"]


def test_stream_the_sub_stream_to_mkv(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "yard.mkv"
    result = xmcam("stream", "--sub", "-o", str(path), "--duration", "1")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out.startswith(f"{path}: 25 frames, 1.0 s, H.264 352x288, ")
    info = probe(path)
    video = video_of(info)
    assert (video["width"], video["height"], int(video["nb_read_frames"])) == (352, 288, 25)
    assert codecs_of(info) == ["h264", "pcm_s16le"]


def test_stream_to_mpeg_ts_by_format(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    result = xmcam("stream", "--format", "ts", "-o", str(path), "--duration", "1")
    assert result.code == ExitCode.SUCCESS, result.err
    info = probe(path)
    assert codecs_of(info) == ["aac", "h264"]
    assert int(video_of(info)["nb_read_frames"]) == 25


def test_stream_raw_h264_to_standard_output(
    sim: SimulatorThread, capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    address = f"127.0.0.1:{sim.port}"
    code = main(["-H", address, "--json", "stream", "-o", "-", "--duration", "1"])
    captured = capsysbinary.readouterr()
    assert code == ExitCode.SUCCESS, captured.err
    assert captured.out.startswith(b"\x00\x00\x00\x01")
    # The summary goes to stderr: standard output is the video.
    assert json.loads(captured.err.decode().strip().splitlines()[-1])["output"] == "-"
    path = tmp_path / "piped.h264"
    path.write_bytes(captured.out)
    video = video_of(probe(path))
    assert (video["codec_name"], video["width"], int(video["nb_read_frames"])) == ("h264", 640, 25)


def test_stream_h265_keeps_codec_and_size(h265_clip: Path, tmp_path: Path, run_cli: Run) -> None:
    profile = load_profile().with_media(main=h265_clip, no_audio=True)
    path = tmp_path / "h265.mkv"
    result = stream_from(profile, run_cli, "-o", str(path), "--duration", "1")
    assert result.code == ExitCode.SUCCESS, result.err
    info = probe(path)
    video = video_of(info)
    assert video["codec_name"] == "hevc"
    assert codecs_of(info) == ["hevc"]


def test_stream_4k_h265_keeps_its_size(h265_4k_clip: Path, tmp_path: Path, run_cli: Run) -> None:
    profile = load_profile().with_media(main=h265_4k_clip, no_audio=True)
    path = tmp_path / "4k.mp4"
    result = stream_from(profile, run_cli, "-o", str(path), "--duration", "0.2")
    assert result.code == ExitCode.SUCCESS, result.err
    summary = json.loads(result.out)
    assert (summary["codec"], summary["width"], summary["height"]) == ("H.265", 3840, 2160)
    video = video_of(probe(path))
    assert (video["codec_name"], video["width"], video["height"]) == ("hevc", 3840, 2160)
    assert int(video["nb_read_frames"]) == summary["frames"] == 5


def test_a_stream_joined_mid_gop_starts_at_a_keyframe(run_cli: Run, tmp_path: Path) -> None:
    path = tmp_path / "late.mkv"
    profile = load_profile().with_quirks(monitor_mid_gop=True)
    result = stream_from(profile, run_cli, "-o", str(path), "--duration", "1")
    assert result.code == ExitCode.SUCCESS, result.err
    summary = json.loads(result.out)
    # The frames before the first keyframe never reach the file (the client or the writer
    # drops them, and both count them).
    assert summary["dropped_frames"] + summary["dropped_before_keyframe"] > 0
    assert summary["frames"] == 25
    assert int(video_of(probe(path))["nb_read_frames"]) == 25


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, so progress lines show (also for `files`)."""

    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal(
    sim: SimulatorThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    path = tmp_path / "clip.ts"
    assert main(["-H", f"127.0.0.1:{sim.port}", "stream", "-o", str(path), "--duration", "1"]) == 0
    shown = terminal.getvalue()
    assert shown.startswith("\r00:00:00  1 frames  0.0 s video  ")
    assert "Mbit/s  (Ctrl-C stops)" in shown
    assert shown.endswith("\r")  # the line is wiped at the end


def test_an_h265_stream_into_a_file_named_h264_fails_in_one_line(
    h265_clip: Path, tmp_path: Path, run_cli: Run
) -> None:
    path = tmp_path / "wrong.h264"
    result = stream_from(load_profile().with_media(main=h265_clip), run_cli, "-o", str(path))
    assert result.code == ExitCode.FAILURE
    assert result.err == "xmcam: the video is H.265, the output is named for H.264\n"
    assert list(tmp_path.iterdir()) == []


def test_a_channel_the_camera_lacks_is_refused_up_front(xmcam: Run, tmp_path: Path) -> None:
    result = xmcam("stream", "--channel", "5", "-o", str(tmp_path / "x.mp4"))
    assert result.code == ExitCode.USAGE
    assert result.err.startswith("xmcam: channel 5 does not exist: the camera has 1 channel")
    assert len(result.err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", MEDIA_STARTS)
def test_stream_from_cameras_that_answer_neither_start_nor_claim(
    how: str, run_cli: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # On one socket the camera sends no reply to Start, only the media (issue 17); a camera
    # that never answers the claim on a second connection streams from one socket after
    # it. Either way the stream is running within the one --timeout.
    caplog.set_level(logging.INFO, logger="xmcam.media")
    path = tmp_path / "front.mp4"
    with camera_starting(how) as simulator:
        argv = ["--timeout", "2", "--json", "stream", "-o", str(path), "--duration", "1"]
        result, elapsed = run_timed(run_cli, simulator, *argv)
    assert result.code == ExitCode.SUCCESS, result.err
    summary = json.loads(result.out)
    assert (summary["frames"], summary["duration"], summary["dropped_frames"]) == (25, 1.0, 0)
    assert int(video_of(probe(path))["nb_read_frames"]) == 25
    assert elapsed < 2.0
    assert ("; one socket" in caplog.text) == (how != "two sockets")


@pytest.mark.parametrize("how", ["one socket", "two sockets"])
def test_a_refused_start_is_the_devices_refusal_at_once(
    how: str, run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_starts(monkeypatch, 103)
    # The simulator runs in this process: its warnings would share standard error (and, as
    # every line of xmcam's, start "xmcam: ").
    monkeypatch.setattr(logging.getLogger("xmcam.sim"), "disabled", True)
    with camera_starting(how) as simulator:
        argv = ["--timeout", "3", "stream", "-o", str(tmp_path / "x.mp4")]
        result, elapsed = run_timed(run_cli, simulator, *argv)
    assert result.code == ExitCode.DEVICE
    [line] = result.err.splitlines()
    assert line == "xmcam: Ret 103 (illegal request) in reply to MONITOR_REQ"
    assert elapsed < 1.5  # the refusal, not the 3 s deadline
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", "clip.avi"], "cannot tell the video format of 'clip.avi'"),
        (["-o", "noext"], "cannot tell the video format of 'noext'"),
    ],
)
def test_a_name_without_a_format_fails_before_connecting(
    run_cli: Run, argv: list[str], message: str
) -> None:
    # Port 9 on 127.0.0.1: nothing listens; the usage error must come before any connection.
    result = run_cli("-H", "127.0.0.1:9", "stream", *argv)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith(f"xmcam: {message}: use .mp4, .mkv, .ts")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-o", "-", "--format", "flv"], "invalid choice: 'flv'"),
        (["-o", "x.mp4", "--duration", "0"], "out of range"),
        (["--channel", "x", "-o", "x.mp4"], "not a channel number"),
        ([], "the following arguments are required: -o/--output"),
    ],
)
def test_bad_options_are_usage_errors(
    run_cli: Run, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("-H", "127.0.0.1:9", "stream", *argv)
    assert exit_info.value.code == ExitCode.USAGE
    assert message in capsys.readouterr().err


def test_an_unwritable_output_is_one_line(xmcam: Run, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "x.mp4"
    result = xmcam("stream", "-o", str(path))
    assert result.code == ExitCode.FAILURE
    assert result.err == f"xmcam: cannot write {path}: No such file or directory\n"


def test_help_has_an_example(run_cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("stream", "--help")
    text = capsys.readouterr().out
    assert "xmcam stream -o front.mp4 --duration 60" in text
    assert "--sub" in text


# ------------------------------------------------------------- the loop's own parts


def _options(*, timeout: float = 5.0, duration: float | None = None) -> argparse.Namespace:
    return argparse.Namespace(timeout=timeout, duration=duration)


async def _forever(frames: list[MediaFrame], *, every: float = 0.0) -> AsyncIterator[MediaFrame]:
    """`frames`, one each `every` seconds, then nothing, forever: a camera gone quiet."""
    for frame in frames:
        yield frame
        await asyncio.sleep(every)
    await asyncio.Event().wait()


async def _collect(source: AsyncIterator[MediaFrame], **options: Any) -> tuple[int, Recording]:
    recording = Recording()
    frames = _frames_until(source, asyncio.Event(), recording, _options(**options))
    async with contextlib.aclosing(frames):
        count = len([frame async for frame in frames])
    return count, recording


KEYFRAME = VideoFrame(True, 2, b"\x00\x00\x00\x01\x65", 640, 360, 25)


def test_a_silent_camera_is_a_timeout() -> None:
    with pytest.raises(CommandError, match=r"no media from the camera for 0\.05 s") as error:
        asyncio.run(_collect(_forever([KEYFRAME]), timeout=0.05))
    assert error.value.code == ExitCode.TIMEOUT


def test_a_stream_the_camera_ends() -> None:
    async def three() -> AsyncIterator[MediaFrame]:
        for _ in range(3):
            yield KEYFRAME

    count, recording = asyncio.run(_collect(three()))
    assert count == 3
    assert recording.ended_by_camera


def test_a_stream_slower_than_real_time_ends_on_the_clock() -> None:
    # --duration 0.05 s of video never fills up: the clock ends it (duration + timeout).
    count, recording = asyncio.run(
        _collect(_forever([KEYFRAME] * 1000, every=0.01), timeout=0.05, duration=0.05)
    )
    assert 1 <= count < 1000
    assert not recording.ended_by_camera
    assert 0.1 <= recording.elapsed < 2


def test_ctrl_c_stops_then_cancels() -> None:
    async def main_task() -> tuple[bool, bool]:
        stop = asyncio.Event()
        recording = Recording()
        with _stop_on_signals(stop, recording):
            os.kill(os.getpid(), signal.SIGINT)
            await stop.wait()  # the first Ctrl-C only asks the recording to end
            first = recording.interrupted
            os.kill(os.getpid(), signal.SIGINT)
            try:
                await asyncio.sleep(10)  # the second one cancels the command
            except asyncio.CancelledError:
                return first, True
        return first, False

    assert asyncio.run(main_task()) == (True, True)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_off_the_main_thread_keeps_its_meaning() -> None:
    outcome: list[bool] = []

    async def body() -> None:
        with _stop_on_signals(asyncio.Event(), Recording()):
            outcome.append(True)

    thread = threading.Thread(target=lambda: asyncio.run(body()))
    thread.start()
    thread.join(timeout=10)
    assert outcome == [True]


def test_ctrl_c_before_any_keyframe_exits_130(tmp_path: Path) -> None:
    # Joined mid-GOP and paced 20 times slower than real time: the first keyframe is seconds
    # away when the simulator starts streaming, and that is when Ctrl-C comes.
    profile = load_profile().with_quirks(monitor_mid_gop=True)
    path = tmp_path / "none.mp4"

    class CtrlCWhenStreaming(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "streaming channel" in record.getMessage():
                os.kill(os.getpid(), signal.SIGINT)

    handler = CtrlCWhenStreaming()
    logger = logging.getLogger("xmcam.sim")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        with SimulatorThread(profile) as simulator:
            simulator.simulator.faults.media_pace = 0.05
            code = main(["-H", f"127.0.0.1:{simulator.port}", "stream", "-o", str(path)])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert code == 130
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ a real process


def _xmcam(*argv: str) -> list[str]:
    return [sys.executable, "-m", "xmcam", *argv]


def subprocess_environment() -> dict[str, str]:
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("XMCAM_HOST", "XMCAM_USER", "XMCAM_PASSWORD"):
        environment.pop(name, None)
    return environment


def test_a_process_records_two_seconds(sim: SimulatorThread, tmp_path: Path) -> None:
    path = tmp_path / "proc.mp4"
    argv = _xmcam("-H", f"127.0.0.1:{sim.port}", "stream", "-o", str(path), "--duration", "2")
    result = subprocess.run(
        argv, check=False, capture_output=True, timeout=60, env=subprocess_environment()
    )
    assert result.returncode == 0, result.stderr
    video = video_of(probe(path))
    assert (video["codec_name"], int(video["nb_read_frames"])) == ("h264", 50)


def test_sigint_mid_stream_leaves_a_playable_file(tmp_path: Path) -> None:
    path = tmp_path / "interrupted.mp4"
    with SimulatorThread() as simulator:  # paced in real time: the stream lasts until Ctrl-C
        address = f"127.0.0.1:{simulator.port}"
        argv = _xmcam("-H", address, "-v", "--json", "stream", "-o", str(path))
        with subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=subprocess_environment(),
            text=True,
        ) as process:
            assert process.stderr is not None
            for line in process.stderr:  # wait for the event, not for a while
                if "recording from the first keyframe" in line:
                    break
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    summary = json.loads(out)
    assert summary["interrupted"] is True
    assert summary["frames"] >= 1
    assert not path.with_name("interrupted.mp4.part").exists()
    video = video_of(probe(path))
    assert video["codec_name"] == "h264"
    assert int(video["nb_read_frames"]) == summary["frames"]


def test_sigterm_mid_stream_ends_it_as_ctrl_c_does(tmp_path: Path) -> None:
    # What systemd and `docker stop` send: the same clean end as Ctrl-C, a playable file
    # under its final name, the summary, exit code 0 (documented in the help).
    path = tmp_path / "terminated.mp4"
    with SimulatorThread() as simulator:  # paced in real time: the stream lasts until SIGTERM
        address = f"127.0.0.1:{simulator.port}"
        argv = _xmcam("-H", address, "-v", "--json", "stream", "-o", str(path))
        with (
            subprocess.Popen(
                argv,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=subprocess_environment(),
                text=True,
            ) as process,
            killed_after(process),
        ):
            assert process.stderr is not None
            for line in process.stderr:  # wait for the event, not for a while
                if "recording from the first keyframe" in line:
                    break
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    summary = json.loads(out)
    assert (summary["interrupted"], summary["signal"]) == (True, "SIGTERM")
    assert summary["frames"] >= 1
    assert not path.with_name("terminated.mp4.part").exists()
    video = video_of(probe(path))
    assert video["codec_name"] == "h264"
    assert int(video["nb_read_frames"]) == summary["frames"]
    assert "Traceback" not in err


def test_sigterm_before_any_keyframe_exits_143(tmp_path: Path) -> None:
    # Joined mid-GOP and paced 20 times slower than real time: the first keyframe is seconds
    # away when the simulator starts streaming, and that is when SIGTERM comes.
    profile = load_profile().with_quirks(monitor_mid_gop=True)
    streaming = threading.Event()

    class WhenStreaming(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "streaming channel" in record.getMessage():
                streaming.set()

    handler = WhenStreaming()
    logger = logging.getLogger("xmcam.sim")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        with SimulatorThread(profile) as simulator:
            simulator.simulator.faults.media_pace = 0.05
            argv = _xmcam("-H", f"127.0.0.1:{simulator.port}", "stream", "-o", "none.mp4")
            with (
                subprocess.Popen(
                    argv,
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=subprocess_environment(),
                    text=True,
                ) as process,
                killed_after(process),
            ):
                assert streaming.wait(60)
                process.send_signal(signal.SIGTERM)
                out, err = process.communicate(timeout=30)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert (process.returncode, out) == (143, "")
    assert err == "xmcam: stopped by SIGTERM before the first keyframe: nothing written\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("d.mp4", "Is a directory"),
        ("missing/x.mp4", "No such file or directory"),
        ("file.txt/x.mp4", "Not a directory"),
    ],
)
def test_an_output_that_cannot_be_written_fails_before_connecting(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, reason: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.mp4").mkdir()
    (tmp_path / "file.txt").write_text("")
    # Nothing listens on port 1: a connection attempt would end in exit code 3 instead.
    result = run_cli("-H", "127.0.0.1:1", "stream", "-o", output, "--duration", "1")
    assert (result.code, result.out) == (ExitCode.FAILURE, "")
    assert result.err == f"xmcam: cannot write {output}: {reason}\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d.mp4", "file.txt"]


def test_an_unwritable_folder_fails_before_connecting(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (As root every folder is writable: the check's answer is taken from os.access.)
    monkeypatch.setattr("os.access", lambda path, mode: False)
    result = run_cli("-H", "127.0.0.1:1", "stream", "-o", str(tmp_path / "x.mp4"))
    assert result.code == ExitCode.FAILURE
    assert result.err == f"xmcam: cannot write {tmp_path / 'x.mp4'}: Permission denied\n"


def test_a_reader_that_goes_away_ends_the_stream_quietly(sim: SimulatorThread) -> None:
    # `xmcam stream -o - | head -c 1000`: the pipe closes, xmcam ends with 0 and no message.
    argv = _xmcam("-H", f"127.0.0.1:{sim.port}", "stream", "-o", "-")
    with (
        subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_environment()
        ) as process,
        killed_after(process),
    ):
        assert process.stdout is not None
        assert process.stderr is not None
        assert len(process.stdout.read(1000)) == 1000
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=30)
    assert (process.returncode, err) == (0, b"")
