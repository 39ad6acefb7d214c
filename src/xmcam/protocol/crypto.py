"""The encrypted FunSDK session of newer firmware (V5.06.R02 and later), sans I/O, both roles.

Theory of operation (docs/protocol.md §6.3; [AND], [HRX], and [EQU]'s captures, which decrypt
with the key below):

1. **Negotiation.** Before logging in, the client sends a 1413 (an OPMonitor claim body) with
   session 99999 in the header and FunSDK's 0x63 marker in byte 12. A device that offers the
   encrypted session answers 1414 with base64(AES-128-CBC(bootstrap key, zero IV, JSON and NUL
   padding)) and one NUL. Inside are its RSA public key for this connection
   (`"<hex modulus>,<hex exponent>"`) and `NotEncryptMsgID`, the message ids that stay in clear.
2. **Login.** The 1000 carries the 0x63 marker too. UserName, PassWord (the Sofia hash) and
   CommunicateKey (16 fresh random bytes) are each RSA-encrypted (PKCS#1 v1.5) under the
   device's key and written as upper-case hex; the JSON, in the official app's compact form,
   is wrapped like the 1414. The reply (1001) comes in clear.
3. **Session.** From then on every message whose id is not in `NotEncryptMsgID` travels, in
   both directions, as base64(AES-128-CBC(CommunicateKey, zero IV, JSON and NUL padding)) and
   one NUL. Binary payloads (media, talk, snapshots, exports) are never touched.

The zero IV and the fixed bootstrap key are the protocol's, not choices made here, and nothing
authenticates the device's key: the session keeps the password hash and the bodies from a
passive listener, not from an active man in the middle.

The `cryptography` package does the AES and RSA. It is imported the first time a session
needs it (`_primitives()`), never when this module is imported: `import xmcam` stays
standard-library only and a plain session never loads it. Every reader here raises
EncryptedBodyError (a ProtocolError) and nothing else for bad input, and no message holds a
key, a plaintext or a ciphertext.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Final

from xmcam.errors import EncryptedBodyError, PayloadError
from xmcam.protocol.codes import MEDIA_MESSAGE_IDS, MessageId, message_name
from xmcam.protocol.framing import Frame
from xmcam.protocol.header import DEFAULT_LIMITS, Header, Limits
from xmcam.protocol.payload import Body, decode_body

__all__ = [
    "BOOTSTRAP_KEY",
    "COMMUNICATE_KEY_SIZE",
    "FUNSDK_LOGIN_TYPE",
    "NEGOTIATION_SESSION_ID",
    "NOT_ENCRYPTED_IDS",
    "DeviceKeyPair",
    "DevicePublicKey",
    "EncryptedLogin",
    "EncryptionOffer",
    "SessionCipher",
    "bootstrap_cipher",
    "encrypted_login_plaintext",
    "is_sealed",
    "negotiation_body",
    "new_communicate_key",
    "offer_body",
    "read_encrypted_login",
    "read_offer",
    "with_payload",
]

BOOTSTRAP_KEY: Final = b"dashoiahfarqdasr"
"""FunSDK's fixed AES key for the 1414 answer and the login ([HRX]; [AND]'s `xmcloud.cpp`)."""

NEGOTIATION_SESSION_ID: Final = 99999
"""The header session of the pre-login 1413 (0x1869F, [HRX]; [EQU] sees it as 0x0001869F)."""

FUNSDK_LOGIN_TYPE: Final = "DVRIP-Xm030"
"""The LoginType of the official app's encrypted login ([EQU]'s capture decrypts to it)."""

COMMUNICATE_KEY_SIZE: Final = 16
"""The session key: AES-128 (`CommunicateBits` 128)."""

NOT_ENCRYPTED_IDS: Final[frozenset[int]] = frozenset(
    {1000, 1001, 1008, 1009, 1010, 1011, 1050, 1054, 1412, 1413, 1414, 1422, 1424, 1425,
     1426, 1432, 1433, 1434, 1435, 1449, 1522, 1572, 1576, 1580, 1582, 1645, 2062, 2063,
     2123, 2140, 3016, 3502}
)  # fmt: skip
"""`NotEncryptMsgID` as [AND]'s camera and [EQU]'s decrypted 1414 list it: used when a
device's answer has no list of its own."""

