"""`xmcam files list` and `xmcam files download` against the simulator's catalogue (a day of
recordings: 144 ten-minute video files per channel, every fifth a motion recording, and 24
pictures), with paging, resume-safe output and the remux to MP4."""

from __future__ import annotations

import datetime
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import MEDIA_STARTS, Run, camera_starting, run_timed
from tests.cli.test_stream import Terminal, subprocess_environment
from tests.cli.test_watch import killed_after
from tests.media.probing import codecs_of, probe, stream_of
from tests.slow_relay import SlowRelay
from tests.waiting import wait_until
from xmcam.cli import ExitCode, files, main
from xmcam.cli.files import MAX_NAME, _bar, local_name, local_names, parse_when
from xmcam.cli.output import CommandError
from xmcam.client.models import RecordFile
from xmcam.errors import ConnectionClosedError
from xmcam.media.demux import MediaDemuxer
from xmcam.media.frames import VideoFrame
from xmcam.protocol import MessageId
from xmcam.sim import SimulatorThread
from xmcam.sim.recordings import Recording

TODAY = datetime.date.today()

FAST = 20  # the simulator's media_pace: 20 times real time


def end_of_today() -> datetime.datetime:
    return datetime.datetime.combine(TODAY, datetime.time(23, 59, 59))


@pytest.fixture
def sim() -> Iterator[SimulatorThread]:
    # The device's clock stands at the end of today, so that the whole day is recorded: the
    # simulator lists no file before it has ended.
    with SimulatorThread(wall_clock=end_of_today) as simulator:
        simulator.simulator.faults.media_pace = FAST
        yield simulator


def records_of(result: Any) -> list[dict[str, Any]]:
    assert result.code == ExitCode.SUCCESS, result.err
    if result.out.startswith("["):  # files list: one document, an array
        (line,) = result.out.splitlines()
        records: list[dict[str, Any]] = json.loads(line)
        return records
    # files download: JSON Lines, one object per recording as each one ends
    return [json.loads(line) for line in result.out.splitlines()]


def video_frames(data: bytes) -> list[VideoFrame]:
    demuxer = MediaDemuxer()
    frames = [frame for frame in demuxer.feed(data) if isinstance(frame, VideoFrame)]
    demuxer.eof()
    assert demuxer.dropped_bytes == 0
    return frames


def record(name: str, *, channel: int = 0) -> RecordFile:
    begin = datetime.datetime(2026, 11, 25, 10, 0, 0)
    end = begin + datetime.timedelta(minutes=10)
    return RecordFile(name, channel, begin, end, 2048, 0, 0, "video", {})


# ---------------------------------------------------------------------------- list


def test_list_pages_through_a_whole_day(xmcam: Run) -> None:
    records = records_of(xmcam("--json", "files", "list"))
    assert len(records) == 144  # three queries' worth at 64 a reply
    assert [item["index"] for item in records] == list(range(1, 145))
    assert len({item["name"] for item in records}) == 144
    begins = [item["begin"] for item in records]
    assert begins == sorted(begins)
    assert begins[0] == f"{TODAY}T00:00:00"
    assert {item["kind"] for item in records} == {"video"}
    assert all(item["size"] > 0 for item in records)


def test_list_as_a_table(xmcam: Run) -> None:
    result = xmcam("files", "list", "--from", f"{TODAY} 10:00", "--to", f"{TODAY} 10:25")
    assert result.code == ExitCode.SUCCESS, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["#", "begin", "end", "size", "name"]
    # 09:50-09:59:59 ends before 10:00; 10:00, 10:10 and 10:20 overlap the window.
    assert [line.split()[0] for line in lines[1:]] == ["1", "2", "3"]
    assert lines[1].split()[1:4] == [str(TODAY), "10:00:00", "10:09:59"]
    assert lines[1].endswith(f"/{TODAY}/001/10.00.00-10.09.59[R][@1d394][0].h264")


