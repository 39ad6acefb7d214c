"""Property-based tests (Hypothesis) for the sans-I/O protocol core.

What each property protects:

1. Decoder robustness (`test_decoder_*_only_protocol_errors`): whatever bytes a peer sends,
   random or a valid stream with bytes flipped, inserted or deleted, `FrameDecoder.feed()`
   and `eof()` raise nothing but ProtocolError, a failed decoder keeps raising the same
   error, and a decoder never holds more than one packet's allowance plus the unfinished
   multi-packet messages' (HEADER_SIZE + max_packet_payload + max_message_size).
2. Chunking invariance (`test_decoder_chunking_invariance`): how TCP cuts the stream never
   changes what is decoded. Fed whole, byte by byte, or at random cut points (through a
   reused receive buffer, as a `recv_into` shell does), a stream of valid frames (media,
   FunSDK-marked and multi-packet ones among them) gives exactly the frames that were sent.
3. Body reader robustness (`test_decode_body_*_only_payload_errors`): any payload, random or a
   valid body mutated, either decodes to a JSON object within the size and depth limits or
   raises PayloadError.
4. Body round trip (`test_body_round_trip`): what the device-style writer writes, the lenient
   reader reads back as the same object, value types included, for every terminator real
   firmware puts after the JSON, and reports that terminator.
5. Sofia hash (`test_sofia_hash_*`): always 8 characters of [0-9A-Za-z], for any text,
   lone surrogates included (JSON can carry them); a device holding the hash accepts both
   the hash (MD5) and the clear password (NONE).
6. SessionID spelling (`test_session_id_*`): every style round-trips every 32-bit id, and
   any unreadable value is a PayloadError.
7. Connections (`test_*_connection_only_protocol_errors`): the client (logged in, or waiting
   for a login or request reply) and the device role turn any bytes into events or a
   ProtocolError, nothing else. And (`test_connection_events_do_not_depend_on_chunking`)
   the events before the first ProtocolError, and that error, do not depend on how reads
   cut the stream; after it, every receive raises.

"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Final

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from xmcam.errors import PayloadError, ProtocolError
from xmcam.protocol.auth import password_matches, sofia_hash
from xmcam.protocol.codes import MEDIA_MESSAGE_IDS
from xmcam.protocol.connection import (
    AlarmMessage,
    ClientConnection,
    DeviceConnection,
    ForcedLogout,
    LoginRequest,
    MediaPacket,
    Reply,
    Request,
    UnexpectedFrame,
)
from xmcam.protocol.framing import Frame, FrameDecoder, encode_frame, encode_message
from xmcam.protocol.header import FUNSDK_MARKER, HEADER_SIZE, Header, Limits
from xmcam.protocol.payload import (
    SessionIdStyle,
    decode_body,
    encode_body,
    encode_json,
    format_session_id,
    parse_session_id,
)

# Small limits make the bounds reachable by examples of a few kilobytes.
SMALL_LIMITS: Final = Limits(
    max_packet_payload=4096,
    max_message_size=16384,
    max_pending_messages=4,
    max_json_size=4096,
    max_json_depth=16,
)
# At most one packet being received, plus the parts of unfinished multi-packet messages
# (which all together may hold up to max_message_size).
BUFFER_BOUND: Final = HEADER_SIZE + SMALL_LIMITS.max_packet_payload + SMALL_LIMITS.max_message_size

TERMINATORS: Final = (b"", b"\n", b"\x00", b"\n\x00", b"\n\x00\x00")
MEDIA_IDS: Final = sorted(MEDIA_MESSAGE_IDS)
# Control ids real sessions use, so that examples hit the connections' special cases.
COMMON_IDS: Final = [1000, 1001, 1004, 1006, 1007, 1020, 1021, 1040, 1041, 1042, 1043, 1504]
# What each role receives: replies, pushes and media; requests and talk or upgrade data.
CLIENT_IDS: Final = [1001, 1021, 1504, 1004, 1412, 1007]
DEVICE_IDS: Final = [1000, 1002, 1006, 1020, 1040, 1042, 1432]
CLIENT_EVENT_TYPES: Final = (Reply, AlarmMessage, MediaPacket, ForcedLogout, UnexpectedFrame)
SOFIA_ALPHABET: Final = frozenset(string.digits + string.ascii_letters)

# --- strategies ----------------------------------------------------------------------------

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFF_FFFF)
control_ids = st.one_of(
    st.sampled_from(COMMON_IDS),
    st.integers(0, 0xFFFF).filter(lambda message_id: message_id not in MEDIA_MESSAGE_IDS),
)
any_ids = st.one_of(control_ids, st.sampled_from(MEDIA_IDS))

json_keys = st.text(max_size=10).map(str.strip)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    # `+ 0.0` turns -0.0 into 0.0: the two compare equal, but keep the examples plain.
    st.floats(allow_nan=False, allow_infinity=False).map(lambda number: number + 0.0),
    st.text(max_size=16),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(json_keys, children, max_size=4)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(json_keys, json_values, max_size=6)

# Text made of JSON's own characters reaches the reader's repair and depth paths far more
# often than arbitrary text does.
json_like_text = st.text(alphabet='{}[]",:\\ \n\t\x00truefalsn0123456789.-eE+', max_size=300)


@st.composite
def messages(draw: st.DrawFn) -> tuple[list[bytes], Frame]:
    """One valid message: the packets that carry it and the Frame a decoder must give."""
    kind = draw(st.sampled_from(["media", "control", "multi"]))
    session_id = draw(u32)
    sequence = draw(u32)
    version = draw(u8)
    if kind == "multi":
        message_id = draw(control_ids)
        payload = draw(st.binary(min_size=2, max_size=400))
        # 2 to 40 parts: never one, never FunSDK's 0x63.
        part_size = draw(st.integers(max(1, -(-len(payload) // 40)), len(payload) - 1))
        packets = encode_message(
            message_id,
            payload,
            session_id=session_id,
            sequence=sequence,
            version=version,
            part_size=part_size,
        )
        header = Header(
            message_id,
            len(payload),
            session_id,
            sequence,
            version,
            total_packets=len(packets),
            current_packet=0,
        )
        return packets, Frame(header, payload, parts=len(packets))
    if kind == "media":
        message_id = draw(st.sampled_from(MEDIA_IDS))
        byte12 = draw(u8)  # channel
    else:
        message_id = draw(control_ids)
        byte12 = draw(st.sampled_from([0, 1, FUNSDK_MARKER]))  # never a multi-packet count
    byte13 = draw(u8)
    reserved1 = draw(u8)
    reserved2 = draw(u8)
    payload = draw(st.binary(max_size=200))
    header = Header(
        message_id,
        len(payload),
        session_id,
        sequence,
        version,
        byte12,
        byte13,
        reserved1,
        reserved2,
    )
    return [header.pack() + payload], Frame(header, payload)


def stream_of(message_list: Sequence[tuple[list[bytes], Frame]]) -> bytes:
    return b"".join(packet for packets, _ in message_list for packet in packets)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """`original` with 1 to 4 bytes flipped, overwritten, inserted or deleted."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "insert", "delete"]))
        if kind in ("flip", "set", "delete") and not data:
            kind = "insert"
        if kind == "insert":
            position = draw(st.integers(0, len(data)))
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
            continue
        position = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[position] = draw(u8)
        else:
            del data[position : position + draw(st.integers(1, 8))]
    return bytes(data)