# Binary payloads stay as they are whatever the list says: media and talk data, a snapshot's
# JPEG (1561), the config and log exports' zip (1543, 1545).
_ALWAYS_CLEAR: Final = MEDIA_MESSAGE_IDS | {MessageId.CONFIG_EXPORT_RSP, MessageId.LOG_EXPORT_RSP}

_BLOCK: Final = 16
_ZERO_IV: Final = bytes(_BLOCK)
_BASE64_BYTES: Final = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
)
_LEADING_BLANKS: Final = b"\x00 \t\r\n"
_MIN_RSA_BITS: Final = 512  # room for PKCS#1 v1.5 padding around a 16-byte key and a name
_MAX_RSA_BITS: Final = 4096  # bounds the client's work on a hostile key
_MAX_EXPONENT_DIGITS: Final = 16
_MAX_CLEAR_IDS: Final = 4096


@functools.cache
def _primitives() -> SimpleNamespace:
    """The `cryptography` objects the session uses, imported on first use only."""
    try:
        from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: PLC0415
        from cryptography.hazmat.primitives.ciphers import (  # noqa: PLC0415
            Cipher,
            algorithms,
            modes,
        )
    except ImportError:
        raise ImportError(
            "the encrypted session needs the 'cryptography' package (pip install cryptography)"
        ) from None
    return SimpleNamespace(
        Cipher=Cipher,
        AES=algorithms.AES,
        CBC=modes.CBC,
        pkcs1v15=padding.PKCS1v15(),
        rsa=rsa,
    )


def is_sealed(payload: bytes) -> bool:
    """Whether a body is encrypted (base64 text) rather than JSON. JSON starts with `{` (or
    `"` when double-encoded), neither of which base64 uses."""
    text = payload.lstrip(_LEADING_BLANKS)
    return bool(text) and text[0] in _BASE64_BYTES


class _AesKey:
    """AES-128-CBC with a zero IV under one key, and the session's framing of bodies."""

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes) -> None:
        if len(key) != COMMUNICATE_KEY_SIZE:
            raise ValueError(f"an AES-128 key has {COMMUNICATE_KEY_SIZE} bytes, not {len(key)}")
        tools = _primitives()
        self._cipher = tools.Cipher(tools.AES(key), tools.CBC(_ZERO_IV))

    def __repr__(self) -> str:  # the key itself never reaches a log
        return f"{type(self).__name__}(<key hidden>)"

    def encrypt(self, data: bytes) -> bytes:
        """Raw CBC over whole blocks."""
        encryptor = self._cipher.encryptor()
        sealed: bytes = encryptor.update(data) + encryptor.finalize()
        return sealed

    def decrypt(self, data: bytes) -> bytes:
        """Raw CBC over whole blocks."""
        decryptor = self._cipher.decryptor()
        plain: bytes = decryptor.update(data) + decryptor.finalize()
        return plain

    def seal(self, plaintext: bytes) -> bytes:
        """A body as the session sends it: the plaintext and 1 to 16 NULs up to a whole
        block, encrypted, base64, one NUL."""
        padded = plaintext + bytes(_BLOCK - len(plaintext) % _BLOCK)
        return base64.b64encode(self.encrypt(padded)) + b"\x00"

    def open(self, payload: bytes, what: str) -> bytes:
        """The plaintext of a sealed body, its NUL padding removed. Raises EncryptedBodyError."""
        text = payload.strip(b"\x00 \t\r\n")
        if not text:
            raise EncryptedBodyError(f"{what} is empty")
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise EncryptedBodyError(f"{what} is not base64") from None
        if not raw or len(raw) % _BLOCK:
            raise EncryptedBodyError(
                f"{what} holds {len(raw)} bytes, not a whole number of {_BLOCK}-byte AES blocks"
            )
        plain = self.decrypt(raw)
        if plain[-1] != 0:
            raise EncryptedBodyError(
                f"{what} does not end in NUL padding once decrypted (another key or cipher)"
            )
        plain = plain.rstrip(b"\x00")
        if plain[:1] != b"{" and plain.lstrip(b" \t\r\n")[:1] != b"{":
            raise EncryptedBodyError(f"{what} decrypts to garbage, not a JSON object")
        return plain

    def open_body(self, payload: bytes, what: str, limits: Limits = DEFAULT_LIMITS) -> Body:
        """A sealed body, decrypted and read as JSON. Raises EncryptedBodyError."""
        plain = self.open(payload, what)
        try:
            return decode_body(plain, limits)
        except PayloadError as error:
            raise EncryptedBodyError(f"{what} decrypts to garbage ({error})") from None