def test_list_by_event_and_type(xmcam: Run) -> None:
    motion = records_of(xmcam("--json", "files", "list", "--events", "M"))
    assert len(motion) == 28
    assert all("[M]" in item["name"] for item in motion)
    pictures = records_of(xmcam("--json", "files", "list", "--type", "picture"))
    assert len(pictures) == 24
    assert {item["kind"] for item in pictures} == {"picture"}


def test_list_of_an_empty_window(xmcam: Run) -> None:
    result = xmcam("files", "list", "--from", "2001-01-01", "--to", "2001-01-02")
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out == ""
    assert result.err == "xmcam: no recordings in that time\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--from", "tomorrow-ish"], "bad time 'tomorrow-ish'"),
        (["--from", "2026-11-25", "--to", "2026-11-24"], "--to is before --from"),
        (["--events", "MX"], "bad --events 'MX': letters A M R H, or *"),
    ],
)
def test_bad_filters_fail_before_connecting(run_cli: Run, argv: list[str], message: str) -> None:
    result = run_cli("-H", "127.0.0.1:9", "files", "list", *argv)
    assert result.code == ExitCode.USAGE
    assert result.err.startswith(f"xmcam: {message}")


# ------------------------------------------------------------------------ download


def test_download_by_number_into_a_directory(xmcam: Run, tmp_path: Path) -> None:
    window = ["--from", f"{TODAY} 10:00", "--to", f"{TODAY} 10:25"]
    listed = records_of(xmcam("--json", "files", "list", *window))
    result = xmcam("--json", "files", "download", "2", *window, "-o", f"{tmp_path}/")
    [report] = records_of(result)
    expected = tmp_path / f"10.10.00-10.19.59[R][@{0x1D394 + 0x7CB:x}][0].h264"
    assert report == {
        "name": listed[1]["name"],
        "output": str(expected),
        "skipped": False,
        "bytes": expected.stat().st_size,
        "remuxed": False,
    }
    assert [entry.name for entry in tmp_path.iterdir()] == [expected.name]
    data = expected.read_bytes()
    assert data.startswith(b"\x00\x00\x01\xfc")
    frames = video_frames(data)
    assert len(frames) == 100
    assert frames[0].keyframe
    assert (frames[0].width, frames[0].height) == (640, 360)