@st.composite
def header_soup(draw: st.DrawFn) -> bytes:
    """Packets with a good head byte and every other field random: lengths over the limit,
    lengths that do not match the data, broken part counts."""
    packets: list[bytes] = []
    for _ in range(draw(st.integers(1, 6))):
        length = draw(
            st.one_of(
                st.integers(0, 64),
                st.integers(0, 2 * SMALL_LIMITS.max_packet_payload),
                u32,
            )
        )
        header = Header(
            draw(any_ids),
            length,
            draw(u32),
            draw(u32),
            draw(u8),
            draw(st.one_of(st.integers(0, 5), u8)),
            draw(st.one_of(st.integers(0, 5), u8)),
            draw(u8),
            draw(u8),
        )
        packets.append(header.pack() + draw(st.binary(max_size=80)))
    return b"".join(packets)


@st.composite
def part_soup(draw: st.DrawFn) -> bytes:
    """Multi-packet parts of a few control messages, shuffled, repeated, out of range,
    large, and more messages at once than SMALL_LIMITS lets half-arrive."""
    packets: list[bytes] = []
    for _ in range(draw(st.integers(1, 10))):
        total = draw(st.integers(2, 6))
        size = draw(st.one_of(st.integers(0, 32), st.integers(3000, 4096)))
        packets.append(
            encode_frame(
                draw(st.sampled_from(COMMON_IDS[:7])),
                bytes(size),  # the content does not matter to reassembly
                total_packets=total,
                current_packet=draw(st.integers(0, total)),
            )
        )
    if draw(st.booleans()):
        # A message that grows past max_message_size before its last part arrives.
        oversized = encode_message(1042, bytes(5 * 4096), part_size=4096)
        packets.insert(draw(st.integers(0, len(packets))), b"".join(oversized))
    return b"".join(packets)


