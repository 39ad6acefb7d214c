"""Tests for xmcam.protocol.codes: message ids, reply ids, Ret codes and their meanings."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from xmcam.protocol.codes import (
    MEDIA_MESSAGE_IDS,
    RET_MEANINGS,
    SEARCH_EMPTY_RETS,
    SUCCESS_RETS,
    MessageId,
    Ret,
    describe_ret,
    is_success,
    message_name,
    reply_id,
    ret_meaning,
)

# Requests with an odd id (docs/protocol.md §3, §19): their reply is still id + 1.
ODD_REQUESTS = {1413, 1415, 1417, 1525}


# --- MessageId -----------------------------------------------------------------------------


def test_message_id_values_are_unique() -> None:
    values = [member.value for member in MessageId]
    assert len(values) == len(set(values))
    # No aliases: every name maps to its own member.
    assert len(MessageId.__members__) == len(MessageId)


def test_message_id_names_are_upper_snake() -> None:
    for member in MessageId:
        assert member.name.isupper()
        assert member.name.replace("_", "").isalnum()


def test_message_ids_fit_u16() -> None:
    for member in MessageId:
        assert 0 <= member <= 0xFFFF


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (1000, "LOGIN_REQ"),
        (1001, "LOGIN_RSP"),
        (1006, "KEEPALIVE_REQ"),
        (1007, "KEEPALIVE_RSP"),
        (1020, "SYSINFO_REQ"),
        (1021, "SYSINFO_RSP"),
        (1040, "CONFIG_SET_REQ"),
        (1041, "CONFIG_SET_RSP"),
        (1500, "GUARD_REQ"),
        (1501, "GUARD_RSP"),
        (1502, "UNGUARD_REQ"),
        (1503, "UNGUARD_RSP"),
        (1504, "ALARM_REQ"),
        (1505, "ALARM_RSP"),
        (1412, "MONITOR_DATA"),
        (1560, "NET_SNAP_REQ"),
        (1561, "NET_SNAP_RSP"),
    ],
)
def test_seed_ids_have_expected_names(value: int, name: str) -> None:
    assert MessageId(value).name == name
    assert MessageId[name] == value


def test_requests_are_even_except_known_odd_ones() -> None:
    for member in MessageId:
        if member.name.endswith("_REQ"):
            assert member % 2 == 0 or member in ODD_REQUESTS, member.name


def test_every_req_rsp_pair_is_request_plus_one() -> None:
    pairs = 0
    for member in MessageId:
        if not member.name.endswith("_REQ"):
            continue
        rsp_name = member.name.removesuffix("_REQ") + "_RSP"
        if rsp_name in MessageId.__members__:
            pairs += 1
            assert MessageId[rsp_name] == member + 1
            assert reply_id(member) == MessageId[rsp_name]
    assert pairs > 50


def test_every_rsp_follows_its_request() -> None:
    for member in MessageId:
        if not member.name.endswith("_RSP"):
            continue
        request = MessageId(member - 1)
        base = member.name.removesuffix("_RSP")
        assert request.name in {base + "_REQ", base}, member.name


def test_reply_id_even_and_unknown_even() -> None:
    assert reply_id(1000) == 1001
    assert reply_id(MessageId.CONFIG_GET_REQ) == MessageId.CONFIG_GET_RSP
    assert reply_id(1504) == 1505  # device-initiated, but the rule still holds
    assert reply_id(4242) == 4243  # unknown even id
    assert reply_id(0) == 1
    assert reply_id(0xFFFE) == 0xFFFF


@pytest.mark.parametrize("request_id", sorted(ODD_REQUESTS))
def test_reply_id_known_odd_requests(request_id: int) -> None:
    assert reply_id(request_id) == request_id + 1


@pytest.mark.parametrize("odd_id", [1001, 1505, 1009, 1423, 4243, 1])
def test_reply_id_raises_for_odd_ids(odd_id: int) -> None:
    with pytest.raises(ValueError, match="odd"):
        reply_id(odd_id)


@pytest.mark.parametrize("bad_id", [-2, -1, 0xFFFF, 0x10000, 1 << 40])
def test_reply_id_raises_out_of_range(bad_id: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        reply_id(bad_id)


def test_message_name_known() -> None:
    assert message_name(1000) == "LOGIN_REQ"
    assert message_name(MessageId.ALARM_REQ) == "ALARM_REQ"
    assert message_name(1433) == "TALK_PU_CU_DATA"


@pytest.mark.parametrize("unknown", [0, 1, 999, 11005, 4242, 65535, 1 << 70])
def test_message_name_unknown(unknown: int) -> None:
    assert message_name(unknown) == f"MSG_{unknown}"


def test_message_name_negative_and_bool() -> None:
    assert message_name(-1) == "MSG_-1"
    assert message_name(-1000) == "MSG_-1000"
    assert message_name(True) == "MSG_1"


def test_message_name_round_trips_every_member() -> None:
    for member in MessageId:
        assert message_name(member.value) == member.name


def test_media_message_ids() -> None:
    assert frozenset({1412, 1419, 1422, 1426, 1432, 1433, 1522, 1561}) == MEDIA_MESSAGE_IDS
    for message_id in MEDIA_MESSAGE_IDS:
        assert MessageId(message_id) == message_id
    # Plain ints find the enum members.
    assert 1412 in MEDIA_MESSAGE_IDS
    assert MessageId.LOGIN_RSP not in MEDIA_MESSAGE_IDS


# --- Ret -----------------------------------------------------------------------------------


def test_ret_values_are_unique() -> None:
    values = [member.value for member in Ret]
    assert len(values) == len(set(values))
    assert len(Ret.__members__) == len(Ret)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (100, "OK"),
        (106, "BAD_CREDENTIALS"),
        (116, "RESERVED_116"),
        (203, "WRONG_PASSWORD"),
        (205, "USER_LOCKED"),
        (515, "UPGRADE_SUCCEEDED"),
        (607, "CONFIG_NOT_FOUND"),
        (608, "CONFIG_PARSE_ERROR"),
    ],
)
def test_ret_names(code: int, name: str) -> None:
    assert Ret(code).name == name


def test_every_ret_member_has_a_meaning() -> None:
    for member in Ret:
        meaning = RET_MEANINGS[member]
        assert meaning
        assert meaning == meaning.strip()
        # A lower-case sentence fragment; only an acronym (PTZ) may start upper-case.
        first_word = meaning.split()[0]
        assert first_word.islower() or first_word.isupper(), meaning
        assert ret_meaning(member) == meaning


def test_meanings_cover_exactly_the_members() -> None:
    assert set(RET_MEANINGS) == {int(member) for member in Ret}
    for code in RET_MEANINGS:
        assert type(code) is int


def test_ret_meanings_is_read_only() -> None:
    assert isinstance(RET_MEANINGS, MappingProxyType)
    with pytest.raises(TypeError):
        RET_MEANINGS[999] = "nope"  # type: ignore[index]


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (100, "ok"),
        (203, "wrong password"),
        (205, "user locked"),
        (206, "user blacklisted"),
        (207, "user already logged in"),
        (602, "application needs restart"),
        (603, "system needs restart"),
        (607, "config does not exist"),
    ],
)
def test_doc_meanings(code: int, meaning: str) -> None:
    assert ret_meaning(code) == meaning


def test_ret_meaning_unknown() -> None:
    assert ret_meaning(999) == "unknown Ret code 999"
    assert ret_meaning(-5) == "unknown Ret code -5"
    assert ret_meaning(1) == "unknown Ret code 1"


def test_success_rets() -> None:
    assert frozenset({100, 110, 111, 150, 503, 511, 515, 522, 602, 603}) == SUCCESS_RETS
    for code in SUCCESS_RETS:
        assert code in RET_MEANINGS
        assert is_success(code)


def test_search_empty_rets() -> None:
    assert frozenset({109, 119}) == SEARCH_EMPTY_RETS
    for code in SEARCH_EMPTY_RETS:
        assert code in RET_MEANINGS
        assert not is_success(code)


@pytest.mark.parametrize("code", [101, 103, 106, 203, 205, 504, 514, 607, 999, -1])
def test_is_success_false(code: int) -> None:
    assert not is_success(code)


def test_is_success_accepts_members() -> None:
    assert is_success(Ret.OK)
    assert not is_success(Ret.WRONG_PASSWORD)


def test_describe_ret() -> None:
    assert describe_ret(203) == "Ret 203 (wrong password)"
    assert describe_ret(Ret.CONFIG_NOT_FOUND) == "Ret 607 (config does not exist)"
    assert describe_ret(100) == "Ret 100 (ok)"
    assert describe_ret(999) == "Ret 999 (unknown Ret code 999)"
