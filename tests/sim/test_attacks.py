"""The attacks of issue 12 on the simulator, each made as the attacker made it (a socket
doing what it did), asserting what must hold afterwards. "Another host" is another loopback
address (127.0.0.2, ...): the simulator sees it as a different client address."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any, Final

import pytest

from tests.sim.helpers import ManualClock, logged_in
from tests.sim.media_client import DvripSocket, claim, frames_of, monitor
from xmcam.protocol import DEVICE_LIMITS, HEADER_SIZE, ClientConnection, MessageId
from xmcam.sim import DeviceState, Faults, SimulatedDevice, Simulator, load_profile

ATTACKER: Final = "127.0.0.2"  # another host on the same network, as the simulator sees it


async def everything_until_closed(connection: DvripSocket, timeout: float = 5.0) -> bytes:
    """All the bytes a connection gets until the simulator closes it."""
    received = bytearray()
    async with asyncio.timeout(timeout):
        while data := await connection.reader.read(65536):
            received += data
    return bytes(received)


def playback(action: str, name: str) -> dict[str, Any]:
    operation = {"Action": action, "Parameter": {"FileName": name, "PlayMode": "ByName"}}
    return {"Name": "OPPlayBack", "OPPlayBack": operation}


async def a_recording(control: DvripSocket) -> str:
    query = {
        "BeginTime": "2000-00-00 00:00:00",
        "EndTime": "9999-12-31 23:59:59",
        "Channel": 0,
        "Event": "*",
        "Type": "h264",
    }
    reply = await control.call(
        MessageId.FILESEARCH_REQ, {"Name": "OPFileQuery", "OPFileQuery": query}
    )
    assert reply.ret == 100
    name = reply.body.data["OPFileQuery"][0]["FileName"]
    assert isinstance(name, str)
    return name


# ---------------------------------------------------------------------- 1. media take-over


def test_session_ids_are_random_32_bit_values_never_0_99999_or_a_live_one() -> None:
    drawn = iter([0, 99999, 0xDEADBEEF, 0xDEADBEEF, 7])
    device = SimulatedDevice(
        load_profile(), clock=ManualClock(), random_bits=lambda bits: next(drawn)
    )
    assert logged_in(device).client.session_id == 0xDEADBEEF
    assert logged_in(device).client.session_id == 7  # 0xDEADBEEF is live: drawn again
    # The real source: no two alike, no counting up, anywhere in 32 bits.
    device = SimulatedDevice(load_profile(), clock=ManualClock())
    ids = []
    for _ in range(64):
        wire = logged_in(device)
        ids.append(wire.client.session_id or 0)
        wire.camera.close()  # TCPMaxConn is 10
    assert len(set(ids)) == 64
    assert not any(b == a + 1 for a, b in itertools.pairwise(ids))
    assert all(0 < value <= 0xFFFFFFFF and value != 99999 for value in ids)
    assert max(ids) >= 1 << 24  # 64 draws all under 2**24: one chance in 2**512


async def test_a_live_claim_from_another_address_is_refused_and_the_owner_gets_its_stream() -> None:
    async with Simulator(faults=Faults(media_pace=0)) as sim:
        control = await DvripSocket.logged_in(sim)
        # The attacker names the live session in a claim, from another host, never logged in.
        thief = await control.media_for(sim, source=ATTACKER)
        refused = await thief.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))
        assert refused.ret == 103
        assert await everything_until_closed(thief) == b""
        media, reply = await claim(sim, control)
        assert reply.ret == 100
        assert (await control.call(MessageId.MONITOR_REQ, monitor("Start"))).ret == 100
        frames, _ = await frames_of(media, 25)
        assert len(frames) >= 25
        for connection in (thief, media, control):
            await connection.close()


async def test_the_owners_start_takes_its_own_claim_never_an_older_one() -> None:
    # An attacker on the owner's own address (the same host, or behind the same NAT) claims
    # first; the owner claims, then starts. The stream goes to the owner's claim; the
    # attacker's claim socket, never used, is closed at the pre-login timeout.
    profile = load_profile().with_alive_interval(1).with_quirks(unauthenticated_timeout=0.5)
    async with Simulator(profile, faults=Faults(media_pace=0)) as sim:
        control = await DvripSocket.logged_in(sim)
        thief = await DvripSocket.open(
            sim, ClientConnection.for_session(control.protocol.session_id)
        )
        assert (await thief.call(MessageId.MONITOR_CLAIM_REQ, monitor("Claim"))).ret == 100
        media, reply = await claim(sim, control)
        assert reply.ret == 100
        assert (await control.call(MessageId.MONITOR_REQ, monitor("Start"))).ret == 100
        frames, _ = await frames_of(media, 25)
        assert len(frames) >= 25
        assert await everything_until_closed(thief) == b""  # not one media byte
        await media.packet()  # the owner's stream goes on
        for connection in (thief, media, control):
            await connection.close()


async def test_a_download_claim_from_another_address_is_refused() -> None:
    async with Simulator() as sim:
        control = await DvripSocket.logged_in(sim)
        name = await a_recording(control)
        thief = await control.media_for(sim, source=ATTACKER)
        refused = await thief.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", name))
        assert refused.ret == 103
        assert await everything_until_closed(thief) == b""
        data = await control.media_for(sim)
        assert (await data.call(MessageId.PLAY_CLAIM_REQ, playback("Claim", name))).ret == 100
        start = await control.call(MessageId.PLAY_REQ, playback("DownloadStart", name))
        assert start.ret == 100
        packet = await data.packet()
        assert packet.frame.message_id == MessageId.DOWNLOAD_DATA
        assert packet.frame.payload
        for connection in (thief, data, control):
            await connection.close()


# ---------------------------------------------------------------------- 2. the pre-login timeout


def keepalive_for(session: int) -> bytes:
    """A KeepAlive naming a session, as an attacker sends it before (instead of) logging in:
    ignored, and it must not buy time."""
    return ClientConnection.for_session(session).request(
        MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"}, expect_reply=False
    )


async def test_frames_before_login_do_not_extend_the_pre_login_deadline() -> None:
    timeout = 1.0
    profile = load_profile().with_alive_interval(1).with_quirks(unauthenticated_timeout=timeout)
    async with Simulator(profile) as sim:
        loop = asyncio.get_running_loop()
        opened = loop.time()
        holders = [await DvripSocket.open(sim, source=ATTACKER) for _ in range(9)]

        async def keep_sending(holder: DvripSocket) -> None:
            while not holder.writer.is_closing():
                holder.send(keepalive_for(1))
                await asyncio.sleep(0.1)

        senders = [asyncio.ensure_future(keep_sending(holder)) for holder in holders]
        for holder in holders:
            assert await everything_until_closed(holder) == b""
        # Closed at the deadline counted from accept (checked every AliveInterval / 4).
        assert loop.time() - opened < timeout + 0.5
        for sender in senders:
            sender.cancel()
        await asyncio.gather(*senders, return_exceptions=True)
        for holder in holders:
            await holder.close()


async def test_sockets_that_never_log_in_cannot_keep_a_client_out() -> None:
    # The attacker holds every TCPMaxConn slot with sockets that never log in, and opens a
    # new one for every one it loses: fresh logins from elsewhere all get in.
    async with Simulator() as sim:
        holders = [await DvripSocket.open(sim, source=ATTACKER) for _ in range(10)]
        await asyncio.sleep(0.05)
        assert sim.connection_count == 10
        for _ in range(35):
            control = await DvripSocket.logged_in(sim)
            assert (await control.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})).ok
            await control.close()
            holders.append(await DvripSocket.open(sim, source=ATTACKER))  # and back again
        assert sim.connection_count <= 10
        for holder in holders:
            await holder.close()


async def test_a_megabyte_before_login_is_refused_at_its_header(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Simulator() as sim:
        control = await DvripSocket.logged_in(sim)
        big = ClientConnection.for_session(0).request(
            MessageId.CONFIG_SET_REQ, {"Name": "General.General", "X": "x" * 1_000_000}
        )
        attacker = await DvripSocket.open(sim, source=ATTACKER)
        assert len(big) < DEVICE_LIMITS.max_packet_payload  # what a logged-in client may send
        attacker.send(big[:HEADER_SIZE])  # the header announces a megabyte: that is enough
        assert await everything_until_closed(attacker) == b""
        assert "over the limit" in caplog.text
        # A small body before login is read (and ignored) as before.
        quiet = await DvripSocket.open(sim, source=ATTACKER)
        quiet.send(keepalive_for(control.protocol.session_id or 0))
        assert (await control.call(MessageId.KEEPALIVE_REQ, {"Name": "KeepAlive"})).ok
        assert sim.connection_count == 2
        for connection in (attacker, quiet, control):
            await connection.close()


# ---------------------------------------------------------------------- 3. the hidden account


async def login_as(sim: Simulator, user: str, password: str) -> tuple[DvripSocket, int | None]:
    """A connection that tried to log in, and the login's Ret."""
    connection = await DvripSocket.open(sim, source=ATTACKER)
    connection.send(connection.protocol.login(user, password))
    return connection, (await connection.reply()).ret


