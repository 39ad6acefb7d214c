"""The whole xmcam exception tree, and the map from a device's Ret code to its exception class.

Four families, kept apart so that callers can tell "the device said no" from "the bytes were
wrong" from "the network failed" from "you called the library wrongly":

```
XMCamError
├── ProtocolError            the peer sent bytes that break the protocol (untrusted input)
│   ├── FrameError           bad head byte, a length over its limit, a frame cut off by EOF
│   │   └── ReassemblyError  a broken multi-packet (TotalPacket / CurPacket) sequence
│   └── PayloadError         a body that is not a JSON object, too big, too deep, bad SessionID
│       └── EncryptedBodyError   an encrypted (FunSDK) body or key that does not decrypt
├── DeviceError              the device answered with a failure Ret code
│   ├── AuthenticationError  wrong user or password, illegal or blacklisted user
│   │   └── AccountLockedError   too many failed logins: the account is locked
│   ├── NotLoggedInError     the session is not (or no longer) logged in
│   ├── PermissionDeniedError
│   ├── UnsupportedError     the command or version is not supported
│   │   ├── ConfigNotFoundError  unknown or unsupported config name (Ret 607)
│   │   ├── EncryptionRequiredError  the device wants the encrypted session, not a plain one
│   │   └── EncryptionUnavailableError  the encrypted session was asked for; it is not offered
│   └── InvalidRequestError  the device could not parse or accept the request
├── TransportError           I/O: the network, not the protocol
│   ├── ConnectionClosedError
│   └── RequestTimeoutError  (also a builtin TimeoutError)
└── StateError               the caller used a connection in a way its state forbids
```

No exception message ever contains a password or a password hash: device errors carry the Ret
code, its meaning and the message name, nothing from the request body.
"""

from __future__ import annotations

# The code tables live in xmcam.protocol.codes, which imports this module through the
# protocol package; they are looked up when an error is made, not at import time.

__all__ = [
    "AccountLockedError",
    "AuthenticationError",
    "ConfigNotFoundError",
    "ConnectionClosedError",
    "DeviceError",
    "EncryptedBodyError",
    "EncryptionRequiredError",
    "EncryptionUnavailableError",
    "FrameError",
    "InvalidRequestError",
    "NotLoggedInError",
    "PayloadError",
    "PermissionDeniedError",
    "ProtocolError",
    "ReassemblyError",
    "RequestTimeoutError",
    "StateError",
    "TransportError",
    "UnsupportedError",
    "XMCamError",
    "error_for_ret",
]


class XMCamError(Exception):
    """Base class of every error xmcam raises on purpose."""


class ProtocolError(XMCamError):
    """The peer sent bytes that break the protocol.

    Every byte from the network is untrusted: whatever a peer sends, the decoders either
    succeed or raise this (or a subclass), never anything else. After a protocol error the
    byte stream can no longer be trusted, so the connection should be closed.
    """


class FrameError(ProtocolError):
    """The 20-byte framing is broken: bad head byte, absurd length, frame cut off."""


class ReassemblyError(FrameError):
    """A multi-packet message (TotalPacket > 1) arrived out of shape."""


class PayloadError(ProtocolError):
    """A message body could not be read: not JSON, not an object, too large or too deep."""


class EncryptedBodyError(PayloadError):
    """An encrypted body of the FunSDK session (docs/protocol.md §6.3) that cannot be read: not
    base64, not whole AES blocks, no NUL padding, garbage once decrypted, an RSA block that
    does not decrypt, a negotiation answer without a usable key. The message never holds a
    key, a plaintext or a ciphertext."""


class DeviceError(XMCamError):
    """The device answered with a Ret code that means failure.

    `ret` is the code, `meaning` its text from the vendor table, `message_id` the id of the
    reply (or request) it came with, when known.
    """

    def __init__(self, ret: int, *, message_id: int | None = None, context: str = "") -> None:
        from xmcam.protocol.codes import describe_ret, message_name  # noqa: PLC0415

        self.ret = ret
        self.message_id = message_id
        self.context = context
        parts = [describe_ret(ret)]
        if message_id is not None:
            parts.append(f"in reply to {message_name(message_id)}")
        if context:
            parts.append(context)
        super().__init__(" ".join(parts))

    @property
    def meaning(self) -> str:
        """The Ret code's meaning, e.g. "wrong password"."""
        from xmcam.protocol.codes import ret_meaning  # noqa: PLC0415

        return ret_meaning(self.ret)


class AuthenticationError(DeviceError):
    """The device refused the login: wrong user or password, illegal or blacklisted user.

    Never retry this automatically: five failures lock the account for 30 minutes on most
    firmware, and the lock then refuses the correct password too.
    """


