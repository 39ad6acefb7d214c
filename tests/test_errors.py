"""Tests for xmcam.errors: the exception tree and the Ret code -> exception class map."""

from __future__ import annotations

import pytest

import xmcam.errors
from xmcam.errors import (
    AccountLockedError,
    AuthenticationError,
    ConfigNotFoundError,
    ConnectionClosedError,
    DeviceError,
    FrameError,
    InvalidRequestError,
    NotLoggedInError,
    PayloadError,
    PermissionDeniedError,
    ProtocolError,
    ReassemblyError,
    RequestTimeoutError,
    StateError,
    TransportError,
    UnsupportedError,
    XMCamError,
    error_for_ret,
)
from xmcam.protocol.codes import ret_meaning

RET_CLASSES: list[tuple[int, type[DeviceError]]] = [
    (203, AuthenticationError),
    (106, AuthenticationError),
    (204, AuthenticationError),
    (206, AuthenticationError),
    (113, DeviceError),
    (205, AccountLockedError),
    (105, NotLoggedInError),
    (202, NotLoggedInError),
    (107, PermissionDeniedError),
    (102, UnsupportedError),
    (605, UnsupportedError),
    (502, UnsupportedError),
    (607, ConfigNotFoundError),
    (103, InvalidRequestError),
    (117, InvalidRequestError),
    (208, InvalidRequestError),
    (608, InvalidRequestError),
    (999, DeviceError),
    (101, DeviceError),
    (0, DeviceError),
    (-1, DeviceError),
]

FAMILIES: list[type[XMCamError]] = [ProtocolError, DeviceError, TransportError, StateError]


@pytest.mark.parametrize(("ret", "cls"), RET_CLASSES)
def test_error_for_ret_class(ret: int, cls: type[DeviceError]) -> None:
    error = error_for_ret(ret)
    assert type(error) is cls
    assert isinstance(error, DeviceError)
    assert error.ret == ret
    assert error.message_id is None
    assert error.context == ""


@pytest.mark.parametrize(("ret", "cls"), RET_CLASSES)
def test_error_message_has_ret_meaning_and_message_name(ret: int, cls: type[DeviceError]) -> None:
    error = error_for_ret(ret, message_id=1001, context="logging in as admin")
    text = str(error)
    assert f"Ret {ret} " in text
    assert ret_meaning(ret) in text
    assert "LOGIN_RSP" in text
    assert text.endswith("logging in as admin")
    assert error.message_id == 1001
    assert error.context == "logging in as admin"
    # At login, "user does not exist" (113) refuses the login like a wrong password.
    assert type(error) is (AuthenticationError if ret == 113 else cls)


def test_error_message_exact_text() -> None:
    assert str(error_for_ret(203)) == "Ret 203 (wrong password)"
    assert str(error_for_ret(607, message_id=1043)) == (
        "Ret 607 (config does not exist) in reply to CONFIG_GET_RSP"
    )
    assert str(error_for_ret(107, context="PTZ")) == "Ret 107 (no permission) PTZ"
    assert repr(error_for_ret(203)) == "AuthenticationError('Ret 203 (wrong password)')"


def test_error_message_for_unknown_message_id_and_ret() -> None:
    text = str(error_for_ret(999, message_id=60001))
    assert text == "Ret 999 (unknown Ret code 999) in reply to MSG_60001"


@pytest.mark.parametrize(
    ("ret", "meaning"),
    [
        (203, "wrong password"),
        (205, "user locked"),
        (607, "config does not exist"),
        (999, "unknown Ret code 999"),
    ],
)
def test_meaning(ret: int, meaning: str) -> None:
    assert error_for_ret(ret).meaning == meaning
    assert DeviceError(ret).meaning == meaning


def test_device_error_constructed_directly() -> None:
    error = AuthenticationError(203, message_id=1001)
    assert error.ret == 203
    assert error.args == ("Ret 203 (wrong password) in reply to LOGIN_RSP",)


def test_account_locked_is_an_authentication_error() -> None:
    error = error_for_ret(205, message_id=1001)
    assert isinstance(error, AuthenticationError)
    # How long the lock lasts on real firmware, and the other reading of 205.
    assert AccountLockedError.ADVICE == (
        "the account is locked after failed logins: wait about 30 minutes from the last try "
        "(on some firmware: the user name is unknown)"
    )
    assert error.ret == 205
    with pytest.raises(AuthenticationError):
        raise error