async def test_the_hidden_default_account_is_disabled_by_a_password() -> None:
    async with Simulator(password="s3cret") as sim:
        # The firmware's hidden account with its well-known password (CVE-2018-17919).
        attacker, ret = await login_as(sim, "default", "tluafed")
        assert ret == 205  # as an unknown user: the account is not there to log in to
        assert sim.session_count == 0
        owner, ret = await login_as(sim, "admin", "s3cret")
        assert ret == 100
        for connection in (attacker, owner):
            await connection.close()


async def test_hidden_accounts_can_be_kept_or_disabled_as_asked() -> None:
    async with Simulator(password="s3cret", hidden_accounts=True) as sim:
        connection, ret = await login_as(sim, "default", "tluafed")
        assert ret == 100
        await connection.close()
    async with Simulator(hidden_accounts=False) as sim:  # no password given, disabled all the same
        connection, ret = await login_as(sim, "default", "tluafed")
        assert ret == 205
        await connection.close()
    kept = dataclasses.replace(load_profile(), keep_hidden_accounts=True)
    async with Simulator(kept, password="s3cret") as sim:  # the profile keeps them
        connection, ret = await login_as(sim, "default", "tluafed")
        assert ret == 100
        await connection.close()


async def test_an_account_without_config_rights_reads_no_config() -> None:
    # Without a password (the seed's camera as it ships) `default` logs in: it may watch,
    # not read the config, AlarmServer's password least of all.
    async with Simulator() as sim:
        connection, ret = await login_as(sim, "default", "tluafed")
        assert ret == 100
        for name in ["NetWork.AlarmServer", "NetWork", "General.General", "Camera.Param.[0]"]:
            reply = await connection.call(MessageId.CONFIG_GET_REQ, {"Name": name})
            assert (reply.ret, name in reply.body.data) == (107, False), name
            reply = await connection.call(MessageId.DEFAULT_CONFIG_GET_REQ, {"Name": name})
            assert (reply.ret, name in reply.body.data) == (107, False), name
        info = await connection.call(MessageId.SYSINFO_REQ, {"Name": "SystemInfo"})
        assert info.ret == 100  # SysInfo it has
        await connection.close()