@pytest.mark.parametrize("how", MEDIA_STARTS)
def test_download_from_cameras_that_answer_neither_start_nor_claim(
    how: str, run_cli: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # On one socket the camera sends no reply to DownloadStart, only the data (issue 17): the
    # download runs within the one --timeout and the file is whole, no `.part` left. (The
    # claim that goes unanswered is the live stream's; a download's is answered.)
    caplog.set_level(logging.INFO, logger="xmcam.media")
    window = ["--from", f"{TODAY} 10:00", "--to", f"{TODAY} 10:25"]
    with camera_starting(how, wall_clock=end_of_today) as simulator:
        argv = ["--timeout", "2", "--json", "files", "download", "2", *window, "-o", f"{tmp_path}/"]
        result, elapsed = run_timed(run_cli, simulator, *argv)
    [report] = records_of(result)
    path = Path(report["output"])
    assert [entry.name for entry in tmp_path.iterdir()] == [path.name]
    assert report["bytes"] == path.stat().st_size > 100_000
    assert len(video_frames(path.read_bytes())) == 100
    assert elapsed < 2.0
    assert ("; one socket" in caplog.text) == (how == "one socket")


def test_download_by_name_to_a_file_then_skip_then_force(xmcam: Run, tmp_path: Path) -> None:
    listed = records_of(xmcam("--json", "files", "list"))
    name = listed[5]["name"]
    path = tmp_path / "one.h264"
    first = xmcam("files", "download", name, "-o", str(path))
    assert first.code == ExitCode.SUCCESS, first.err
    assert first.out == f"{path}: {path.stat().st_size / 1e6:.1f} MB\n"
    data = path.read_bytes()

    path.write_bytes(b"kept")
    again = xmcam("files", "download", name.rsplit("/", 1)[-1], "-o", str(path))
    assert again.code == ExitCode.SUCCESS, again.err
    assert again.out == f"{path}: exists, skipped (--force downloads it again)\n"
    assert path.read_bytes() == b"kept"

    forced = xmcam("files", "download", name, "-o", str(path), "--force")
    assert forced.code == ExitCode.SUCCESS, forced.err
    assert path.read_bytes() == data
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["one.h264"]


@pytest.mark.needs_tool("ffprobe")
def test_download_remuxed_to_mp4(xmcam: Run, tmp_path: Path) -> None:
    window = ["--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:05"]
    result = xmcam("--json", "files", "download", "1", *window, "--mp4", "-o", f"{tmp_path}/")
    [report] = records_of(result)
    assert report["remuxed"] is True
    assert (report["frames"], report["duration"], report["dropped_bytes"]) == (100, 4.0, 0)
    path = Path(report["output"])
    assert path.name == "00.00.00-00.09.59[R][@0][0].mp4"
    info = probe(path)
    video = stream_of(info, "video")
    assert (video["codec_name"], video["width"], int(video["nb_read_frames"])) == ("h264", 640, 100)
    assert float(info["format"]["duration"]) == pytest.approx(4.0, abs=0.2)
    assert codecs_of(info) == ["aac", "h264"]


def test_download_all_in_a_window(xmcam: Run, tmp_path: Path) -> None:
    window = ["--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:25"]
    reports = records_of(
        xmcam("--json", "files", "download", "--all", *window, "-o", str(tmp_path))
    )
    assert len(reports) == 3
    assert sorted(entry.name for entry in tmp_path.iterdir()) == sorted(
        Path(report["output"]).name for report in reports
    )


def test_download_pictures(xmcam: Run, tmp_path: Path) -> None:
    window = ["--type", "picture", "--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:59"]
    [report] = records_of(xmcam("--json", "files", "download", "1", *window, "-o", f"{tmp_path}/"))
    data = Path(report["output"]).read_bytes()
    assert data.startswith(b"\x00\x00\x01\xfe")  # the JPEG inside one FE frame
    assert b"\xff\xd8" in data[:64]


def test_download_shows_a_progress_bar_on_a_terminal(
    sim: SimulatorThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    window = ["--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:05"]
    argv = ["-H", f"127.0.0.1:{sim.port}", "files", "download", "1", *window, "-o", str(tmp_path)]
    assert main(argv) == ExitCode.SUCCESS
    shown = terminal.getvalue()
    assert "\r[#" in shown
    assert "  00.00.00-00.09.59[R][@0][0].h264" in shown
    assert "[####################] 100% " in shown  # the last chunk completes the bar
    assert shown.endswith("\r")


def test_a_download_cut_off_stays_part(
    xmcam: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[bytes] = []
    original = files._RawSink.write

    def write_then_cut(self: files._RawSink, chunk: bytes) -> None:
        original(self, chunk)
        written.append(chunk)
        # As the client reports a connection lost half way (a real cut races the socket
        # buffers, which hold a whole small recording).
        raise ConnectionClosedError("the camera closed the connection")

    monkeypatch.setattr(files._RawSink, "write", write_then_cut)
    window = ["--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:05"]
    path = tmp_path / "cut.h264"
    result = xmcam("files", "download", "1", *window, "-o", str(path))
    assert result.code == ExitCode.CONNECTION
    assert result.err.splitlines() == [
        f"xmcam: partial download kept as {path}.part",
        "xmcam: the camera closed the connection",
    ]
    assert not path.exists()
    assert (tmp_path / "cut.h264.part").read_bytes() == written[0]


@pytest.mark.needs_tool("ffprobe")
def test_a_remux_cut_off_stays_part_and_plays(
    xmcam: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = files._Remux.write
    received: list[int] = []

    def write_then_cut(self: files._Remux, chunk: bytes) -> None:
        original(self, chunk)
        received.append(len(chunk))
        if sum(received) > 60_000:  # past the first keyframe, short of the whole recording
            raise ConnectionClosedError("the camera closed the connection")

    monkeypatch.setattr(files._Remux, "write", write_then_cut)
    window = ["--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:05"]
    path = tmp_path / "cut.mp4"
    result = xmcam("files", "download", "1", *window, "--mp4", "-o", str(path))
    assert result.code == ExitCode.CONNECTION
    assert f"partial download kept as {path}.part" in result.err
    assert not path.exists()
    assert 0 < int(stream_of(probe(f"{path}.part"), "video")["nb_read_frames"]) < 100


def test_download_remux_line_for_people(xmcam: Run, tmp_path: Path) -> None:
    window = ["--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:05"]
    result = xmcam("files", "download", "1", *window, "--mp4", "-o", str(tmp_path / "a.mp4"))
    assert result.code == ExitCode.SUCCESS, result.err
    assert result.out.startswith(f"{tmp_path / 'a.mp4'}: 100 frames, 4.0 s (from 0.")


def test_download_from_an_empty_window(xmcam: Run, tmp_path: Path) -> None:
    window = ["--from", "2001-01-01", "--to", "2001-01-01"]
    result = xmcam("files", "download", "--all", *window, "-o", str(tmp_path))
    assert (result.code, result.out, result.err) == (0, "", "xmcam: no recordings in that time\n")


def test_download_where_nothing_can_be_written(xmcam: Run, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("a file, not a directory")
    result = xmcam("files", "download", "1", "2", "-o", f"{tmp_path / 'plain'}/sub/")
    assert result.code == ExitCode.FAILURE
    assert result.err.startswith(f"xmcam: cannot write {tmp_path / 'plain'}/sub/: ")
    result = xmcam("files", "download", "1", "-o", str(tmp_path / "missing" / "a.h264"))
    assert result.code == ExitCode.FAILURE
    missing = tmp_path / "missing" / "a.h264"
    assert result.err == f"xmcam: cannot write {missing}: No such file or directory\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "name the recordings to download (numbers or names), or --all"),
        (["--all", "1"], "--all or recording names, not both"),
        (["1", "--mp4", "--type", "picture"], "--mp4 is for video recordings"),
    ],
)
def test_download_argument_errors(run_cli: Run, argv: list[str], message: str) -> None:
    result = run_cli("-H", "127.0.0.1:9", "files", "download", *argv)
    assert result.code == ExitCode.USAGE  # each is a bad command line
    assert result.err == f"xmcam: {message}\n"


def test_download_of_an_unknown_recording(xmcam: Run, tmp_path: Path) -> None:
    for wanted in ("145", "0", "nosuch.h264"):
        result = xmcam("files", "download", wanted, "-o", str(tmp_path))
        assert result.code == ExitCode.USAGE
        assert result.err.startswith(f"xmcam: no recording '{wanted}' in that time")
    assert list(tmp_path.iterdir()) == []


def test_one_file_name_for_several_recordings_is_refused(xmcam: Run, tmp_path: Path) -> None:
    result = xmcam("files", "download", "1", "2", "-o", str(tmp_path / "x.h264"))
    assert result.code == ExitCode.USAGE
    assert "is not a directory: -o names a file only for one recording" in result.err


def test_help_has_examples(run_cli: Run, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run_cli("files", "--help")
    assert "xmcam files list --from '2026-11-25 10:00'" in capsys.readouterr().out
    for action in ("list", "download"):
        with pytest.raises(SystemExit):
            run_cli("files", action, "--help")
        assert "example: xmcam files " in capsys.readouterr().out


# --------------------------------------------------------------------------- parts


def test_parse_when() -> None:
    today = datetime.date.today()
    midnight = datetime.datetime.combine(today, datetime.time())
    assert parse_when("today") == midnight
    assert parse_when("Today", end=True) == midnight.replace(hour=23, minute=59, second=59)
    assert parse_when("yesterday") == midnight - datetime.timedelta(days=1)
    assert parse_when("2026-11-25") == datetime.datetime(2026, 11, 25)
    assert parse_when("2026-11-25", end=True) == datetime.datetime(2026, 11, 25, 23, 59, 59)
    assert parse_when("2026-11-25 10:00") == datetime.datetime(2026, 11, 25, 10, 0)
    assert parse_when("2026-11-25T10:00:30") == datetime.datetime(2026, 11, 25, 10, 0, 30)
    assert parse_when("2026-11-25 10:00", end=True) == datetime.datetime(2026, 11, 25, 10, 0)
    now = parse_when("now")
    assert now.microsecond == 0
    assert abs((now - datetime.datetime.now()).total_seconds()) < 5
    with pytest.raises(CommandError, match="bad time 'soon'") as error:
        parse_when("soon")
    assert error.value.code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "/idea0/2026-11-25/001/10.00.00-10.09.59[R][@0][0].h264",
            "10.00.00-10.09.59[R][@0][0].h264",
        ),
        ("../../etc/passwd", "passwd"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("/idea0/a b;rm -rf*.h264", "a_b_rm_-rf_.h264"),
        ("/idea0/\x1b[2Jclear.h264", "_[2Jclear.h264"),
        ("/idea0/..", "ch0-20261125-100000.h264"),
        ("", "ch0-20261125-100000.h264"),
        ("/idea0/" + "x" * 300 + ".h264", "x" * 115 + ".h264"),  # cut, the extension kept
        ("/idea0/" + "x" * 300, "x" * 120),
    ],
)
def test_local_names_are_safe(name: str, expected: str) -> None:
    assert local_name(record(name)) == expected


def test_local_name_for_mp4() -> None:
    assert local_name(record("/idea0/a/10.00.00[R].h264"), mp4=True) == "10.00.00[R].mp4"
    long = record("/idea0/a/" + "y" * 300 + ".h264")
    assert local_name(long, mp4=True) == "y" * 116 + ".mp4"


def test_local_names_tell_alike_recordings_apart() -> None:
    records = [
        record("/idea0/2026-11-25/001/10.00.00[R].h264"),
        record("/idea0/2026-11-26/001/10.00.00[R].h264"),
        record("/idea1/2026-11-25/001/10.00.00[R].h264"),
        record("/idea0/2026-11-25/001/other.h264"),
        record("/idea0/2026-11-25/001/OTHER.h264"),  # one file, case aside, on some systems
        record("same.h264"),
        record("same.h264"),
        record("/x/" + "z" * 300 + ".h264"),
        record("/y/" + "z" * 300 + ".h264"),
    ]
    names = local_names(records)
    assert names == [
        "idea0_2026-11-25_001_10.00.00[R].h264",
        "idea0_2026-11-26_001_10.00.00[R].h264",
        "idea1_2026-11-25_001_10.00.00[R].h264",
        "other.h264",
        "OTHER-2.h264",
        "same.h264",
        "same-2.h264",
        "x_" + "z" * 113 + ".h264",
        "y_" + "z" * 113 + ".h264",
    ]
    assert all(len(name) <= MAX_NAME for name in names)
    # Unique names are the base names, as they always were.
    assert local_names(records[:1] + records[3:4]) == ["10.00.00[R].h264", "other.h264"]
    # A name made unique never takes another recording's own name.
    taken = [record("/a/b.h264"), record("/c/b.h264"), record("/d/a_b.h264")]
    assert len({name.casefold() for name in local_names(taken)}) == 3


def test_download_gives_each_recording_its_own_file(tmp_path: Path) -> None:
    # The attack: a device whose recordings share a base name (the same hour on two days, in
    # two disks' folders) and one whose name is longer than a file name may be here.
    day = datetime.datetime.combine(TODAY, datetime.time(10))
    base = "10.00.00-10.09.59[R][@0][0].h264"
    names = [
        f"/idea0/{TODAY - datetime.timedelta(days=1)}/001/{base}",
        f"/idea0/{TODAY}/001/{base}",
        f"/idea1/{TODAY}/001/{base}",
        f"/idea0/{TODAY}/001/{'long' * 60}.h264",
    ]
    catalogue = [
        Recording(
            0,
            day - datetime.timedelta(days=1 if n == 0 else 0) + datetime.timedelta(minutes=n),
            day + datetime.timedelta(minutes=n + 1),
            name=name,
        )
        for n, name in enumerate(names)
    ]
    output = tmp_path / "clips"
    with SimulatorThread(recordings=catalogue) as camera:
        camera.simulator.faults.media_pace = FAST
        argv = ["-H", f"127.0.0.1:{camera.port}", "--json", "files", "download", "--all"]
        window = ["--from", "yesterday", "--to", "today", "-o", f"{output}/"]
        assert main([*argv, *window]) == ExitCode.SUCCESS
    files_written = sorted(entry.name for entry in output.iterdir())
    assert len(files_written) == 4
    assert all(name.endswith(".h264") and len(name) <= MAX_NAME for name in files_written)
    assert all((output / name).stat().st_size > 0 for name in files_written)


def test_progress_bar() -> None:
    item = record("/idea0/x/clip.h264")
    assert _bar(item, 1024) == "[##########..........]  50% 0.0/0.0 MB  clip.h264"
    assert _bar(item, 4096).startswith("[####################] 100% ")
    empty = RecordFile("a", 0, item.begin, item.end, 0, 0, 0, "video", {})
    assert _bar(empty, 10).startswith("[....................]   0% ")


# ------------------------------------------------------------------ SIGTERM, a real process


def _download_process(port: int, *argv: str) -> subprocess.Popen[str]:
    window = ["--from", f"{TODAY} 00:00", "--to", f"{TODAY} 00:05"]
    command = [sys.executable, "-m", "xmcam", "-H", f"127.0.0.1:{port}", "--timeout", "30"]
    return subprocess.Popen(
        [*command, "files", "download", "1", *window, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=subprocess_environment(),
    )


@pytest.mark.needs_tool("ffprobe")
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_mid_download_keeps_a_playable_part(
    sim: SimulatorThread, tmp_path: Path, stop: signal.Signals
) -> None:
    # SIGTERM as Ctrl-C: the recording is not whole, so it stays `.part` (a file under its
    # final name is always complete, and the next run fetches it again), finished so that it
    # plays; the exit code is 128 + the signal's number.
    path = tmp_path / "clip.mp4"
    part = tmp_path / "clip.mp4.part"
    # The relay passes about 100 kB/s: the 240 kB recording takes seconds.
    with (
        SlowRelay(sim.port) as relay,
        _download_process(relay.port, "--mp4", "-o", str(path)) as process,
        killed_after(process),
    ):
        # Bytes in the `.part` (the MP4 header, written after the first second of video):
        # under load they come late, so wait for them rather than for a while.
        wait_until(lambda: part.exists() and part.stat().st_size > 0, 60)
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 128 + stop, err
    assert (out, err.splitlines()) == (
        "",
        [
            f"xmcam: partial download kept as {part}",
            f"xmcam: stopped by {stop.name}: 0 of 1 recording(s) done",
        ],
    )
    assert not path.exists()
    assert 0 < int(stream_of(probe(part), "video")["nb_read_frames"]) < 100


def test_sigterm_before_any_media_leaves_nothing(sim: SimulatorThread, tmp_path: Path) -> None:
    # The playback requests go unanswered: the `.part` is there, empty, when SIGTERM comes.
    sim.simulator.faults.silent_ids.update({MessageId.PLAY_CLAIM_REQ, MessageId.PLAY_REQ})
    part = tmp_path / "clip.h264.part"
    with (
        _download_process(sim.port, "-o", str(tmp_path / "clip.h264")) as process,
        killed_after(process),
    ):
        wait_until(part.exists, 60)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 143, err
    assert (out, err) == ("", "xmcam: stopped by SIGTERM: 0 of 1 recording(s) done\n")
    assert list(tmp_path.iterdir()) == []
