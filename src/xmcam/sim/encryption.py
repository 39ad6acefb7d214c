"""The simulated device's side of the encrypted FunSDK session (docs/protocol.md §6.3), sans I/O.

A profile's `encryption` object says whether the device speaks it:

- `"mode"`: `"off"` (older firmware: the negotiation is refused as a claim of a session that
  does not exist, Ret 103, and the connection stays open; a 1010 gets what requests before a
  login get), `"optional"` (both kinds of session), or `"required"`
  (V5.06.R02 and later: only the encrypted session logs in);
- `"negotiation_reply"`: the members of the 1414 answer besides the per-connection
  `PublicKey`, `NotEncryptMsgID` and `Ret` (Bits, CommunicateBits, EncryptAlgo, ...);
- `"encryption_info"`: the members of the 1011 answer to the 1010 probe (the same, in clear,
  as [AND]'s camera answered it);
- `"not_encrypted"`: the ids left in clear (default: the list [AND]'s camera and [EQU]'s
  capture show).

Every connection gets a fresh RSA key, made when it first needs one (real cameras rotate it:
[AND] saw two probes seconds apart get two moduli). How a device that requires the session
treats the rest: a plain login gets a 1001 with no JSON in it (the reply that go2rtc, which
drops a body's last two bytes, reports as "unexpected end of JSON input": AlexxIT/go2rtc#2246);
a request in clear for an id that is encrypted in the session is dropped, as firmware that
ignores third-party commands does (dbuezas/icsee-ptz#66).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Final

from xmcam.protocol import (
    DEVICE_TERMINATOR,
    DEVICE_VERSION,
    DeviceConnection,
    DeviceKeyPair,
    LoginRequest,
    MessageId,
    Request,
    Ret,
    encode_frame,
)
from xmcam.protocol.crypto import NOT_ENCRYPTED_IDS, offer_body

__all__ = [
    "EncryptionMode",
    "EncryptionSettings",
    "SessionKeys",
    "parse_encryption_settings",
    "plain_login_ignored",
]


class EncryptionMode(enum.Enum):
    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


# The 1414 of [EQU]'s capture and docs/protocol.md §6.3: what a profile without its own sends.
DEFAULT_NEGOTIATION_REPLY: Final[dict[str, Any]] = {
    "Bits": 1024,
    "CommunicateBits": 128,
    "CommunicateEncryptAlgo": "AES",
    "DataEncryptionType": {"AES": True, "AESV2": True, "VEKEY1": True},
    "EncryptAlgo": "RSA_V1.5",
    "LoginEncryptionType": {"MD5": True, "NONE": True, "RSA": True},
}
# [AND]'s 1011, probed on a real camera.
DEFAULT_ENCRYPTION_INFO: Final[dict[str, Any]] = {
    "Bits": 1024,
    "CommunicateBits": 128,
    "CommunicateEncryptAlgo": "AES",
    "EncryptAlgo": "RSA_V1.5",
}
_KEY_BITS: Final = (1024, 2048)


@dataclass(frozen=True, slots=True)
class EncryptionSettings:
    mode: EncryptionMode = EncryptionMode.OFF
    negotiation_reply: dict[str, Any] = field(
        default_factory=lambda: dict(DEFAULT_NEGOTIATION_REPLY)
    )
    encryption_info: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_ENCRYPTION_INFO))
    not_encrypted: frozenset[int] = NOT_ENCRYPTED_IDS
    key_bits: int = 1024

    @property
    def offered(self) -> bool:
        return self.mode is not EncryptionMode.OFF

    @property
    def required(self) -> bool:
        return self.mode is EncryptionMode.REQUIRED

    def with_mode(self, mode: EncryptionMode) -> EncryptionSettings:
        return EncryptionSettings(
            mode, self.negotiation_reply, self.encryption_info, self.not_encrypted, self.key_bits
        )


def parse_encryption_settings(raw: object) -> EncryptionSettings:
    """A profile's `encryption` object, checked. Raises ValueError in one line."""
    if not isinstance(raw, dict):
        raise ValueError("encryption must be a JSON object")
    fields: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "mode":
            modes = {mode.value: mode for mode in EncryptionMode}
            if value not in modes:
                raise ValueError(f"encryption.mode must be one of {', '.join(modes)}")
            fields["mode"] = modes[value]
        elif key in ("negotiation_reply", "encryption_info"):
            if not isinstance(value, dict) or "PublicKey" in value:
                raise ValueError(f"encryption.{key} must be an object without a PublicKey")
            fields[key] = value
        elif key == "not_encrypted":
            if not isinstance(value, list) or not all(
                type(item) is int and 0 <= item <= 0xFFFF for item in value
            ):
                raise ValueError("encryption.not_encrypted must be a list of message ids")
            fields[key] = frozenset(value)
        elif key == "key_bits":
            if value not in _KEY_BITS:
                raise ValueError(f"encryption.key_bits must be one of {_KEY_BITS}")
            fields[key] = value
        else:
            raise ValueError(f"unknown encryption setting {key!r}")
    return EncryptionSettings(**fields)


class SessionKeys:
    """One connection's part of the encrypted session: its RSA key, made on first use, and
    the answers to the negotiation (1413 → 1414) and the probe (1010 → 1011)."""

    __slots__ = ("_key_pair", "settings")

    def __init__(self, settings: EncryptionSettings) -> None:
        self.settings = settings
        self._key_pair: DeviceKeyPair | None = None

    @property
    def key_pair(self) -> DeviceKeyPair:
        if self._key_pair is None:
            self._key_pair = DeviceKeyPair.generate(self.settings.key_bits)
        return self._key_pair

    def answer(self, protocol: DeviceConnection, request: Request) -> bytes | None:
        """The answer to a request before login that belongs to the encrypted session, or
        None when the request is not one (or the device does not offer the session)."""
        settings = self.settings
        if not settings.offered:
            if request.is_negotiation and not request.authenticated:
                # Older firmware takes it for a claim of a session that does not exist and
                # refuses it; the connection stays open for the plain login that follows.
                return protocol.reply_verbatim(
                    request, {"Name": "OPMonitor", "Ret": Ret.ILLEGAL_REQUEST}, session_id=0
                )
            return None
        if request.is_negotiation:
            return protocol.accept_negotiation(
                request,
                self.key_pair,
                settings.negotiation_reply,
                not_encrypted=settings.not_encrypted,
            )
        if request.message_id == MessageId.ENCRYPTION_INFO_REQ:
            body = offer_body(
                settings.encryption_info, self.key_pair.public, settings.not_encrypted
            )
            return protocol.reply_verbatim(request, body, session_id=0)
        return None


def plain_login_ignored(request: LoginRequest, terminator: bytes = DEVICE_TERMINATOR) -> bytes:
    """What a device that requires the encrypted session answers a plain login with: a 1001
    with no JSON at all, only the terminator."""
    return encode_frame(
        MessageId.LOGIN_RSP,
        terminator,
        session_id=0,
        sequence=request.frame.sequence,
        version=DEVICE_VERSION,
    )
