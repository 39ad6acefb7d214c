"""A camera that replays a real device's captured replies: the yardstick for "works with a
real XM530".

`tests/data/xm530/exchanges.json` holds what a Besder 6024PB (XM530, firmware V5.00.R02)
answered to a client ([BES] command_codes/payloads/). `ReplayCamera` listens on 127.0.0.1
and answers every request with the captured reply for the same message id and Name; where
several were captured under one Name (log pages, monitor start and stop), the one whose
captured request has the same object wins. Nothing is simulated: no state changes, the clock
stands at the captured time, and no media flow. Requests the capture never shows are answered
the way the camera answers what it does not know:

- an ability name (1360) it does not have: Ret 103 with the Name ([BES] AHDEncodeL,
  MaxPreRecord, NetOrder, VencMaxFps);
- `X.[n]` where the capture holds only `X`, an array, but shows the camera taking the name
  `X.[n]` (a write of `Simplify.Encode.[0]`): element n of `X`;
- a config name (1042, 1040) it does not have: Ret 607 and `"<Name>": null` ([BES]
  Ability.SerialNo, PMS.num, NetWork.DigManagerShow, NetUse.DigitalAbility.[0]); a write of a
  name the camera reads is answered Ret 100, as every captured write is;
- any other request: Ret 102 with the Name, as the camera answers ChannelSystemFunction 1362
  ([BES] 1363_SMARTH264_RESP); a logout (never captured) is acknowledged with Ret 100.

Logins: `admin` with the configured password (MD5 or NONE) gets the captured reply (no
DataUseAES, AliveInterval 30); a wrong password the captured Ret 203, another user the captured
Ret 205. Requests before a login get no answer. Replies carry this connection's session id
spelled as the camera spells it (`0x0000000b`: 8 lower-case hex digits), version 1, the
request's sequence number, and `\\n\\0` after the JSON (the captures do not show the
terminator; this is what every XM firmware in our other captures writes).

`ReplayCamera` runs on the caller's event loop; `ReplayCameraThread` on its own, in a thread,
for blocking clients and for `xmcam.cli.main`.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from xmcam.errors import ProtocolError
from xmcam.protocol import (
    DeviceConnection,
    LoginRequest,
    Request,
    encode_body,
    encode_frame,
    password_matches,
    sofia_hash,
)

__all__ = [
    "EXCHANGES_PATH",
    "Exchange",
    "ReplayCamera",
    "ReplayCameraThread",
    "load_exchanges",
]

EXCHANGES_PATH: Final = Path(__file__).parent / "data" / "xm530" / "exchanges.json"
DEVICE_VERSION: Final = 1
TERMINATOR: Final = b"\n\x00"
LOGIN_REQ: Final = 1000
LOGOUT_REQ: Final = 1002
CONFIG_SET_REQ: Final = 1040
CONFIG_GET_REQ: Final = 1042
ABILITY_GET_REQ: Final = 1360
UNKNOWN_ABILITY_RET: Final = 103
UNKNOWN_CONFIG_RET: Final = 607
UNSUPPORTED_RET: Final = 102
_ELEMENT: Final = re.compile(r"(.+)\.\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Exchange:
    """One captured request and the camera's reply (either may be missing from the capture)."""

    message_id: int
    request: dict[str, Any] | None
    reply_id: int
    reply: dict[str, Any] | None
    source: str
    case: str = ""
    note: str = ""

    @property
    def name(self) -> str | None:
        """The Name the request carried (None when the capture holds no request body)."""
        if self.request is None:
            return None
        name = self.request.get("Name")
        return name if isinstance(name, str) else None

    @property
    def ret(self) -> int | None:
        ret = self.reply.get("Ret") if self.reply is not None else None
        return ret if isinstance(ret, int) else None


def load_exchanges(path: Path = EXCHANGES_PATH) -> list[Exchange]:
    data = json.loads(path.read_text("utf-8"))
    return [
        Exchange(
            message_id=item["id"],
            request=item["request"],
            reply_id=item["reply_id"],
            reply=item["reply"],
            source=item.get("source") or item.get("request_source", ""),
            case=item.get("case", ""),
            note=item.get("note", ""),
        )
        for item in data["exchanges"]
    ]