class AccountLockedError(AuthenticationError):
    """The account is locked after too many failed logins (Ret 205 on most firmware).

    Real firmware locks the account for about 30 minutes after
    five failed logins, counted from the last attempt, and refuses the right password
    meanwhile (docs/protocol.md §6.1). Some firmware answers 205 for an unknown user name
    too (docs/protocol.md §5). `ADVICE` says both, in words for a person."""

    LOCK_MINUTES = 30
    """How long real firmware keeps an account locked, in minutes (docs/protocol.md §6.1)."""

    # Short: an error line is cut at 200 characters, and the CLI puts the camera before it.
    ADVICE = (
        f"the account is locked after failed logins: wait about {LOCK_MINUTES} minutes from "
        "the last try (on some firmware: the user name is unknown)"
    )
    """What the lock means and what to do, for a person (the CLI prints it after the error)."""


class NotLoggedInError(DeviceError):
    """The device says the session is not logged in (expired, or never was)."""


class PermissionDeniedError(DeviceError):
    """The logged-in user lacks the right for this command."""


class UnsupportedError(DeviceError):
    """The device does not support this command, feature or protocol version."""


class ConfigNotFoundError(UnsupportedError):
    """The config name does not exist on this device (Ret 607), or is not supported."""


class EncryptionRequiredError(UnsupportedError):
    """The device wants the encrypted (FunSDK) session and answered a plain login without
    logging in: an empty reply, or a reply that says its bodies are AES-encrypted
    (`DataUseAES`). Retrying the plain login is useless; log in with encryption instead.

    `ret` is the plain login reply's Ret code, 0 when it had none."""

    def __init__(self, detail: str, *, ret: int = 0, message_id: int | None = None) -> None:
        self.ret = ret
        self.message_id = message_id
        self.context = detail
        XMCamError.__init__(self, f"the camera wants an encrypted session: {detail}")


class EncryptionUnavailableError(UnsupportedError):
    """The encrypted session was asked for (`encryption="on"`), and the device does not offer
    it: it refused the negotiation, or never answered it. `ret` is the refusal's Ret code, 0
    when there was none."""

    def __init__(self, detail: str, *, ret: int = 0, message_id: int | None = None) -> None:
        self.ret = ret
        self.message_id = message_id
        self.context = detail
        XMCamError.__init__(self, f"the camera does not offer the encrypted session: {detail}")


class InvalidRequestError(DeviceError):
    """The device could not parse or accept the request."""


class TransportError(XMCamError):
    """The network failed: refused, reset, closed or silent. Not a protocol error."""


class ConnectionClosedError(TransportError):
    """The peer closed the connection, or it was closed locally."""


class RequestTimeoutError(TransportError, TimeoutError):
    """No reply came before the deadline. The connection is desynchronised after this."""


class StateError(XMCamError):
    """The caller asked for something the connection's current state does not allow.

    For example a second request while one is outstanding, or a command before login.
    This is a programming error on our side of the wire, never the peer's fault.
    """


# Ret code -> class. The numbers are xmcam.protocol.codes.Ret members (named in comments).
_CLASS_FOR_RET: dict[int, type[DeviceError]] = {
    106: AuthenticationError,  # BAD_CREDENTIALS
    203: AuthenticationError,  # WRONG_PASSWORD
    204: AuthenticationError,  # ILLEGAL_USER
    206: AuthenticationError,  # USER_BLACKLISTED
    # 205 is "user locked" in the vendor table; Besder firmware answers it for a wrong user
    # name (docs/protocol.md §5). Either way the right reaction is the same: stop trying.
    205: AccountLockedError,  # USER_LOCKED
    105: NotLoggedInError,  # NOT_LOGGED_IN
    202: NotLoggedInError,  # LOGIN_NOT_LOGGED_IN
    107: PermissionDeniedError,  # NO_PERMISSION
    102: UnsupportedError,  # UNSUPPORTED_VERSION
    605: UnsupportedError,  # FEATURE_NOT_SUPPORTED
    502: UnsupportedError,  # ILLEGAL_COMMAND
    607: ConfigNotFoundError,  # CONFIG_NOT_FOUND
    103: InvalidRequestError,  # ILLEGAL_REQUEST
    117: InvalidRequestError,  # MESSAGE_FORMAT_ERROR
    208: InvalidRequestError,  # ILLEGAL_INPUT
    608: InvalidRequestError,  # CONFIG_PARSE_ERROR
}


def error_for_ret(ret: int, *, message_id: int | None = None, context: str = "") -> DeviceError:
    """The exception for a failure Ret code, of the most specific class known for it.

    >>> error_for_ret(203)
    AuthenticationError('Ret 203 (wrong password)')
    """
    kind = _CLASS_FOR_RET.get(ret, DeviceError)
    if ret == _USER_NOT_FOUND and message_id in _LOGIN_IDS:
        # "User does not exist" refuses a login; elsewhere (deleting a user) it is a plain
        # device error, not a reason to stop trying to log in.
        kind = AuthenticationError
    return kind(ret, message_id=message_id, context=context)


_USER_NOT_FOUND = 113
_LOGIN_IDS = frozenset({1000, 1001})  # LOGIN_REQ, LOGIN_RSP