@st.composite
def valid_streams(draw: st.DrawFn) -> bytes:
    return stream_of(draw(st.lists(messages(), min_size=1, max_size=5)))


hostile_streams = st.one_of(
    st.binary(max_size=600),
    header_soup(),
    valid_streams().flatmap(mutated),
)


@st.composite
def cut_points(draw: st.DrawFn, length: int) -> list[int]:
    """Sorted offsets into a stream of `length` bytes, repeats allowed (empty reads)."""
    return sorted(draw(st.lists(st.integers(0, length), max_size=24)))


def pieces(data: bytes, cuts: Sequence[int]) -> Iterator[bytes]:
    """`data` cut at `cuts`, ends included, so some pieces may be empty."""
    start = 0
    for cut in [*cuts, len(data)]:
        yield data[start:cut]
        start = cut


# --- 1. the frame decoder on hostile bytes -------------------------------------------------


def feed_hostile(decoder: FrameDecoder, chunks: Iterator[bytes]) -> None:
    """Feed every chunk; allow only ProtocolError, and check the buffering bound."""
    for chunk in chunks:
        failure = decoder.failure
        error = raised_by(decoder.feed, chunk)
        if failure is not None:
            # A failed decoder keeps raising the error that ended the stream.
            assert error is failure
        elif error is not None:
            assert decoder.failure is error
        # Failed or not, the decoder holds at most one packet's allowance.
        assert decoder.buffered <= BUFFER_BOUND
    error = raised_by(lambda _: decoder.eof(), b"")
    assert error is None or decoder.failure is None or error is decoder.failure


def raised_by(call: Callable[[bytes], object], data: bytes) -> ProtocolError | None:
    """The ProtocolError `call(data)` raised, or None; any other exception propagates."""
    try:
        call(data)
    except ProtocolError as error:
        return error
    return None


@given(st.binary(max_size=2000), st.data())
def test_decoder_random_bytes_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    decoder = FrameDecoder(SMALL_LIMITS)
    feed_hostile(decoder, pieces(data, draw.draw(cut_points(len(data)))))


@given(st.one_of(header_soup(), part_soup(), valid_streams().flatmap(mutated)), st.data())
def test_decoder_mutated_frames_only_protocol_errors(data: bytes, draw: st.DataObject) -> None:
    decoder = FrameDecoder(SMALL_LIMITS)
    feed_hostile(decoder, pieces(data, draw.draw(cut_points(len(data)))))


@given(st.lists(messages(), min_size=1, max_size=4))
def test_decoder_never_buffers_past_a_packet_allowance(
    message_list: list[tuple[list[bytes], Frame]],
) -> None:
    # A header that announces the largest allowed packet, then the valid stream inside it:
    # the decoder must hold it all without complaint, and no more than that.
    inner = stream_of(message_list)[: SMALL_LIMITS.max_packet_payload]
    big = Header(1042, SMALL_LIMITS.max_packet_payload).pack()
    decoder = FrameDecoder(SMALL_LIMITS)
    for chunk in pieces(big + inner, range(0, len(big) + len(inner), 97)):
        assert decoder.feed(chunk) == []
        assert decoder.buffered <= BUFFER_BOUND
    with pytest.raises(ProtocolError):
        decoder.eof()


# --- 2. chunking invariance ----------------------------------------------------------------


def decode_pieces(chunks: Iterator[bytes | memoryview]) -> list[Frame]:
    decoder = FrameDecoder()
    frames: list[Frame] = []
    for chunk in chunks:
        frames.extend(decoder.feed(chunk))
    decoder.eof()  # a stream of whole frames ends cleanly
    assert decoder.buffered == 0
    return frames


