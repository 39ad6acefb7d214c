"""The firmware upgrade's sans-I/O part (xmcam.client.upgrade): the image read and checked
before anything is sent, the packets, and what the device's notifications mean."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.firmware_images import NEW_VERSION, SEED_HARDWARE, corrupt, firmware_image, truncated
from xmcam.client import upgrade as upg
from xmcam.errors import FirmwareImageError, FirmwareMismatchError
from xmcam.protocol import ClientConnection, MessageId, Notification
from xmcam.protocol.firmware import BLOCK_SIZE, MAX_IMAGE_SIZE
from xmcam.protocol.framing import Frame, FrameDecoder, encode_frame
from xmcam.protocol.payload import decode_body, encode_body


def notification(message_id: int, body: dict[str, object] | bytes) -> Notification:
    data = body if isinstance(body, bytes) else encode_body(body, b"\n\x00")
    (frame,) = FrameDecoder().feed(encode_frame(message_id, data, session_id=5, sequence=0))
    parsed = decode_body(frame.payload) if data.startswith(b"{") else None
    return Notification(frame, parsed)


def progress(ret: object) -> Notification:
    return notification(MessageId.UPGRADE_PROGRESS, {"Name": "", "Ret": ret})


def logged_in() -> ClientConnection:
    return ClientConnection.for_session(5)


def sender(size: int = 100_000, **options: object) -> upg.ImageSender:
    data, description = upg.load_image(firmware_image(size=size))
    return upg.ImageSender(data, description, **options)  # type: ignore[arg-type]


def test_load_image_from_bytes_and_from_a_file(tmp_path: Path) -> None:
    image = firmware_image()
    data, description = upg.load_image(image)
    assert data == image
    assert (description.hardware, description.version) == (SEED_HARDWARE, NEW_VERSION)
    path = tmp_path / "fw.bin"
    path.write_bytes(image)
    assert upg.load_image(path) == (image, description)
    assert upg.load_image(str(path))[1] == description


@pytest.mark.parametrize(
    "image", [corrupt(firmware_image()), truncated(firmware_image()), b"", b"PK" * 10]
)
def test_a_bad_image_is_refused(image: bytes) -> None:
    with pytest.raises(FirmwareImageError):
        upg.load_image(image)


def test_a_missing_or_huge_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FirmwareImageError, match="cannot read"):
        upg.load_image(tmp_path / "missing.bin")
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as handle:
        handle.truncate(MAX_IMAGE_SIZE + 1)
    with pytest.raises(FirmwareImageError, match="over"):
        upg.load_image(huge)


def test_check_hardware() -> None:
    _, description = upg.load_image(firmware_image())
    upg.check_hardware(description, SEED_HARDWARE)
    upg.check_hardware(description, " hi3516d_83h50n ")
    with pytest.raises(FirmwareMismatchError, match="XM530"):
        upg.check_hardware(description, "XM530_50X50-WG_8M")
    with pytest.raises(FirmwareMismatchError):
        upg.check_hardware(description, None)
    upg.check_hardware(description, "XM530_50X50-WG_8M", force=True)


def test_the_packets_are_numbered_blocks_and_an_empty_end_mark() -> None:
    seen: list[upg.UpgradeProgress] = []
    image_sender = sender(100_000, progress=seen.append)
    wires = list(image_sender.packets(logged_in()))
    frames: list[Frame] = FrameDecoder().feed(b"".join(wires))
    assert len(frames) == -(-len(image_sender.image) // BLOCK_SIZE) + 1
    assert b"".join(frame.payload for frame in frames) == image_sender.image
    assert [frame.sequence for frame in frames] == list(range(len(frames)))
    assert {frame.message_id for frame in frames} == {MessageId.UPGRADE_DATA}
    assert [frame.header.end_flag for frame in frames] == [False] * (len(frames) - 1) + [True]
    assert frames[-1].payload == b""
    assert {frame.session_id for frame in frames} == {5}
    assert image_sender.ended
    assert seen[-1] == upg.UpgradeProgress(
        "sending", len(image_sender.image), len(image_sender.image)
    )
    assert [item.done for item in seen] == sorted(item.done for item in seen)


def test_progress_then_515_is_success() -> None:
    seen: list[upg.UpgradeProgress] = []
    changes: list[None] = []
    image_sender = sender(progress=seen.append, on_change=lambda: changes.append(None))
    list(image_sender.packets(logged_in()))
    for percent in (0, 50, 50, 100):
        image_sender.notice(progress(percent))
        assert not image_sender.finished
    image_sender.notice(notification(MessageId.UPGRADE_DATA_RSP, {"Name": "x", "Ret": 100}))
    image_sender.notice(progress(515))
    assert image_sender.finished
    image_sender.notice(progress(514))  # after the verdict: nothing changes
    result = image_sender.result()
    assert (result.status, result.ret, result.progress, result.ok) == ("succeeded", 515, 100, True)
    assert result.meaning == "upgrade succeeded"
    assert result.sent == result.size
    assert [item.done for item in seen if item.stage == "flashing"] == [0, 50, 100]
    assert len(changes) == 4  # 0, 50, 100, 515


@pytest.mark.parametrize("ret", [513, 514, 512, 9999])
def test_a_failure_ret_is_failure(ret: int) -> None:
    image_sender = sender()
    list(image_sender.packets(logged_in()))
    image_sender.notice(progress(ret))
    result = image_sender.result()
    assert (result.status, result.ret, result.ok) == ("failed", ret, False)
    assert ("not an upgrade verdict" in result.detail) == (ret == 9999)


def test_a_refusing_block_answer_stops_the_sending() -> None:
    image_sender = sender(200_000)
    packets = image_sender.packets(logged_in())
    next(packets)
    image_sender.notice(notification(MessageId.UPGRADE_DATA_RSP, {"Name": "x", "Ret": 513}))
    assert list(packets) == []
    result = image_sender.result()
    assert (result.status, result.ret, result.sent) == ("failed", 513, BLOCK_SIZE)


def test_a_refusal_after_the_last_block_keeps_the_end_mark() -> None:
    image_sender = sender(1000)
    packets = image_sender.packets(logged_in())
    next(packets)
    image_sender.notice(notification(MessageId.UPGRADE_DATA_RSP, {"Name": "x", "Ret": 513}))
    assert list(packets) == []
    assert not image_sender.ended


@pytest.mark.parametrize(
    "junk",
    [
        notification(MessageId.UPGRADE_PROGRESS, b"\x00\x01binary"),
        progress("fifty"),
        progress(None),
        notification(MessageId.UPGRADE_PROGRESS, {"Name": ""}),
    ],
)
def test_notifications_without_a_ret_change_nothing(junk: Notification) -> None:
    image_sender = sender()
    image_sender.notice(junk)
    assert (image_sender.percent, image_sender.verdict) == (None, None)


def test_a_drop_after_100_percent_is_success() -> None:
    image_sender = sender()
    list(image_sender.packets(logged_in()))
    image_sender.notice(progress(100))
    image_sender.connection_lost("the camera closed the connection")
    image_sender.connection_lost("twice")
    result = image_sender.result()
    assert (result.status, result.ret) == ("succeeded", None)
    assert "rebooted" in result.detail


def test_a_drop_before_100_percent_is_unconfirmed() -> None:
    image_sender = sender()
    list(image_sender.packets(logged_in()))
    image_sender.notice(progress(40))
    image_sender.connection_lost("gone")
    result = image_sender.result()
    assert (result.status, result.ret, result.progress) == ("unconfirmed", None, 40)
    assert "at 40 %" in result.detail
    image_sender = sender()
    list(image_sender.packets(logged_in()))
    image_sender.connection_lost("gone")
    assert image_sender.result().detail == "sent; the connection ended"


def test_no_verdict_in_time_is_unconfirmed() -> None:
    image_sender = sender(wait_timeout=2.5)
    list(image_sender.packets(logged_in()))
    result = image_sender.result()
    assert (result.status, result.meaning) == ("unconfirmed", None)
    assert result.detail == "sent; the device did not confirm within 2.5 s"


def test_a_drop_while_sending_is_failure() -> None:
    image_sender = sender(200_000)
    packets = image_sender.packets(logged_in())
    next(packets)
    next(packets)
    image_sender.connection_lost("reset")
    result = image_sender.result()
    assert result.status == "failed"
    size = len(image_sender.image)
    assert result.detail == f"the connection ended after {BLOCK_SIZE} of {size} bytes: reset"


def test_a_drop_with_blocks_unacknowledged_is_failure() -> None:
    image_sender = sender(200_000)
    list(image_sender.packets(logged_in()))
    answer = notification(MessageId.UPGRADE_DATA_RSP, {"Name": "x", "Ret": 100})
    image_sender.notice(answer)
    image_sender.notice(answer)
    image_sender.connection_lost("reset")
    result = image_sender.result()
    assert result.status == "failed"
    assert result.detail == "the connection ended: the device took 2 of 7 blocks"


def test_after_515_the_reboot_is_awaited() -> None:
    image_sender = sender()
    list(image_sender.packets(logged_in()))
    image_sender.notice(progress(515))
    assert image_sender.finished
    assert image_sender.awaits_reboot
    assert not image_sender.result().rebooting  # no reboot seen (yet)
    image_sender.connection_lost("the camera closed the connection")
    assert not image_sender.awaits_reboot
    assert image_sender.result().rebooting