def _without_session(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key.strip() != "SessionID"}


def camera_session_id(session_id: int) -> str:
    """The camera's spelling: `0x0000000b` ([BES] replies of session 0xb)."""
    return f"0x{session_id:08x}"


class Replies:
    """What the captured camera answers to a request: the lookup without any I/O."""

    def __init__(self, exchanges: list[Exchange], *, password: str = "") -> None:
        self.exchanges = exchanges
        self.password_hash = sofia_hash(password)
        self._by_id: dict[int, list[Exchange]] = {}
        for exchange in exchanges:
            if exchange.reply is not None:
                self._by_id.setdefault(exchange.message_id, []).append(exchange)
        self._logins = {
            item.case: item.reply for item in self._by_id.get(LOGIN_REQ, []) if item.reply
        }
        self._silent_ids = {
            item.message_id
            for item in exchanges
            if item.reply is None and item.message_id not in self._by_id and item.request
        }
        self._element_names = {
            item.name
            for item in exchanges
            if item.name and item.ret == 100 and _ELEMENT.fullmatch(item.name)
        }
        self.config_names = {
            item.name
            for item in exchanges
            if item.message_id in (CONFIG_GET_REQ, CONFIG_SET_REQ) and item.ret == 100
        }

    def login(self, request: LoginRequest) -> tuple[bool, dict[str, Any]]:
        """(accepted, reply body) for a login."""
        if request.user != "admin":
            case = "unknown user"
        elif not password_matches(request.password, request.encrypt_type, self.password_hash):
            case = "wrong password"
        else:
            case = "login accepted"
        return case == "login accepted", copy.deepcopy(self._logins[case])

    def reply(self, message_id: int, body: dict[str, Any]) -> dict[str, Any] | None:
        """The reply body to a logged-in request (None: the camera sends none)."""
        name = body.get("Name")
        name = name if isinstance(name, str) else ""
        captured = self._by_id.get(message_id, [])
        named = [item for item in captured if item.name == name]
        if named:
            # The captured request most like this one: the same log page, the same action.
            asked = _leaves(_without_session(body))
            chosen = max(named, key=lambda item: len(asked & _leaves(item.request or {})))
            return copy.deepcopy(chosen.reply)
        element = self._element(message_id, name)
        if element is not None:
            return element
        unnamed = [item for item in captured if item.request is None]
        if unnamed:  # the capture holds only the reply (the account lists): any body will do
            return copy.deepcopy(unnamed[0].reply)
        if message_id in self._silent_ids:  # captured without a reply (unguard)
            return None
        return self._not_captured(message_id, name)

    def _element(self, message_id: int, name: str) -> dict[str, Any] | None:
        """`X.[n]` read as element n of the captured array `X`, for the names the capture
        shows the camera taking in that form (it writes `Simplify.Encode.[0]` into the
        one-element array it reads as `Simplify.Encode`)."""
        match = _ELEMENT.fullmatch(name)
        if message_id != CONFIG_GET_REQ or match is None or name not in self._element_names:
            return None
        whole = next(
            (item.reply for item in self._by_id[CONFIG_GET_REQ] if item.name == match[1]), None
        )
        value = whole.get(match[1]) if whole is not None else None
        index = int(match[2])
        if not isinstance(value, list) or index >= len(value):
            return None
        return {"Name": name, name: copy.deepcopy(value[index]), "Ret": 100, "SessionID": ""}

    def _not_captured(self, message_id: int, name: str) -> dict[str, Any]:
        """The camera's answer to what it does not know (see the module docstring)."""
        if message_id == ABILITY_GET_REQ:
            return {"Name": name, "Ret": UNKNOWN_ABILITY_RET}
        if message_id == CONFIG_SET_REQ and name in self.config_names:
            return {"Name": name, "Ret": 100}
        if message_id in (CONFIG_GET_REQ, CONFIG_SET_REQ):
            return {"Name": name, name: None, "Ret": UNKNOWN_CONFIG_RET}
        if message_id == LOGOUT_REQ:
            return {"Name": "", "Ret": 100}
        return {"Name": name, "Ret": UNSUPPORTED_RET}