def through_receive_buffer(data: bytes, cuts: Sequence[int]) -> Iterator[memoryview]:
    """The pieces as views of one reused buffer, scribbled over after each feed, the way a
    `recv_into` shell reads: a decoder that kept a reference would see its frames change."""
    scratch = bytearray(b"\xaa" * (len(data) + 1))
    for piece in pieces(data, cuts):
        scratch[: len(piece)] = piece
        with memoryview(scratch) as view:
            yield view[: len(piece)]
        scratch[:] = b"\x55" * len(scratch)


@given(st.lists(messages(), max_size=8), st.data())
def test_decoder_chunking_invariance(
    message_list: list[tuple[list[bytes], Frame]], draw: st.DataObject
) -> None:
    stream = stream_of(message_list)
    expected = [frame for _, frame in message_list]
    whole = decode_pieces(iter([stream]))
    assert whole == expected
    for frame, (packets, _) in zip(whole, message_list, strict=True):
        assert frame.parts == len(packets)
        assert frame.header.length == len(frame.payload)
    one_byte_at_a_time = decode_pieces(stream[i : i + 1] for i in range(len(stream)))
    assert one_byte_at_a_time == expected
    cuts = draw.draw(cut_points(len(stream)))
    assert decode_pieces(iter(through_receive_buffer(stream, cuts))) == expected


# --- 3. the body reader on hostile bytes ---------------------------------------------------


def decode_small(payload: bytes) -> None:
    try:
        body = decode_body(payload, SMALL_LIMITS)
    except PayloadError:
        return
    assert isinstance(body.data, dict)
    assert len(payload) <= SMALL_LIMITS.max_json_size
    assert json_depth(body.data) <= SMALL_LIMITS.max_json_depth