# ---------------------------------------------------------------------- 4. poisoned writes


def spliced(frame: bytes, placeholder: bytes, raw: bytes) -> bytes:
    """A request frame with JSON text our own writer would never produce (`1e999`, a lone
    surrogate) spliced in where `placeholder` is, the header's length fixed."""
    payload = frame[HEADER_SIZE:].replace(placeholder, raw)
    assert payload != frame[HEADER_SIZE:]
    return frame[: HEADER_SIZE - 4] + len(payload).to_bytes(4, "little") + payload


async def poisoned_write(control: DvripSocket, member: str, raw: bytes) -> int | None:
    """A write of General.General whose `member` is the JSON text `raw`; the reply's Ret."""
    placeholder = "P" * 12
    body = {"Name": "General.General", "General.General": {member: placeholder}}
    frame = control.protocol.request(MessageId.CONFIG_SET_REQ, body)
    control.send(spliced(frame, f'"{placeholder}"'.encode(), raw))
    return (await control.reply()).ret


async def test_values_json_cannot_carry_are_refused_and_change_nothing(tmp_path: Path) -> None:
    path = tmp_path / "cam.json"
    async with Simulator(state_path=path) as sim:
        control = await DvripSocket.logged_in(sim)
        name = "General.General"
        before = (await control.call(MessageId.CONFIG_GET_REQ, {"Name": name})).body.data[name]
        assert await poisoned_write(control, "AutoLogout", b"1e999") == 608
        assert await poisoned_write(control, "AutoLogout", b"-1e999") == 608
        assert await poisoned_write(control, "MachineName", b'"\\ud800"') == 608
        # Every read still answers, the state unchanged; the connection and the file too.
        after = await control.call(MessageId.CONFIG_GET_REQ, {"Name": name})
        assert (after.ret, after.body.data[name]) == (100, before)
        for config in sim.state.config_names():  # what `xmcam config export` reads
            assert (await control.call(MessageId.CONFIG_GET_REQ, {"Name": config})).ret == 100
        # A later write from anyone is stored.
        other = await DvripSocket.logged_in(sim)
        write = {"Name": name, name: {"MachineName": "Porch"}}
        assert (await other.call(MessageId.CONFIG_SET_REQ, write)).ret == 100
        for connection in (control, other):
            await connection.close()
    assert json.loads(path.read_text())["config"][name]["MachineName"] == "Porch"
    again = DeviceState.from_profile(load_profile(), path=path)  # and it starts again
    assert again.get_config(name)["AutoLogout"] == before["AutoLogout"]


