"""The typed results: a SystemInfo read from a device reads its fields on first use."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xmcam.client.models import SystemInfo

# The seed camera's SystemInfo object, with the hex uptime real firmware writes.
SEED_INFO: dict[str, Any] = {
    "AlarmInChannel": 2, "AlarmOutChannel": 1, "BuildTime": "2020-02-26 17:11:38",
    "DeviceRunTime": "0x00001D8E", "DigChannel": 0, "HardWare": "HI3516EV300_85H50AI",
    "HardWareVersion": "Null", "SerialNo": "ad4f9c4da8b0d3a8", "SoftWareVersion":
    "V5.00.R02.000529B2.10010.040400.0020000", "VideoInChannel": 1,
}  # fmt: skip
FIELDS = [field.name for field in dataclasses.fields(SystemInfo) if field.name != "raw"]


def eager(info: SystemInfo) -> SystemInfo:
    """The same values, given to the constructor."""
    return SystemInfo(**{name: getattr(info, name) for name in FIELDS}, raw=info.raw)


def test_the_fields_of_a_device_object_are_read_leniently() -> None:
    info = SystemInfo.from_device(dict(SEED_INFO))
    assert info == SystemInfo(
        "HI3516EV300_85H50AI", "V5.00.R02.000529B2.10010.040400.0020000", "ad4f9c4da8b0d3a8",
        "2020-02-26 17:11:38", "Null", 1, 2, 1, 0x1D8E, SEED_INFO,
    )  # fmt: skip
    odd = SystemInfo.from_device({"HardWare": 7, "VideoInChannel": "0x2", "DigChannel": "2"})
    assert (odd.model, odd.channels, odd.alarm_in, odd.uptime_minutes) == (None, 4, None, None)


def test_a_field_is_read_once_and_kept() -> None:
    raw = dict(SEED_INFO)
    info = SystemInfo.from_device(raw)
    assert info.serial == "ad4f9c4da8b0d3a8"
    raw["SerialNo"] = "changed"
    assert info.serial == "ad4f9c4da8b0d3a8"
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.serial = "x"  # type: ignore[misc]


def test_it_compares_hashes_and_prints_as_the_constructed_one() -> None:
    lazy, built = SystemInfo.from_device(dict(SEED_INFO)), eager(SystemInfo.from_device(SEED_INFO))
    assert repr(SystemInfo.from_device(dict(SEED_INFO))) == repr(built)
    assert hash(SystemInfo.from_device(dict(SEED_INFO))) == hash(built)
    assert lazy == built
    assert SystemInfo.from_device(dict(SEED_INFO)) != SystemInfo.from_device({})
    assert dataclasses.asdict(SystemInfo.from_device(dict(SEED_INFO))) == dataclasses.asdict(built)
    assert dataclasses.replace(SystemInfo.from_device(dict(SEED_INFO)), model=None).serial == (
        "ad4f9c4da8b0d3a8"
    )


@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda info: pickle.loads(pickle.dumps(info))],  # noqa: S301  (our own bytes)
    ids=["copy", "deepcopy", "pickle"],
)
def test_copies_and_pickles_carry_every_field(duplicate: Any) -> None:
    twin = duplicate(SystemInfo.from_device(dict(SEED_INFO)))
    assert twin == eager(SystemInfo.from_device(SEED_INFO))
    assert twin.uptime_minutes == 0x1D8E


def test_a_name_that_is_no_field_is_an_attribute_error() -> None:
    info = SystemInfo.from_device({})
    with pytest.raises(AttributeError, match="'SystemInfo' object has no attribute 'serail'"):
        _ = info.serail  # type: ignore[attr-defined]
    assert not hasattr(info, "__deepcopy__")
    assert not hasattr(SystemInfo.__new__(SystemInfo), "serial")  # no raw: no field, no loop


def test_threads_reading_a_field_at_once_get_the_same_value() -> None:
    info = SystemInfo.from_device(dict(SEED_INFO))
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(info.channels)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [1] * 8


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_device_objects = st.dictionaries(
    st.sampled_from([*SEED_INFO, "Other"]),
    _json_scalars | st.lists(_json_scalars, max_size=2) | st.just("0x1F") | st.just(" 7 "),
)


@given(_device_objects)
def test_any_device_object_gives_typed_fields_or_none(raw: dict[str, Any]) -> None:
    info = SystemInfo.from_device(raw)
    for name in ("model", "firmware", "serial", "build_time", "hardware_version"):
        assert getattr(info, name) is None or isinstance(getattr(info, name), str)
    for name in ("channels", "alarm_in", "alarm_out", "uptime_minutes"):
        value = getattr(info, name)
        assert value is None or type(value) is int
    assert info == eager(info)