def json_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((json_depth(item) for item in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((json_depth(item) for item in value), default=0)
    return 0


@given(st.one_of(st.binary(max_size=600), json_like_text.map(lambda text: text.encode())))
@example(b"[" * 17 + b"]" * 17)
@example(b"{" * 100)
@example(b'"' + b'\\"' * 100)
@example(b'"{ \\"a\\" : 1 }"')
@example(b"9" * 5000)
def test_decode_body_random_bytes_only_payload_errors(payload: bytes) -> None:
    decode_small(payload)


def nest(obj: dict[str, Any], depth: int) -> dict[str, Any]:
    for _ in range(depth):
        obj = {"k": [obj]}
    return obj


@given(
    st.one_of(
        json_objects.map(encode_body),
        st.tuples(json_objects, st.integers(0, 12)).map(lambda pair: encode_body(nest(*pair))),
        # Double-encoded: the JSON as a JSON string.
        json_objects.map(lambda obj: json.dumps(encode_json(obj)).encode()),
    ).flatmap(mutated)
)
def test_decode_body_mutated_bodies_only_payload_errors(payload: bytes) -> None:
    decode_small(payload)


# --- 4. the body round trip ----------------------------------------------------------------


def same_json(left: Any, right: Any) -> bool:
    """Equal, and of the same JSON types throughout (True == 1 and 1 == 1.0 in Python)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return bool(left == right)


@given(json_objects, st.sampled_from(TERMINATORS))
def test_body_round_trip(obj: dict[str, Any], terminator: bytes) -> None:
    data = encode_body(obj, terminator)
    assert data.endswith(terminator)
    body = decode_body(data)
    assert body.data == obj
    assert same_json(body.data, obj)
    assert body.terminator == terminator
    assert not body.double_encoded
    assert body.original_keys == {}


# --- 5. the Sofia hash ---------------------------------------------------------------------


# Lone surrogates too: a JSON body can carry one ("\ud800"), and the device hashes the PassWord
# field of a NONE login.
passwords = st.one_of(
    st.text(),
    st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"]))).map("".join),
)


@given(passwords)
@example("")
@example("\x00")
@example("\ud800")
def test_sofia_hash_shape_and_login_check(password: str) -> None:
    digest = sofia_hash(password)
    assert len(digest) == 8
    assert set(digest) <= SOFIA_ALPHABET
    assert password_matches(digest, "MD5", digest)
    assert password_matches(password, "NONE", digest)
    assert password_matches(digest, " md5 ", digest)  # the type is read leniently
    assert not password_matches(digest, "AES", digest)


# --- 6. SessionID spellings ----------------------------------------------------------------


@given(u32, st.sampled_from(SessionIdStyle))
@example(0, SessionIdStyle.BARE)
@example(0xFFFF_FFFF, SessionIdStyle.SHORT)
def test_session_id_round_trip(session_id: int, style: SessionIdStyle) -> None:
    text = format_session_id(session_id, style)
    assert parse_session_id(text) == session_id
    assert parse_session_id(f" {text} ") == session_id


@given(
    st.one_of(
        st.text(max_size=30),
        st.from_regex(r"\s*(0[xX])?[0-9a-fA-F_ +-]{0,20}\s*", fullmatch=True),
        st.integers(-(2**70), 2**70),
        json_values,
    )
)
@example("0x")
@example("0x1_0")
@example("0x100000000")
@example("٣")  # a digit, but not a hex digit
@example(True)
@example(-1)
def test_session_id_parse_only_payload_errors(value: object) -> None:
    try:
        number = parse_session_id(value)
    except PayloadError:
        return
    assert 0 <= number <= 0xFFFF_FFFF


# --- 7. the connections on hostile bytes ---------------------------------------------------

reply_bodies = st.fixed_dictionaries(
    {},
    optional={
        "Ret": st.one_of(
            st.sampled_from([100, 150, 203, 205, "100"]), st.integers(-5, 700), json_scalars
        ),
        "SessionID": st.one_of(
            st.tuples(u32, st.sampled_from(SessionIdStyle)).map(
                lambda pair: format_session_id(*pair)
            ),
            json_scalars,
        ),
        "AliveInterval": json_scalars,
        "ChannelNum": json_scalars,
        "ExtraChannel": json_scalars,
        "DeviceType ": json_scalars,
        "DataUseAES": json_scalars,
        "Name": json_scalars,
    },
)
request_bodies = st.fixed_dictionaries(
    {},
    optional={
        "UserName": json_scalars,
        "PassWord": json_scalars,
        "EncryptType": st.one_of(st.sampled_from(["MD5", "NONE"]), json_scalars),
        "LoginType": json_scalars,
        "Name": json_scalars,
        "SessionID": st.one_of(st.sampled_from(["0x00000001", "0x1", "0x00000007"]), json_scalars),
    },
)


def peer_packets(
    bodies: st.SearchStrategy[dict[str, Any]], ids: Sequence[int]
) -> st.SearchStrategy[bytes]:
    """Packets with the ids that matter to one role, or any id, carrying a body or bytes."""
    payloads = st.one_of(
        st.tuples(bodies, st.sampled_from(TERMINATORS)).map(lambda pair: encode_body(*pair)),
        st.binary(max_size=100),
    )
    return st.builds(
        lambda message_id, payload, session_id, byte12, byte13: encode_frame(
            message_id,
            payload,
            session_id=session_id,
            total_packets=byte12,
            current_packet=byte13,
        ),
        st.one_of(st.sampled_from(ids), any_ids),
        payloads,
        st.sampled_from([0, 1, 7, 0xFFFF_FFFF]),
        st.sampled_from([0, 0, 0, 1, 2, FUNSDK_MARKER]),
        st.sampled_from([0, 0, 1, 2]),
    )


def peer_streams(
    bodies: st.SearchStrategy[dict[str, Any]], ids: Sequence[int]
) -> st.SearchStrategy[bytes]:
    joined = st.lists(peer_packets(bodies, ids), min_size=1, max_size=6).map(b"".join)
    return st.one_of(joined, joined.flatmap(mutated), st.binary(max_size=300), header_soup())


def receive_hostile(receive: Callable[[bytes], Sequence[object]], chunks: Iterator[bytes]) -> None:
    for chunk in chunks:
        raised_by(receive, chunk)


# A well-formed answer to the client's login or request, so that examples reach the login
# bookkeeping (session id, style, keepalive) with odd field values.
answers = st.one_of(
    st.just(b""),
    st.builds(
        lambda message_id, fields, ret, session_id: encode_frame(
            message_id,
            encode_body({**fields, "Ret": ret}, b"\n\x00"),
            session_id=session_id,
            version=1,
        ),
        st.sampled_from([1001, 1021]),
        reply_bodies,
        st.sampled_from([100, 150, 203, 205, "100", " 100 ", True]),
        st.sampled_from([0, 1, 7]),
    ),
)


@given(
    answers,
    peer_streams(reply_bodies, CLIENT_IDS),
    st.sampled_from(["idle", "request", "login"]),
    st.data(),
)
def test_client_connection_only_protocol_errors(
    answer: bytes, rest: bytes, waiting_for: str, draw: st.DataObject
) -> None:
    data = answer + rest
    if waiting_for == "login":
        client = ClientConnection(limits=SMALL_LIMITS)
        client.login("admin", "")
    else:
        client = ClientConnection.for_session(1, limits=SMALL_LIMITS)
        if waiting_for == "request":
            client.request(1020, {"Name": "SystemInfo"})

    def receive(chunk: bytes) -> list[object]:
        events = client.receive_data(chunk)
        assert all(isinstance(event, CLIENT_EVENT_TYPES) for event in events)
        return list(events)

    receive_hostile(receive, pieces(data, draw.draw(cut_points(len(data)))))


@given(peer_streams(request_bodies, DEVICE_IDS), st.booleans(), st.data())
def test_device_connection_only_protocol_errors(
    data: bytes, accept_logins: bool, draw: st.DataObject
) -> None:
    device = DeviceConnection(limits=SMALL_LIMITS)

    def receive(chunk: bytes) -> list[object]:
        events = device.receive_data(chunk)
        for event in events:
            assert isinstance(event, LoginRequest | Request)
            if isinstance(event, LoginRequest) and accept_logins:
                reply = device.accept_login(event, 7, {"Ret": 100, "AliveInterval": 20})
                assert reply.startswith(b"\xff\x01")
        return list(events)

    receive_hostile(receive, pieces(data, draw.draw(cut_points(len(data)))))


# --- 7b. the connections' events do not depend on how reads cut the stream -------------------

CLIENT_FLOW_IDS: Final = [1021, 1504, 1004, 1412, 1007]
DEVICE_FLOW_IDS: Final = [1000, 1006, 1020, 1432]
BAD_BODIES: Final = [b"not json", b"[]", b'"x"', b"{", b"\xff\xfe"]


def role_streams(ids: Sequence[int]) -> st.SearchStrategy[bytes]:
    """Whole, well-framed packets of one role's traffic, some with a body that breaks it."""

    def packet(message_id: int, body: dict[str, Any], bad: bytes | None, media: bytes) -> bytes:
        if message_id in MEDIA_MESSAGE_IDS:
            return encode_frame(message_id, media, session_id=1)
        return encode_frame(message_id, bad or encode_body(body), session_id=1)

    packets = st.builds(
        packet,
        st.sampled_from(ids),
        st.fixed_dictionaries({"Name": st.sampled_from(["KeepAlive", ""]), "Ret": st.just(100)}),
        st.one_of(st.none(), st.none(), st.sampled_from(BAD_BODIES)),
        st.binary(max_size=40),
    )
    return st.lists(packets, min_size=1, max_size=6).map(b"".join)


def outcome(receive: Callable[[bytes], Sequence[Any]], chunks: Iterator[bytes]) -> list[Any]:
    """Every event's type and frame in order, then "error" if a ProtocolError came. Once one
    came, every later receive (and a final empty one) must raise too."""
    seen: list[Any] = []
    for chunk in [*chunks, b""]:
        failed = bool(seen) and seen[-1] == "error"
        error = raised_by(lambda data: seen.extend(describe(receive(data))), chunk)
        if failed:
            assert error is not None, "a connection took more bytes after a protocol error"
        elif error is not None:
            seen.append("error")
    return seen


def describe(events: Sequence[Any]) -> list[tuple[str, Frame]]:
    return [(type(event).__name__, event.frame) for event in events]


def client_receiver() -> Callable[[bytes], Sequence[Any]]:
    client = ClientConnection.for_session(1)
    client.request(1020, {"Name": "SystemInfo"})
    return client.receive_data


@given(role_streams(CLIENT_FLOW_IDS), role_streams(DEVICE_FLOW_IDS), st.data())
def test_connection_events_do_not_depend_on_chunking(
    client_stream: bytes, device_stream: bytes, draw: st.DataObject
) -> None:
    for stream, new_receiver in (
        (client_stream, client_receiver),
        (device_stream, lambda: DeviceConnection().receive_data),
    ):
        whole = outcome(new_receiver(), iter([stream]))
        one_byte_at_a_time = outcome(
            new_receiver(), (stream[i : i + 1] for i in range(len(stream)))
        )
        at_random = outcome(new_receiver(), pieces(stream, draw.draw(cut_points(len(stream)))))
        assert one_byte_at_a_time == whole
        assert at_random == whole