async def test_a_failed_save_is_an_error_reply_and_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    async with Simulator(state_path=directory / "cam.json") as sim:
        control = await DvripSocket.logged_in(sim)
        directory.rmdir()  # the disk goes away under the running simulator
        name = "General.General"
        write = {"Name": name, name: {"MachineName": "Porch"}}
        reply = await control.call(MessageId.CONFIG_SET_REQ, write)
        assert reply.ret == 604  # WRITE_FILE_ERROR, never 100
        assert "cannot save the state" in caplog.text
        read = await control.call(MessageId.CONFIG_GET_REQ, {"Name": name})
        assert read.body.data[name]["MachineName"] == "LocalHost"  # not kept, not shown
        user = {"Name": "eve", "Group": "user", "Password": "", "AuthorityList": []}
        assert (await control.call(MessageId.ADDUSER_REQ, {"Name": "", "User": user})).ret == 604
        users = await control.call(MessageId.USERS_GET_REQ, {"Name": ""})
        assert "eve" not in [account["Name"] for account in users.body.data["Users"]]
        await control.close()


# ---------------------------------------------------------------------- 5. the user's files


async def test_starting_removes_only_the_temporaries_it_made(tmp_path: Path) -> None:
    path = tmp_path / "cam.json"
    mine = {
        name: f"the user's {name}\n".encode()
        for name in [
            ".cam.json.backup",
            ".cam.json.orig",
            ".cam.json.1",
            ".cam.json.xmcam-notes.tmp",
            ".cam.json.xmcam-ABCDEFGH.tmp",  # upper case: never a name mkstemp gives
            ".cam.json.xmcam-abcdefgh.tmp.keep",
        ]
    }
    for name, content in mine.items():
        (tmp_path / name).write_bytes(content)
    # A link named like a temporary: neither it nor what it points to is touched.
    target = tmp_path / "precious.txt"
    target.write_bytes(b"precious\n")
    (tmp_path / ".cam.json.xmcam-linkedxx.tmp").symlink_to(target)
    # What a write killed half-way leaves: named as the simulator names its temporaries.
    leftover = tmp_path / ".cam.json.xmcam-k1_ll3d0.tmp"
    leftover.write_bytes(b'{"format": 1, "conf')
    async with Simulator(state_path=path) as sim:
        control = await DvripSocket.logged_in(sim)
        write = {"Name": "General.General", "General.General": {"MachineName": "Porch"}}
        assert (await control.call(MessageId.CONFIG_SET_REQ, write)).ret == 100
        await control.close()
    assert not leftover.exists()
    for name, content in mine.items():
        assert (tmp_path / name).read_bytes() == content, name
    assert (tmp_path / ".cam.json.xmcam-linkedxx.tmp").is_symlink()
    assert target.read_bytes() == b"precious\n"
    assert path.exists()