def test_config_not_found_is_unsupported() -> None:
    assert isinstance(error_for_ret(607), UnsupportedError)
    assert not isinstance(error_for_ret(102), ConfigNotFoundError)


def test_request_timeout_is_a_builtin_timeout_and_a_transport_error() -> None:
    error = RequestTimeoutError("no reply to KEEPALIVE_REQ")
    assert isinstance(error, TimeoutError)
    assert isinstance(error, OSError)
    assert isinstance(error, TransportError)
    assert isinstance(error, XMCamError)
    assert not isinstance(error, ProtocolError)
    assert not isinstance(error, DeviceError)
    with pytest.raises(TimeoutError):
        raise error


def test_connection_closed_is_a_transport_error() -> None:
    error = ConnectionClosedError("peer closed")
    assert isinstance(error, TransportError)
    assert not isinstance(error, TimeoutError)
    assert not isinstance(error, ProtocolError)


def test_protocol_family() -> None:
    assert issubclass(FrameError, ProtocolError)
    assert issubclass(ReassemblyError, FrameError)
    assert issubclass(PayloadError, ProtocolError)
    assert not issubclass(PayloadError, FrameError)
    assert not issubclass(FrameError, PayloadError)


@pytest.mark.parametrize("family", FAMILIES)
def test_families_are_separate(family: type[XMCamError]) -> None:
    assert issubclass(family, XMCamError)
    for other in FAMILIES:
        if other is not family:
            assert not issubclass(family, other)
            assert not issubclass(other, family)


@pytest.mark.parametrize(
    ("cls", "family"),
    [
        (FrameError, ProtocolError),
        (ReassemblyError, ProtocolError),
        (PayloadError, ProtocolError),
        (AuthenticationError, DeviceError),
        (AccountLockedError, DeviceError),
        (NotLoggedInError, DeviceError),
        (PermissionDeniedError, DeviceError),
        (UnsupportedError, DeviceError),
        (ConfigNotFoundError, DeviceError),
        (InvalidRequestError, DeviceError),
        (ConnectionClosedError, TransportError),
        (RequestTimeoutError, TransportError),
        (StateError, StateError),
    ],
)
def test_every_class_is_in_exactly_one_family(cls: type[XMCamError], family: type) -> None:
    assert [candidate for candidate in FAMILIES if issubclass(cls, candidate)] == [family]


def test_protocol_errors_are_not_builtin_value_or_os_errors() -> None:
    # Callers catching ValueError/OSError must not swallow protocol errors by accident.
    for cls in (ProtocolError, FrameError, ReassemblyError, PayloadError, DeviceError):
        assert not issubclass(cls, ValueError)
        assert not issubclass(cls, OSError)


def test_state_error() -> None:
    error = StateError("a request is already outstanding")
    assert isinstance(error, XMCamError)
    assert str(error) == "a request is already outstanding"


def test_all_lists_every_public_name() -> None:
    exported = set(xmcam.errors.__all__)
    defined = {
        name
        for name, value in vars(xmcam.errors).items()
        if not name.startswith("_")
        and ((isinstance(value, type) and issubclass(value, Exception)) or name == "error_for_ret")
        and getattr(value, "__module__", "") == "xmcam.errors"
    }
    assert exported == defined


def test_user_not_found_is_an_authentication_error_only_at_login() -> None:
    assert type(error_for_ret(113, message_id=1001)) is AuthenticationError
    assert type(error_for_ret(113, message_id=1487)) is DeviceError


def test_the_encryption_errors_say_what_the_camera_wants() -> None:
    required = xmcam.errors.EncryptionRequiredError("it answered with nothing", message_id=1000)
    unavailable = xmcam.errors.EncryptionUnavailableError("it refused", ret=103, message_id=1413)
    assert str(required) == "the camera wants an encrypted session: it answered with nothing"
    assert str(unavailable) == "the camera does not offer the encrypted session: it refused"
    assert (required.ret, required.message_id, required.context) == (
        0,
        1000,
        "it answered with nothing",
    )
    assert (unavailable.ret, unavailable.message_id) == (103, 1413)
    for error in (required, unavailable):
        assert isinstance(error, UnsupportedError)
        assert not isinstance(error, AuthenticationError)
    assert issubclass(xmcam.errors.EncryptedBodyError, PayloadError)