@functools.cache
def bootstrap_cipher() -> _AesKey:
    """The cipher of the fixed bootstrap key (the 1414 answer and the encrypted login)."""
    return _AesKey(BOOTSTRAP_KEY)


class SessionCipher(_AesKey):
    """The session's cipher after an encrypted login: the CommunicateKey, and the ids that
    stay in clear (the device's `NotEncryptMsgID`, and binary payloads always).

    Every message starts its CBC chain from a zero IV. Making a new OpenSSL context for each
    one costs more than the AES itself (bench/encrypted_session.py), so one context per
    direction lives as long as the cipher and goes on from the last ciphertext block it
    handled; XORing that block into the first plaintext block (before encrypting, or after
    decrypting) gives exactly what a fresh zero-IV context would. One cipher serves one
    connection, from one thread at a time: give another connection its own (`copy()`)."""

    __slots__ = ("_decryptor", "_encryptor", "_key", "_last_in", "_last_out", "clear_ids")

    def __init__(self, key: bytes, not_encrypted: Iterable[int] = NOT_ENCRYPTED_IDS) -> None:
        super().__init__(key)
        self._key = key
        self.clear_ids: frozenset[int] = frozenset(not_encrypted) | _ALWAYS_CLEAR
        self._encryptor = self._cipher.encryptor()
        self._decryptor = self._cipher.decryptor()
        self._last_out = 0  # the last ciphertext block each context handled, as a number
        self._last_in = 0

    def __repr__(self) -> str:
        return f"SessionCipher(<key hidden>, {len(self.clear_ids)} ids in clear)"

    def copy(self) -> SessionCipher:
        """The same key and ids in clear, with contexts of its own (for another connection)."""
        return SessionCipher(self._key, self.clear_ids)

    def encrypt(self, data: bytes) -> bytes:
        """Raw CBC with a zero IV over whole blocks."""
        if not data or len(data) % _BLOCK:
            raise ValueError(f"{len(data)} bytes are not whole AES blocks")
        head = int.from_bytes(data[:_BLOCK], "big") ^ self._last_out
        sealed: bytes = self._encryptor.update(head.to_bytes(_BLOCK, "big") + data[_BLOCK:])
        self._last_out = int.from_bytes(sealed[-_BLOCK:], "big")
        return sealed

    def decrypt(self, data: bytes) -> bytes:
        """Raw CBC with a zero IV over whole blocks."""
        if not data or len(data) % _BLOCK:
            raise ValueError(f"{len(data)} bytes are not whole AES blocks")
        plain: bytes = self._decryptor.update(data)
        head = int.from_bytes(plain[:_BLOCK], "big") ^ self._last_in
        self._last_in = int.from_bytes(data[-_BLOCK:], "big")
        return head.to_bytes(_BLOCK, "big") + plain[_BLOCK:]

    def encrypts(self, message_id: int) -> bool:
        """Whether messages with this id are encrypted in this session."""
        return message_id not in self.clear_ids

    def open_frame(self, frame: Frame) -> Frame:
        """The frame with its body decrypted. Raises EncryptedBodyError, also for a body that
        came in clear although its id is encrypted in this session."""
        payload = frame.payload
        if not is_sealed(payload):
            name = _name(frame.header.message_id)
            raise EncryptedBodyError(f"{name} came in clear inside an encrypted session")
        try:
            plain = self.open(payload, "")
        except EncryptedBodyError as error:  # named only now: the usual frame needs no name
            message = f"{_name(frame.header.message_id)}{error}"
            raise EncryptedBodyError(message) from None
        return with_payload(frame, plain)


def with_payload(frame: Frame, payload: bytes) -> Frame:
    """The same frame with another payload (its decrypted body)."""
    header = frame.header
    return Frame(Header(header.message_id, len(payload), *header[2:]), payload, frame.parts)


def _name(message_id: int) -> str:
    return f"the {message_name(message_id)} body"


# ------------------------------------------------------------------------------ RSA keys