def _leaves(value: Any, path: str = "") -> set[tuple[str, str]]:
    """Every scalar of a JSON value with its path, as comparable pairs."""
    if isinstance(value, dict):
        return {leaf for key, item in value.items() for leaf in _leaves(item, f"{path}.{key}")}
    if isinstance(value, list):
        return {leaf for i, item in enumerate(value) for leaf in _leaves(item, f"{path}[{i}]")}
    return {(path, json.dumps(value))}


class ReplayCamera:
    """The replaying camera on an asyncio loop: `await start()`, `port`, `await stop()`."""

    def __init__(
        self,
        exchanges: list[Exchange] | None = None,
        *,
        password: str = "",
        host: str = "127.0.0.1",
    ) -> None:
        self.replies = Replies(
            exchanges if exchanges is not None else load_exchanges(), password=password
        )
        self.host = host
        self.port = 0
        self.requests: list[tuple[int, dict[str, Any] | None]] = []
        """Every request received after a login: (message id, body), in order."""
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_session = 1

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        # Closing a writer ends its reader too: each connection's task returns by itself.
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> ReplayCamera:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        connection = DeviceConnection()
        try:
            while data := await reader.read(65536):
                for event in connection.receive_data(data):
                    wire = self._answer(connection, event)
                    if wire:
                        writer.write(wire)
                await writer.drain()
        except (ProtocolError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self._tasks.discard(task)  # only now: stop() waits for what is in the set

    def _answer(self, connection: DeviceConnection, event: LoginRequest | Request) -> bytes:
        if isinstance(event, LoginRequest):
            accepted, body = self.replies.login(event)
            if not accepted:
                return connection.reject_login(event, _spelled(body, 0))
            session, self._next_session = self._next_session, self._next_session + 1
            return connection.accept_login(event, session, _spelled(body, session))
        event = connection.restamp(event)
        if not (event.authenticated and event.session_matches) or event.body is None:
            return b""
        self.requests.append((event.message_id, dict(event.body.data)))
        reply = self.replies.reply(event.message_id, dict(event.body.data))
        if event.message_id == LOGOUT_REQ:
            connection.logout()
        if reply is None or event.reply_id is None:
            return b""
        return self._frame(event.reply_id, event.frame.sequence, reply, event.frame.session_id)

    @staticmethod
    def _frame(message_id: int, sequence: int, body: dict[str, Any], session: int) -> bytes:
        # Not DeviceConnection.reply(): it adds a SessionID, and some replies have none (1661).
        return encode_frame(
            message_id,
            encode_body(_spelled(body, session), TERMINATOR),
            session_id=session,
            sequence=sequence,
            version=DEVICE_VERSION,
        )


def _spelled(body: dict[str, Any], session: int) -> dict[str, Any]:
    """`body` with the captured session's id replaced by this one's, in the camera's spelling."""
    for key in list(body):
        if key.strip() == "SessionID":
            body[key] = camera_session_id(session)
    return body


class ReplayCameraThread:
    """A ReplayCamera on its own event loop in a thread: `with ReplayCameraThread() as cam:`
    gives `cam.host`, `cam.port` and `cam.requests` to blocking code."""

    def __init__(self, exchanges: list[Exchange] | None = None, *, password: str = "") -> None:
        self.camera = ReplayCamera(exchanges, password=password)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="replay-camera", daemon=True)
        self._started = threading.Event()
        self._failure: BaseException | None = None

    @property
    def host(self) -> str:
        return self.camera.host

    @property
    def port(self) -> int:
        return self.camera.port

    @property
    def requests(self) -> list[tuple[int, dict[str, Any] | None]]:
        return self.camera.requests

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self.camera.start())
        except BaseException as error:  # reported to the starting thread
            self._failure = error
            self._started.set()
            return
        self._started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self.camera.stop())
        self._loop.close()

    def start(self) -> ReplayCameraThread:
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise self._failure
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    def __enter__(self) -> ReplayCameraThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
