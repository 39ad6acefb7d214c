"""`xmcam talk`: a file through the simulator's speaker, in process and as a subprocess."""

from __future__ import annotations

import array
import json
import os
import signal
import subprocess
import sys
import time
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.aio.test_talk import tone
from tests.cli.conftest import Run
from xmcam.media import g711
from xmcam.sim import SimulatorThread
from xmcam.sim.talk import TalkSession


def write_wav(path: Path, pcm: bytes, rate: int = 8000, channels: int = 1) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm)
    return path


def finished(sim: SimulatorThread, count: int = 1) -> list[TalkSession]:
    deadline = time.monotonic() + 5
    while len(sim.simulator.device.talk.finished) < count:
        assert time.monotonic() < deadline, "the talk session did not end"
        time.sleep(0.01)
    return sim.simulator.device.talk.finished


def test_a_wav_at_8k_arrives_sample_for_sample(
    xmcam: Run, sim: SimulatorThread, tmp_path: Path
) -> None:
    sent = tone(0.5)
    result = xmcam("--json", "talk", str(write_wav(tmp_path / "hello.wav", sent)))
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["packets"] == 13
    assert summary["seconds"] == 0.5
    assert summary["channel"] is None
    [session] = finished(sim)
    assert session.ended_by == "stop"
    assert session.pcm[: len(sent)] == g711.alaw_to_pcm(g711.pcm_to_alaw(sent))


def test_a_stereo_44k_file_is_resampled(xmcam: Run, sim: SimulatorThread, tmp_path: Path) -> None:
    mono = array.array("h", tone(0.4 * 44100 / 8000, frequency=440 * 8000 / 44100))
    stereo = array.array("h", (sample for sample in mono for _ in range(2)))
    path = write_wav(tmp_path / "cd.wav", stereo.tobytes(), rate=44100, channels=2)
    result = xmcam("talk", str(path))
    assert result.code == 0, result.err
    assert "0.4 s of audio in 10 packets" in result.out
    [session] = finished(sim)
    received = array.array("h")
    received.frombytes(session.pcm)
    # 440 Hz survives the resampling: the level is there, no clipping.
    assert 5000 < max(received) < 13000


def test_busy_is_one_line_and_exit_6(xmcam: Run, sim: SimulatorThread, tmp_path: Path) -> None:
    sim.simulator.device.talk.active = TalkSession(
        99, connection=12345, channel=0
    )  # another client
    result = xmcam("talk", str(write_wav(tmp_path / "a.wav", tone(0.1))))
    assert result.code == 6
    assert result.out == ""
    [line] = result.err.splitlines()
    assert line.startswith("xmcam: Ret 503 (talk already open)")


def test_a_file_that_is_no_audio(xmcam: Run, sim: SimulatorThread, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a sound\n")
    result = xmcam("talk", str(path))
    assert result.code == 1
    assert result.err.startswith("xmcam: cannot read")
    assert sim.simulator.device.talk.finished == []  # nothing claimed


def cli(port: int, *argv: str, **options: Any) -> subprocess.Popen[bytes]:
    environment = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "xmcam", "-H", f"127.0.0.1:{port}", *argv],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **options,
    )


def test_an_mp3_piped_to_the_command(sim: SimulatorThread, tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "t.wav", tone(0.6))
    mp3 = tmp_path / "t.mp3"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), str(mp3)],  # noqa: S607
        check=True,
    )
    with mp3.open("rb") as source:
        process = cli(sim.port, "--json", "talk", "-", stdin=source)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert json.loads(out)["seconds"] == pytest.approx(0.6, abs=0.06)
    [session] = finished(sim)
    assert session.ended_by == "stop"
    assert session.bad_frames == 0


def test_sigterm_stops_the_sound_with_a_stop(sim: SimulatorThread, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "long.wav", tone(20))
    process = cli(sim.port, "talk", str(path))
    talk = sim.simulator.device.talk
    deadline = time.monotonic() + 20
    while talk.active is None or talk.active.packets < 5:
        assert time.monotonic() < deadline, "the talk did not start"
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=10)
    assert process.returncode == 143
    assert b"talk stopped (SIGTERM)" in err
    [session] = finished(sim)
    assert session.ended_by == "stop"
    assert session.packets < 100
