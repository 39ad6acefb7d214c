"""The media requests on the sans-I/O device, no socket: which streams start and stop when,
and no body to any media request (logged in or on a second connection) takes it down."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.sim.helpers import Wire, logged_in, make_device, sequential
from xmcam.protocol import ClientConnection, MessageId, encode_frame
from xmcam.sim.media_commands import MEDIA_REQUEST_IDS
from xmcam.sim.media_sessions import StartStream, StopStream


def monitor(action: str, channel: object = 0, stream: object = "Main") -> dict[str, Any]:
    parameter = {"Channel": channel, "StreamType": stream}
    return {"Name": "OPMonitor", "OPMonitor": {"Action": action, "Parameter": parameter}}


def second_connection(control: Wire) -> Wire:
    """A connection to the same device joining the control connection's session."""
    media = Wire(control.device)
    media.client = ClientConnection.for_session(control.client.session_id)
    return media


def test_start_and_stop_ask_the_shell_to_stream_and_close() -> None:
    control = logged_in()
    media = second_connection(control)
    device = control.device
    assert media.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim")).ret == 100
    assert device.media.take_actions() == []  # a claim alone streams nothing
    assert device.media.holds(media.camera.number)
    assert control.call(MessageId.MONITOR_REQ, monitor("Start")).ret == 100
    (start,) = device.media.take_actions()
    assert isinstance(start, StartStream)
    assert start.live is not None
    assert (start.claim.connection, start.claim.channel) == (media.camera.number, 0)
    assert start.packetizer.session_id == control.client.session_id
    # A second Start of the same stream starts nothing new.
    assert control.call(MessageId.MONITOR_REQ, monitor("Start")).ret == 100
    assert device.media.take_actions() == []
    assert control.call(MessageId.MONITOR_REQ, monitor("Stop")).ret == 100
    (stop,) = device.media.take_actions()
    assert isinstance(stop, StopStream)
    assert (stop.claim, stop.close) == (start.claim, True)
    assert not device.media.holds(media.camera.number)


def test_the_end_of_the_session_ends_its_streams() -> None:
    control = logged_in()
    media = second_connection(control)
    media.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))
    control.call(MessageId.MONITOR_REQ, monitor("Start"))
    control.device.media.take_actions()
    control.call(MessageId.LOGOUT_REQ, {"Name": ""})
    (stop,) = control.device.media.take_actions()
    assert isinstance(stop, StopStream)
    assert stop.close
    assert control.device.media.claims == []


def test_a_start_picks_the_claim_of_the_stream_it_names() -> None:
    control = logged_in()
    main, extra = second_connection(control), second_connection(control)
    main.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))
    extra.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim", stream="Extra1"))
    control.call(MessageId.MONITOR_REQ, monitor("Start", stream="Extra"))
    (start,) = control.device.media.take_actions()
    assert isinstance(start, StartStream)
    assert start.claim.connection == extra.camera.number


def test_a_start_takes_the_newest_claim_or_its_own_connections() -> None:
    # Issue 12: an older claim (anyone's who knew the session id) never gets the media.
    control = logged_in()
    older, newer = second_connection(control), second_connection(control)
    name = control.device.media.catalogue.recordings[0].name
    parameter = {"FileName": name}
    playback = {"Name": "OPPlayBack", "OPPlayBack": {"Action": "Claim", "Parameter": parameter}}
    for media in (older, newer):
        assert media.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim")).ret == 100
        assert media.call(MessageId.PLAY_CLAIM_REQ, playback).ret == 100
    assert control.call(MessageId.MONITOR_REQ, monitor("Start")).ret == 100
    start = {
        "Name": "OPPlayBack",
        "OPPlayBack": {"Action": "DownloadStart", "Parameter": parameter},
    }
    assert control.call(MessageId.PLAY_REQ, start).ret == 100
    actions = control.device.media.take_actions()
    assert [action.claim.connection for action in actions] == [newer.camera.number] * 2
    # A claim on the control connection itself comes before any other, however new.
    again = logged_in()
    assert again.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim")).ret == 100
    assert second_connection(again).call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim")).ret == 100
    again.silent(MessageId.MONITOR_REQ, monitor("Start"))  # one socket: the media, no reply
    (action,) = again.device.media.take_actions()
    assert action.claim.connection == again.camera.number


def test_claims_are_bounded_per_connection() -> None:
    control = logged_in(make_device())
    rets = [
        control.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim", stream=stream)).ret
        for stream in ("Main", "Extra1")
    ]
    assert rets == [100, 100]
    # The same claim again replaces the old one; 16 different ones are the most.
    assert control.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim")).ret == 100
    assert len(control.device.media.claims) == 2
    catalogue = control.device.media.catalogue
    names = [recording.name for recording in catalogue.recordings[:20]]
    rets = []
    for name in names:
        body = {
            "Name": "OPPlayBack",
            "OPPlayBack": {"Action": "Claim", "Parameter": {"FileName": name}},
        }
        rets.append(control.call(MessageId.PLAY_CLAIM_REQ, body).ret)
    assert rets == [100] * 14 + [103] * 6


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Action",
                    "Parameter",
                    "Channel",
                    "StreamType",
                    "FileName",
                    "BeginTime",
                    "Type",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=10,
)
media_names = st.sampled_from(["OPMonitor", "OPSNAP", "OPFileQuery", "OPPlayBack", ""])


@given(
    st.sampled_from(sorted(MEDIA_REQUEST_IDS)),
    media_names,
    json_values,
    st.booleans(),
)
def test_any_body_to_any_media_request_never_raises(
    message_id: int, name: str, value: object, on_second_connection: bool
) -> None:
    control = logged_in(make_device(sequential()))  # session 1, as the frames below say
    wire = second_connection(control) if on_second_connection else control
    body = json.dumps({"Name": name, name or "x": value, "SessionID": "0x00000001"})
    frame = encode_frame(message_id, body.encode(), session_id=1)
    for reply in wire.camera.receive(frame):
        assert reply[:1] == b"\xff"
    control.device.media.take_actions()
    keepalive = encode_frame(1006, b'{"Name":"KeepAlive","SessionID":"0x00000001"}', session_id=1)
    assert len(control.camera.receive(keepalive)) == 1