class DevicePublicKey:
    """The device's RSA public key for one connection, as a 1414 (or 1011) names it:
    `"<hex modulus>,<hex exponent>"`. Bounded and checked on reading: a hostile key costs a
    client no more than a 4096-bit encryption."""

    __slots__ = ("_key", "exponent", "modulus")

    def __init__(self, modulus: int, exponent: int) -> None:
        self.modulus = modulus
        self.exponent = exponent
        self._key: Any = None

    def __repr__(self) -> str:
        return f"DevicePublicKey({self.bits} bits)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DevicePublicKey):
            return NotImplemented
        return (self.modulus, self.exponent) == (other.modulus, other.exponent)

    def __hash__(self) -> int:
        return hash((self.modulus, self.exponent))

    @property
    def bits(self) -> int:
        return self.modulus.bit_length()

    @property
    def size(self) -> int:
        """The length of one encrypted block in bytes."""
        return (self.bits + 7) // 8

    @property
    def text(self) -> str:
        """The key as devices write it: the modulus in upper-case hex, a comma, the exponent
        (`010001`)."""
        return f"{self.modulus:0{self.size * 2}X},{self.exponent:06X}"

    @classmethod
    def parse(cls, text: object) -> DevicePublicKey:
        """Read a device's `PublicKey`. Raises EncryptedBodyError."""
        if not isinstance(text, str):
            raise EncryptedBodyError("the device's PublicKey is missing or not text")
        modulus_hex, comma, exponent_hex = text.strip().partition(",")
        modulus_hex = modulus_hex.strip()
        exponent_hex = exponent_hex.strip()
        if not comma or not _is_hex(modulus_hex) or not _is_hex(exponent_hex):
            raise EncryptedBodyError("the device's PublicKey is not '<hex modulus>,<hex exponent>'")
        if len(modulus_hex) > _MAX_RSA_BITS // 4 or len(exponent_hex) > _MAX_EXPONENT_DIGITS:
            raise EncryptedBodyError(f"the device's PublicKey is over {_MAX_RSA_BITS} bits")
        modulus = int(modulus_hex, 16)
        exponent = int(exponent_hex, 16)
        if modulus.bit_length() < _MIN_RSA_BITS or modulus % 2 == 0:
            raise EncryptedBodyError(
                f"the device's PublicKey is not an RSA key of {_MIN_RSA_BITS} bits or more"
            )
        if exponent < 3 or exponent % 2 == 0:  # under the bounds above, always < modulus
            raise EncryptedBodyError("the device's PublicKey has an unusable exponent")
        return cls(modulus, exponent)

    def encrypt_hex(self, data: bytes) -> str:
        """`data` RSA-encrypted (PKCS#1 v1.5) under this key, as upper-case hex. Raises
        ValueError when `data` is too long for the key (a user name of over 100 bytes)."""
        room = self.size - 11
        if len(data) > room:
            raise ValueError(f"{len(data)} bytes do not fit in one block of this key ({room})")
        if self._key is None:
            tools = _primitives()
            self._key = tools.rsa.RSAPublicNumbers(self.exponent, self.modulus).public_key()
        sealed: bytes = self._key.encrypt(data, _primitives().pkcs1v15)
        return sealed.hex().upper()


def _is_hex(text: str) -> bool:
    return bool(text) and text.isascii() and all(char in "0123456789abcdefABCDEF" for char in text)


class DeviceKeyPair:
    """The device role's RSA key for one connection (the simulator makes a fresh one for
    every connection, as [AND] saw real cameras do). The private half never leaves it."""

    __slots__ = ("_private", "public")

    def __init__(self, private_key: Any) -> None:
        numbers = private_key.public_key().public_numbers()
        self._private = private_key
        self.public = DevicePublicKey(numbers.n, numbers.e)

    def __repr__(self) -> str:  # the private key never reaches a log
        return f"DeviceKeyPair({self.public.bits} bits, <private key hidden>)"

    @classmethod
    def generate(cls, bits: int = 1024) -> DeviceKeyPair:
        """A new key pair, exponent 65537 (`010001`), 1024 bits as the cameras use."""
        return cls(_primitives().rsa.generate_private_key(public_exponent=65537, key_size=bits))

    def decrypt_hex(self, text: object, what: str) -> bytes:
        """An upper- or lower-case hex RSA block decrypted. Raises EncryptedBodyError.

        OpenSSL's PKCS#1 v1.5 decryption answers a block whose padding is wrong with random
        bytes instead of an error (implicit rejection, against padding oracles): callers
        check what comes out (a 16-byte key, text for a name)."""
        size = self.public.size
        if not isinstance(text, str) or len(text) != 2 * size or not _is_hex(text):
            raise EncryptedBodyError(f"{what} is not {size * 2} hex digits (one RSA block)")
        try:
            plain: bytes = self._private.decrypt(bytes.fromhex(text), _primitives().pkcs1v15)
        except ValueError:
            raise EncryptedBodyError(
                f"{what} does not decrypt with this connection's key"
            ) from None
        return plain


