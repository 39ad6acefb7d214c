"""Tests for xmcam.protocol.firmware: an XM upgrade file's description, and the check that runs
as the image's blocks arrive."""

from __future__ import annotations

import io
import json
import struct
import zipfile

import pytest

from xmcam.errors import FirmwareImageError
from xmcam.protocol.firmware import (
    BLOCK_SIZE,
    MAX_DESCRIPTION_SIZE,
    MAX_MEMBERS,
    FirmwareDescription,
    ImageCheck,
    hardware_matches,
    parse_description,
    read_description,
)

DESCRIPTION = {
    "Hardware": "XM530_50X50-WG_8M",
    "Vendor": "General",
    "SoftWareVersion": "V5.00.R02.000807D8.10010.346832.0000000",
    "UpgradeCommand": [{"Command": "Burn", "FileName": "user-x.cramfs.img"}],
}


def make_image(
    description: object = DESCRIPTION,
    *,
    members: dict[str, bytes] | None = None,
    method: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A zip as XM upgrade files are: the flash images and an InstallDesc."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in (members or {"user-x.cramfs.img": bytes(range(256)) * 300}).items():
            archive.writestr(name, data)
        if description is not None:
            text = description if isinstance(description, bytes) else json.dumps(description)
            archive.writestr("InstallDesc", text)
    return buffer.getvalue()


def check(image: bytes, piece: int = BLOCK_SIZE, **options: int) -> ImageCheck:
    checker = ImageCheck(**options)
    for start in range(0, len(image), piece):
        checker.feed(image[start : start + piece])
    return checker


def refusal(image: bytes, piece: int = BLOCK_SIZE, **options: int) -> str:
    with pytest.raises(FirmwareImageError) as caught:
        check(image, piece, **options).finish()
    return str(caught.value)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
@pytest.mark.parametrize("piece", [1, 7, 1000, BLOCK_SIZE])
def test_a_good_image_in_any_blocks(method: int, piece: int) -> None:
    image = make_image(method=method, members={"a.img": b"x" * 5000, "empty.img": b""})
    checker = check(image, piece)
    description = checker.finish()
    assert description.hardware == "XM530_50X50-WG_8M"
    assert description.vendor == "General"
    assert description.version == DESCRIPTION["SoftWareVersion"]
    assert description.fields["UpgradeCommand"][0]["Command"] == "Burn"
    assert checker.members == 3
    assert checker.size == len(image)
    assert read_description(image) == description


def test_the_description_in_a_folder() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fw/InstallDesc", json.dumps({"Hardware": "H", "Version": "V1"}))
    assert read_description(buffer.getvalue()) == FirmwareDescription(
        "H", None, "V1", {"Hardware": "H", "Version": "V1"}
    )


@pytest.mark.parametrize("piece", [1, BLOCK_SIZE])
def test_a_corrupt_byte_is_found(piece: int) -> None:
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        image = bytearray(make_image(method=method))
        image[200] ^= 0x55  # inside the first member's data
        assert "member 'user-x.cramfs.img'" in refusal(bytes(image), piece)


@pytest.mark.parametrize("cut", [10, 40, 300, -30, -22, -5, -1])
def test_a_truncated_image_is_cut_short(cut: int) -> None:
    image = make_image()
    end = cut if cut > 0 else len(image) + cut
    message = refusal(image[:end], 1000)
    assert "cut short" in message or "does not match" in message


def test_not_a_zip() -> None:
    assert "not a zip" in refusal(b"\x7fELF" + bytes(100))
    assert "not a zip" in refusal(b"PK\x07\x08" + bytes(100))


def test_feeding_after_a_fault_only_counts() -> None:
    checker = check(b"garbage!")
    checker.feed(b"more")
    assert checker.size == 12
    assert checker.fault is not None


def test_an_image_without_a_description() -> None:
    assert "no InstallDesc" in refusal(make_image(None))
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()  # the end record alone
    assert "no InstallDesc" in refusal(empty.getvalue())


@pytest.mark.parametrize(
    ("text", "reason"),
    [(b"not json", "not JSON"), (b"[1, 2]", "not a JSON object"), (b"\xff\xfe", "not JSON")],
)
def test_a_bad_description(text: bytes, reason: str) -> None:
    assert reason in refusal(make_image(text))


def test_a_description_with_a_bom_and_nuls() -> None:
    text = b"\xef\xbb\xbf" + json.dumps({"Hardware": 5}).encode() + b"\x00\x00"
    description = parse_description(text)
    assert description.hardware is None
    assert description.version is None


def test_a_deeply_nested_description_is_refused() -> None:
    with pytest.raises(FirmwareImageError):
        parse_description(b"[" * 60000)


def test_an_oversized_description() -> None:
    with pytest.raises(FirmwareImageError, match="over"):
        parse_description(b" " * (MAX_DESCRIPTION_SIZE + 1))
    big = make_image(b" " * (MAX_DESCRIPTION_SIZE + 1) + b"{}")
    assert "InstallDesc is over" in refusal(big)


def test_an_image_over_the_size_limit() -> None:
    image = make_image(method=zipfile.ZIP_STORED)
    assert "image is over" in refusal(image, max_size=len(image) - 1)


def test_a_member_over_the_size_limit() -> None:
    # 200 KB of zeros deflate to a few hundred bytes: the declared size is what counts.
    image = make_image(members={"bomb.img": bytes(200_000)})
    assert "'bomb.img' is over" in refusal(image, max_size=100_000)


def test_too_many_members() -> None:
    members = {f"{number}.img": b"x" for number in range(MAX_MEMBERS + 1)}
    assert "more than" in refusal(make_image(members=members, method=zipfile.ZIP_STORED))


def local_header_at(image: bytes, index: int = 0) -> int:
    """The offset of the `index`th local header."""
    offset = 0
    for _ in range(index + 1):
        offset = image.index(b"PK\x03\x04", offset + (1 if offset else 0))
    return offset


def patched(image: bytes, offset: int, form: str, value: int) -> bytes:
    data = bytearray(image)
    struct.pack_into(form, data, offset, value)
    return bytes(data)


def test_encrypted_or_streamed_members_are_not_taken() -> None:
    image = make_image()
    flags = local_header_at(image) + 6
    assert "not supported" in refusal(patched(image, flags, "<H", 0x1))
    assert "not supported" in refusal(patched(image, flags, "<H", 0x8))


def test_unsupported_compression() -> None:
    image = make_image(method=zipfile.ZIP_BZIP2)
    assert "unsupported compression" in refusal(image)
    stored = make_image(method=zipfile.ZIP_STORED)
    declared = local_header_at(stored) + 22
    assert "unsupported compression" in refusal(patched(stored, declared, "<I", 5))


def test_a_member_that_inflates_past_its_size() -> None:
    image = make_image()
    declared = local_header_at(image) + 22
    assert "larger than its header says" in refusal(patched(image, declared, "<I", 100))
    # The whole member in one piece, so zlib keeps input back (its unconsumed tail).
    assert "larger than its header says" in refusal(patched(image, declared, "<I", 100), 10**6)


def test_a_member_whose_compressed_data_goes_on() -> None:
    image = make_image()
    size_field = local_header_at(image) + 18
    size = struct.unpack_from("<I", image, size_field)[0]
    assert "ends before" in refusal(patched(image, size_field, "<I", size - 10))


def test_a_deflated_member_of_no_bytes() -> None:
    image = make_image(members={"a.img": b"abc"})
    size_field = local_header_at(image) + 18
    assert "ends before" in refusal(patched(image, size_field, "<I", 0))


def test_garbage_that_does_not_inflate() -> None:
    image = bytearray(make_image(members={"a.img": bytes(range(256)) * 100}))
    start = local_header_at(bytes(image)) + 30 + len("a.img")
    image[start] = 0xFF  # an invalid block type
    assert "does not inflate" in refusal(bytes(image))


def test_a_directory_too_large() -> None:
    image = make_image()
    directory = image.index(b"PK\x01\x02")
    huge = image[:directory] + b"PK\x01\x02" + bytes(1024 * 1024)
    assert "too large" in refusal(huge)


def test_a_directory_that_does_not_match() -> None:
    image = make_image()
    end = image.rindex(b"PK\x05\x06")
    assert "does not match" in refusal(patched(image, end + 10, "<H", 7))
    assert "does not match" in refusal(image + b"junk")


@pytest.mark.parametrize(
    ("hardware", "expected"),
    [
        ("XM530_50X50-WG_8M", True),
        (" xm530_50x50-wg_8m ", True),
        ("HI3516D_83H50N", False),
        (None, False),
    ],
)
def test_hardware_matches(hardware: str | None, expected: bool) -> None:
    description = read_description(make_image())
    assert hardware_matches(description, hardware) is expected
    assert not hardware_matches(FirmwareDescription(None, None, None), "XM530_50X50-WG_8M")
