"""Property-based tests (Hypothesis) for the decrypting readers of the encrypted session, as
test_properties.py has for the plain ones.

1. The body readers (`test_open_*`): any payload, random, base64 of random bytes, or a good
   sealed body mutated, either opens to a JSON object or raises EncryptedBodyError; and what
   `seal()` writes, `open()` reads back exactly.
2. The key readers (`test_*_key_*`, `test_rsa_block_*`): any text as a device's PublicKey or
   as a login's RSA block raises EncryptedBodyError or gives a usable key or block.
3. The connections (`test_*_in_an_encrypted_session_only_protocol_errors`): a client waiting
   for the negotiation's answer, or logged in to an encrypted session, and a device that
   answered a negotiation or accepted an encrypted login, turn any bytes (hostile frames
   among sealed good ones, cut anywhere) into events or a ProtocolError, nothing else.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any, Final

from hypothesis import example, given
from hypothesis import strategies as st

from tests.protocol.test_properties import (
    CLIENT_EVENT_TYPES,
    SMALL_LIMITS,
    cut_points,
    mutated,
    pieces,
    receive_hostile,
)
from xmcam.errors import EncryptedBodyError
from xmcam.protocol import (
    ClientConnection,
    DeviceConnection,
    DeviceKeyPair,
    LoginRequest,
    NegotiationReply,
    Request,
    SessionCipher,
    decode_body,
    encode_body,
    encode_frame,
)
from xmcam.protocol.crypto import DevicePublicKey, bootstrap_cipher, encrypted_login_plaintext
from xmcam.protocol.header import FUNSDK_MARKER

KEY: Final = bytes(range(16))
SESSION: Final = SessionCipher(KEY)
_KEY_PAIRS: list[DeviceKeyPair] = []


def key_pair() -> DeviceKeyPair:
    """One key for the whole module: making one costs tens of milliseconds."""
    if not _KEY_PAIRS:
        _KEY_PAIRS.append(DeviceKeyPair.generate())
    return _KEY_PAIRS[0]


json_objects = st.dictionaries(
    st.text(max_size=8),
    st.one_of(st.integers(-(2**31), 2**31), st.text(max_size=16), st.booleans(), st.none()),
    max_size=6,
)
sealed_bodies = json_objects.map(lambda obj: SESSION.seal(encode_body(obj)))
payloads = st.one_of(
    st.binary(max_size=200),
    st.binary(max_size=120).map(base64.b64encode),
    st.binary(max_size=120).map(lambda raw: base64.b64encode(raw) + b"\x00"),
    sealed_bodies,
    sealed_bodies.flatmap(mutated),
)


# --- 1. the body readers ------------------------------------------------------------------


@given(payloads)
@example(b"")
@example(b"====")
@example(base64.b64encode(bytes(16)))
def test_open_only_encrypted_body_errors(payload: bytes) -> None:
    for reader in (SESSION, bootstrap_cipher()):
        message = refusal(functools.partial(reader.open_body, payload, "the body", SMALL_LIMITS))
        assert "\n" not in message
        assert KEY.hex() not in message


def refusal(read: Callable[[], object]) -> str:
    """The message of the EncryptedBodyError `read()` raised ("" when it read a JSON object);
    any other exception propagates."""
    try:
        body = read()
    except EncryptedBodyError as error:
        return str(error)
    assert isinstance(getattr(body, "data", None), dict)
    return ""


@given(json_objects)
def test_open_reads_back_what_seal_wrote(obj: dict[str, Any]) -> None:
    text = encode_body(obj)
    assert SESSION.open(SESSION.seal(text), "x") == text
    assert SESSION.open_body(SESSION.seal(text), "x").data == decode_body(text).data


# --- 2. the key readers -------------------------------------------------------------------

hex_text = st.text(alphabet="0123456789abcdefABCDEF", max_size=300)


@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(lambda m, e: f"{m},{e}", hex_text, hex_text),
        st.builds(lambda m, e: f"{m},{e}", hex_text, st.text(max_size=20)),
        st.integers(),
        st.none(),
    )
)
def test_any_public_key_text_is_read_or_refused(text: object) -> None:
    try:
        key = DevicePublicKey.parse(text)
    except EncryptedBodyError:
        return
    assert 512 <= key.bits <= 4096
    assert key.exponent % 2 == 1
    assert DevicePublicKey.parse(key.text) == key


@given(st.one_of(st.text(max_size=300), hex_text, st.binary(min_size=128, max_size=128)))
def test_rsa_block_readers_only_encrypted_body_errors(raw: object) -> None:
    text = raw.hex() if isinstance(raw, bytes) else raw
    try:
        plain = key_pair().decrypt_hex(text, "the block")
    except EncryptedBodyError:
        return
    # A block whose padding is wrong decrypts to random bytes (implicit rejection).
    assert isinstance(plain, bytes)


# --- 3. the connections -------------------------------------------------------------------

CLIENT_IDS: Final = [1001, 1007, 1021, 1414, 1504, 1412, 1043]


@st.composite
def encrypted_device_streams(draw: st.DrawFn) -> bytes:
    """What a device sends in an encrypted session: sealed replies and pushes, some bodies
    in clear, some mutated, media, and now and then a bad frame."""
    packets: list[bytes] = []
    for _ in range(draw(st.integers(1, 5))):
        message_id = draw(st.sampled_from(CLIENT_IDS))
        body = encode_body(draw(json_objects), b"\n\x00")
        kind = draw(st.sampled_from(["sealed", "sealed", "clear", "mutated", "random"]))
        if kind == "sealed":
            payload = SESSION.seal(body)
        elif kind == "clear":
            payload = body
        elif kind == "mutated":
            payload = draw(mutated(SESSION.seal(body)))
        else:
            payload = draw(st.binary(max_size=64))
        packets.append(encode_frame(message_id, payload, session_id=7, version=1))
    return b"".join(packets)


def hostile(receive: Callable[[bytes], list[Any]], data: bytes, draw: st.DataObject) -> None:
    receive_hostile(receive, pieces(data, draw.draw(cut_points(len(data)))))


def checked(connection: ClientConnection) -> Callable[[bytes], list[Any]]:
    def receive(chunk: bytes) -> list[Any]:
        events = connection.receive_data(chunk)
        assert all(isinstance(event, CLIENT_EVENT_TYPES) for event in events)
        return list(events)

    return receive


@given(encrypted_device_streams(), st.booleans(), st.data())
def test_a_client_in_an_encrypted_session_only_protocol_errors(
    data: bytes, waiting: bool, draw: st.DataObject
) -> None:
    client = ClientConnection.for_session(7, session_cipher=SESSION, limits=SMALL_LIMITS)
    if waiting:
        client.request(1006, {"Name": "KeepAlive"})
    hostile(checked(client), data, draw)


negotiation_answers = st.one_of(
    json_objects.map(lambda obj: bootstrap_cipher().seal(encode_body(obj))),
    st.just(b'{ "PublicKey" : "x" }').map(bootstrap_cipher().seal).flatmap(mutated),
    st.binary(max_size=120).map(base64.b64encode),
    st.binary(max_size=64),
    st.just(b'{ "Name" : "OPMonitor", "Ret" : 103 }\n\x00'),
)


@given(negotiation_answers, st.data())
def test_a_client_awaiting_the_negotiation_only_protocol_errors(
    payload: bytes, draw: st.DataObject
) -> None:
    client = ClientConnection(limits=SMALL_LIMITS)
    client.negotiate()
    data = encode_frame(1414, payload, session_id=99999, version=1)

    def receive(chunk: bytes) -> list[Any]:
        events = client.receive_data(chunk)
        assert all(isinstance(event, NegotiationReply) for event in events)
        return list(events)

    hostile(receive, data, draw)


@st.composite
def encrypted_client_streams(draw: st.DrawFn) -> bytes:
    """What a client sends once it has negotiated: encrypted logins (good, mutated, or under
    the bootstrap key but garbage) and sealed or clear requests."""
    packets: list[bytes] = []
    public = key_pair().public
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["login", "bad login", "request", "mutated", "clear"]))
        if kind in ("login", "bad login"):
            text = encrypted_login_plaintext(
                public.encrypt_hex(b"admin"),
                public.encrypt_hex(b"tlJwpbo6"),
                public.encrypt_hex(KEY),
            )
            if kind == "bad login":
                text = draw(mutated(text))
            packets.append(
                encode_frame(1000, bootstrap_cipher().seal(text), total_packets=FUNSDK_MARKER)
            )
            continue
        body = encode_body(draw(json_objects))
        payload = {
            "request": SESSION.seal(body),
            "mutated": draw(mutated(SESSION.seal(body))),
            "clear": body,
        }[kind]
        packets.append(
            encode_frame(draw(st.sampled_from([1006, 1020, 1400])), payload, session_id=7)
        )
    return b"".join(packets)


@given(encrypted_client_streams(), st.booleans(), st.data())
def test_a_device_in_an_encrypted_session_only_protocol_errors(
    data: bytes, accept: bool, draw: st.DataObject
) -> None:
    device = DeviceConnection(limits=SMALL_LIMITS)
    (negotiation,) = device.receive_data(
        encode_frame(1413, b'{ "Name" : "OPMonitor" }\n', session_id=99999)
    )
    assert isinstance(negotiation, Request)
    device.accept_negotiation(negotiation, key_pair(), {"Bits": 1024})

    def receive(chunk: bytes) -> list[Any]:
        events = device.receive_data(chunk)
        for event in events:
            assert isinstance(event, LoginRequest | Request)
            if isinstance(event, LoginRequest) and accept:
                device.accept_login(event, 7, {"Ret": 100})
        return list(events)

    hostile(receive, data, draw)


@given(st.lists(st.binary(max_size=80), min_size=1, max_size=6))
def test_a_long_lived_context_seals_as_fresh_zero_iv_ones_do(plaintexts: list[bytes]) -> None:
    """One SessionCipher's contexts go on from message to message; every body must still
    come out as a new zero-IV context would make it, and open as one would."""
    chained = SessionCipher(KEY)
    for plaintext in plaintexts:
        assert chained.seal(plaintext) == SessionCipher(KEY).seal(plaintext)
    for plaintext in plaintexts:
        sealed = SessionCipher(KEY).seal(b"{" + plaintext)
        assert chained.open(sealed, "x") == (b"{" + plaintext).rstrip(b"\x00")