# ------------------------------------------------------------------------ the negotiation


def negotiation_body() -> dict[str, Any]:
    """The body of the pre-login 1413: an OPMonitor claim naming session 0x1 ([HRX])."""
    parameter = {
        "Channel": 0,
        "CombinMode": "CONNECT_ALL",
        "StreamType": "Main",
        "TransMode": "TCP",
    }
    return {
        "Name": "OPMonitor",
        "OPMonitor": {"Action": "Claim", "Parameter": parameter},
        "SessionID": "0x1",
    }


@dataclass(frozen=True, slots=True)
class EncryptionOffer:
    """What a device offers in its 1414 (or 1011): its key and the ids left in clear."""

    public_key: DevicePublicKey
    not_encrypted: frozenset[int] = NOT_ENCRYPTED_IDS


def read_offer(body: Body) -> EncryptionOffer:
    """The offer in a decrypted 1414 (or a 1011). Raises EncryptedBodyError when the key is
    missing or unusable, or the list of ids in clear is not a list of message ids."""
    key = DevicePublicKey.parse(body.get("PublicKey"))
    raw = body.get("NotEncryptMsgID")
    if raw is None:
        return EncryptionOffer(key)
    if (
        not isinstance(raw, list)
        or len(raw) > _MAX_CLEAR_IDS
        or not all(type(item) is int and 0 <= item <= 0xFFFF for item in raw)
    ):
        raise EncryptedBodyError("the device's NotEncryptMsgID is not a list of message ids")
    return EncryptionOffer(key, frozenset(raw))


def offer_body(
    fields: Mapping[str, Any], key: DevicePublicKey, not_encrypted: Iterable[int]
) -> dict[str, Any]:
    """The device's 1414 (or 1011) body: `fields` (Bits, EncryptAlgo, ...) with this
    connection's key, the ids in clear and Ret 100 unless `fields` has them."""
    body = dict(fields)
    body["PublicKey"] = key.text
    body.setdefault("NotEncryptMsgID", sorted(not_encrypted))
    body.setdefault("Ret", 100)
    return body


# --------------------------------------------------------------------------- the login


def encrypted_login_plaintext(
    user_block: str, password_block: str, key_block: str, login_type: str = FUNSDK_LOGIN_TYPE
) -> bytes:
    """The JSON of an encrypted login, before the bootstrap key wraps it: the three RSA blocks
    as upper-case hex, in the official app's compact form and member order ([EQU]'s capture
    starts `{"EncryptType":"MD5","LoginType":"DVRIP-Xm030","UserName":"745B...`), and `\\n`."""
    body = {
        "EncryptType": "MD5",
        "LoginType": login_type,
        "UserName": user_block,
        "PassWord": password_block,
        "CommunicateKey": key_block,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def new_communicate_key() -> bytes:
    return secrets.token_bytes(COMMUNICATE_KEY_SIZE)


@dataclass(frozen=True, slots=True)
class EncryptedLogin:
    """An encrypted login as the device reads it: the fields in clear."""

    user: str
    password: str
    communicate_key: bytes

    def __repr__(self) -> str:  # neither the hash nor the key reaches a log
        return f"EncryptedLogin(user={self.user!r})"


def read_encrypted_login(body: Body, key_pair: DeviceKeyPair) -> EncryptedLogin:
    """The device side: decrypt an encrypted login's three RSA blocks. Raises
    EncryptedBodyError for a block that does not decrypt to what it should hold."""
    user = _text(key_pair.decrypt_hex(body.get("UserName"), "the login's UserName"), "UserName")
    password = _text(key_pair.decrypt_hex(body.get("PassWord"), "the login's PassWord"), "PassWord")
    key = key_pair.decrypt_hex(body.get("CommunicateKey"), "the login's CommunicateKey")
    if len(key) != COMMUNICATE_KEY_SIZE:
        raise EncryptedBodyError(
            f"the login's CommunicateKey does not decrypt to a {COMMUNICATE_KEY_SIZE}-byte key"
        )
    return EncryptedLogin(user, password, key)


def _text(data: bytes, field: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EncryptedBodyError(f"the login's {field} does not decrypt to text") from None
