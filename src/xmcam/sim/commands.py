"""The simulated device's commands: one handler per request message id.

A handler takes the request's context (`xmcam.sim.context.RequestContext`: the device's state,
profile and quirks, the session's user, the effects to ask for) and a request that has passed
the session checks, changes the device's state, and returns the reply body (None for silence).
Reply bodies are written the way the seed's camera writes them: `{"Name": "", "Ret": 100}` for
plain acknowledgements, the request's Name and the object under it for reads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Final

from xmcam.protocol import (
    Body,
    MessageId,
    Request,
    Ret,
    format_device_time,
    parse_device_time,
    password_matches,
    sofia_hash,
)
from xmcam.sim.context import Effect, RequestContext
from xmcam.sim.maintenance import storage_info
from xmcam.sim.state import BadConfigValue, PtzCommand, StateSaveError, carriable

__all__ = ["Effect", "handle"]

_MAX_PTZ_LOG: Final = 1000
_MAX_ACCOUNTS: Final = 64
_MAX_AUTHORITIES: Final = 128  # per account: more than any firmware lists
_MAX_AUTHORITY_NAME: Final = 64

Reply = dict[str, Any] | None
Handler = Callable[[RequestContext, Request, Body], Reply]


def handle(context: RequestContext, request: Request) -> Reply:
    """The reply body for a request from a logged-in session (None: no reply)."""
    assert request.body is not None  # binary packets never reach the command table
    reply = _dispatch(context, request, request.body)
    if reply is not None and request.reply_id in context.quirks.reply_names:
        reply = _named(reply, context.quirks.reply_names[request.reply_id], request.body)
    return reply


def _dispatch(context: RequestContext, request: Request, body: Body) -> Reply:
    handler = _HANDLERS.get(request.message_id)
    if handler is None:
        fixed = context.profile.fixed_replies.get(request.message_id)
        if fixed is not None:  # the profile's answer to a request the simulator lacks
            return copy.deepcopy(fixed)
        return {"Name": body.name or "", "Ret": context.quirks.unsupported_ret}
    permission = _PERMISSIONS.get(request.message_id)
    if permission is not None and not _allowed(context, permission):
        return {"Name": body.name or "", "Ret": context.quirks.no_permission_ret}
    try:
        return handler(context, request, body)
    except StateSaveError:
        # Not stored, so not done: the change was undone (and logged by the state).
        return {"Name": body.name or "", "Ret": Ret.WRITE_FILE_ERROR}


def _named(reply: dict[str, Any], name: str | None, body: Body) -> dict[str, Any]:
    """The reply with the Name the firmware writes (`Quirks.reply_names`): "echo" repeats
    the request's, None leaves it out."""
    named = {key: value for key, value in reply.items() if key != "Name"}
    if name == "echo":
        named["Name"] = body.name or ""
    elif name is not None:
        named["Name"] = name
    return named


def _allowed(context: RequestContext, authority: str) -> bool:
    account = context.state.user(context.user or "")
    rights = account.get("AuthorityList") if account is not None else None
    return isinstance(rights, list) and authority in rights


def _ok(name: str = "") -> dict[str, Any]:
    return {"Name": name, "Ret": Ret.OK}


def _fail(ret: int, name: str = "") -> dict[str, Any]:
    return {"Name": name, "Ret": ret}


# ---------------------------------------------------------------------- session


def _keepalive(context: RequestContext, request: Request, body: Body) -> Reply:
    return {"Name": "KeepAlive", "Ret": Ret.OK}


def _logout(context: RequestContext, request: Request, body: Body) -> Reply:
    context.effects.append(Effect.LOGOUT)  # after the reply: it carries the session id
    return _ok()


def _guard(context: RequestContext, request: Request, body: Body) -> Reply:
    context.effects.append(Effect.GUARD)  # a repeated guard changes nothing ([MAD] R07)
    return _ok()


def _unguard(context: RequestContext, request: Request, body: Body) -> Reply:
    context.effects.append(Effect.UNGUARD)
    # The seed's camera sends nothing back to an unguard; other firmware answers 1503.
    return _ok() if context.quirks.reply_to_unguard else None


# ---------------------------------------------------------------------- information


def _system_info(context: RequestContext, request: Request, body: Body) -> Reply:
    name = body.name or ""
    if name == "SystemInfo":
        info = dict(context.profile.system_info)
        base = info.get("DeviceRunTime", "0x0")
        uptime = context.device.uptime_minutes()
        try:
            minutes = int(str(base), 16) + uptime
        except ValueError:
            minutes = uptime
        info["DeviceRunTime"] = f"0x{minutes:08X}"
        value: Any = info
    elif name == "StorageInfo":
        # A formatted partition is empty, as the file search finds it.
        value = storage_info(context.profile.storage, context.media.formatted)
    elif name == "WorkState":
        value = _work_state(context)
    else:
        return _fail(context.quirks.unknown_config_ret, name)
    return {"Name": name, "Ret": Ret.OK, name: value}


def _work_state(context: RequestContext) -> dict[str, Any]:
    device = context.device
    encode = context.state.config.get("Simplify.Encode", [])
    channels = []
    for index in range(context.profile.channels.video):
        main = encode[index].get("MainFormat", {}) if index < len(encode) else {}
        bitrate = main.get("Video", {}).get("BitRate", 0) if isinstance(main, dict) else 0
        channels.append({"Bitrate": bitrate, "Record": True})
    masks = {
        "AlarmIn": device.motion_mask("LocalIO"),
        "AlarmOut": context.state.alarm_out_mask(),
        "VideoBlind": device.motion_mask("VideoBlind"),
        "VideoLoss": device.motion_mask("VideoLoss"),
        "VideoMotion": device.motion_mask("VideoMotion"),
    }
    quirks = context.quirks
    state: dict[str, Any] = {
        "AlarmState": {
            key: f"0x{mask:08X}" if quirks.work_state_masks == "hex" else mask
            for key, mask in masks.items()
        }
    }
    if quirks.work_state_channel_state:
        state["ChannelState"] = channels
    return state


def _abilities(context: RequestContext, request: Request, body: Body) -> Reply:
    """An ability is any JSON value: an object (SystemFunction), a list (ComProtocol), a
    string (MultiVstd, "PAL|NTSC")."""
    name = body.name or ""
    value = context.profile.abilities.get(name)
    if value is None:
        return _fail(context.quirks.unknown_ability_ret, name)
    return {"Name": name, "Ret": Ret.OK, name: copy.deepcopy(value)}


# ---------------------------------------------------------------------- configuration


# The authority a config name needs, read or written, by its area: the vendor's authority
# names ([DOC] 5.13.1), each config area under the one it names (the rest: GeneralConfig).
# "Uart.PTZ" comes before "Uart": the first that matches wins.
_CONFIG_AREAS: Final = (
    ("NetWork", "NetConfig"),
    ("Alarm", "AlarmConfig"),
    ("Detect", "AlarmConfig"),
    ("Record", "RecordConfig"),
    ("Storage", "RecordConfig"),
    ("Simplify", "EncodeConfig"),
    ("AVEnc", "EncodeConfig"),
    ("Camera", "VideoConfig"),
    ("fVideo", "VideoConfig"),
    ("Uart.PTZ", "PtzConfig"),
    ("Uart", "CommConfig"),
)
_GENERAL_CONFIG: Final = "GeneralConfig"


def _area_authority(name: str) -> str:
    for area, authority in _CONFIG_AREAS:
        if name == area or name.startswith(area + "."):
            return authority
    return _GENERAL_CONFIG


def _config_authorities(context: RequestContext, name: str) -> set[str]:
    """The authorities reading or writing `name` needs: its area's, and for a group (a
    root such as `Uart`) those of every name under it."""
    prefix = name + "."
    under = [full for full in context.state.config if full.startswith(prefix)]
    return {_area_authority(full) for full in [name, *under]}


def _may_touch_config(context: RequestContext, name: str) -> bool:
    """Whether the session's account may read or write `name`. Checked before the name is
    looked up: an account without the right learns nothing, not even whether it exists."""
    return all(_allowed(context, right) for right in _config_authorities(context, name))


def _config_get(context: RequestContext, request: Request, body: Body) -> Reply:
    return _read_config(context, body, context.state.get_config)


def _config_default(context: RequestContext, request: Request, body: Body) -> Reply:
    return _read_config(context, body, context.state.default_config)


def _read_config(context: RequestContext, body: Body, read: Callable[[str], Any]) -> Reply:
    name = body.name or ""
    if not _may_touch_config(context, name):
        return _fail(context.quirks.no_permission_ret, name)
    value = read(name) if name else None
    if value is None:
        refusal = _fail(context.quirks.unknown_config_ret, name)
        if name and context.quirks.unknown_config_null:
            refusal[name] = None  # {"Name": N, N: null, "Ret": 607}
        return refusal
    return {"Name": name, "Ret": Ret.OK, name: value}


def _config_set(context: RequestContext, request: Request, body: Body) -> Reply:
    quirks = context.quirks
    name = body.name or ""
    if not _may_touch_config(context, name):
        return _fail(quirks.no_permission_ret, name)
    if not name or name not in body.data:
        return _fail(quirks.bad_config_value_ret if name else quirks.unknown_config_ret, name)
    try:
        context.state.set_config(name, body.data[name])
    except KeyError:
        return _fail(quirks.unknown_config_ret, name)
    except BadConfigValue:
        return _fail(quirks.bad_config_value_ret, name)
    return _ok()


def _titles_get(context: RequestContext, request: Request, body: Body) -> Reply:
    return {
        "Name": "ChannelTitle",
        "Ret": Ret.OK,
        "ChannelTitle": context.state.channel_titles,
    }


def _titles_set(context: RequestContext, request: Request, body: Body) -> Reply:
    try:
        context.state.set_channel_titles(body.get("ChannelTitle"))
    except BadConfigValue:
        return _fail(context.quirks.bad_config_value_ret, "ChannelTitle")
    return _ok()


# ---------------------------------------------------------------------- time and machine


def _time_query(context: RequestContext, request: Request, body: Body) -> Reply:
    now = format_device_time(context.state.device_time())
    return {"Name": "OPTimeQuery", "OPTimeQuery": now, "Ret": Ret.OK}


def _system_manager(context: RequestContext, request: Request, body: Body) -> Reply:
    name = body.name or ""
    operation = _OPERATIONS.get(name)
    if operation is None:
        return _fail(context.quirks.unsupported_ret, name)
    return operation(context, body.get(name))


def _set_time(context: RequestContext, value: Any) -> Reply:
    when = parse_device_time(value)
    if when is None:
        return _fail(context.quirks.bad_config_value_ret, "OPTimeSetting")
    context.state.set_device_time(when)
    return _ok()


def _machine(context: RequestContext, value: Any) -> Reply:
    action = value.get("Action") if isinstance(value, dict) else None
    if action not in ("Reboot", "Shutdown"):
        return _fail(context.quirks.bad_config_value_ret, "OPMachine")
    context.effects.append(Effect.REBOOT)
    return _ok()


# OPDefaultConfig's groups and the config names each one resets ([CFG] 10.3).
_DEFAULT_GROUPS: Final = {
    "General": ("General.", "System."),
    "Encode": ("Simplify.", "AVEnc.", "fVideo."),
    "Record": ("Record",),
    "Alarm": ("Alarm.", "Detect."),
    "NetServer": ("NetWork.Net", "NetWork.AlarmServer", "NetWork.RTSP"),
    "NetCommon": ("NetWork.NetCommon",),
    "CommPtz": ("Uart.",),
    "Preview": ("Camera.",),
}


def _default_config(context: RequestContext, value: Any) -> Reply:
    if not isinstance(value, dict):
        return _fail(context.quirks.bad_config_value_ret, "OPDefaultConfig")
    state = context.state
    factory = state.factory()
    with state.changes():
        for group, prefixes in _DEFAULT_GROUPS.items():
            if value.get(group) is True:
                for name in factory.config:
                    if name.startswith(prefixes):
                        state.config[name] = copy.deepcopy(factory.config[name])
        if value.get("Account") is True:
            state.users = copy.deepcopy(factory.users)
            state.groups = copy.deepcopy(factory.groups)
    # Done; the Ret says so the firmware's way (100, or 603 "restart the system").
    return {"Name": "", "Ret": context.quirks.default_config_ret}


_OPERATIONS: Final[dict[str, Callable[[RequestContext, Any], Reply]]] = {
    "OPTimeSetting": _set_time,
    "OPTimeSettingNoRTC": _set_time,
    "OPMachine": _machine,
    "OPDefaultConfig": _default_config,
}


# ---------------------------------------------------------------------- alarms and PTZ


def _net_alarm(context: RequestContext, request: Request, body: Body) -> Reply:
    value = body.get("OPNetAlarm")
    state = value.get("State") if isinstance(value, dict) else None
    if isinstance(state, bool) or not isinstance(state, int) or not 0 <= state < 1 << 32:
        return _fail(context.quirks.bad_config_value_ret, "OPNetAlarm")
    changed = context.state.net_alarm_state ^ state
    context.state.net_alarm_state = state
    for channel in range(32):
        if changed >> channel & 1:
            status = "Start" if state >> channel & 1 else "Stop"
            context.device.alarm(channel, "NetAlarm", status)
    return _ok()


def _ptz(context: RequestContext, request: Request, body: Body) -> Reply:
    control = body.get("OPPTZControl")
    command = control.get("Command") if isinstance(control, dict) else None
    parameter = control.get("Parameter") if isinstance(control, dict) else None
    if not isinstance(command, str) or not isinstance(parameter, dict):
        return _fail(Ret.ILLEGAL_REQUEST)
    channel, preset, step = (parameter.get(key, 0) for key in ("Channel", "Preset", "Step"))
    numbers = (channel, preset, step)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        return _fail(Ret.ILLEGAL_REQUEST)
    if not 0 <= channel < context.profile.channels.video:
        return _fail(Ret.ILLEGAL_REQUEST)
    log = context.state.ptz_log
    log.append(PtzCommand(channel, command[:64], preset, step))
    del log[:-_MAX_PTZ_LOG]
    return _ok()


# ---------------------------------------------------------------------- users and groups


def _authorities(context: RequestContext, request: Request, body: Body) -> Reply:
    return {"AuthorityList": context.profile.authorities, "Name": "", "Ret": Ret.OK}


def _users(context: RequestContext, request: Request, body: Body) -> Reply:
    return {"Name": "", "Ret": Ret.OK, "Users": context.state.users}


def _groups(context: RequestContext, request: Request, body: Body) -> Reply:
    return {"Groups": context.state.groups, "Name": "", "Ret": Ret.OK}


def _account(value: Any, *, with_password: bool) -> dict[str, Any] | None:
    """A user or group object from a request, checked; None when malformed."""
    if not isinstance(value, dict):
        return None
    name = value.get("Name")
    if not isinstance(name, str) or not 0 < len(name) <= 32:
        return None
    rights = value.get("AuthorityList", [])
    if not isinstance(rights, list) or len(rights) > _MAX_AUTHORITIES:
        return None
    if not all(isinstance(item, str) and len(item) <= _MAX_AUTHORITY_NAME for item in rights):
        return None
    account: dict[str, Any] = {
        "AuthorityList": rights,
        "Memo": str(value.get("Memo", ""))[:64],
        "Name": name,
    }
    if with_password:
        group, password = value.get("Group"), value.get("Password", "")
        if not isinstance(group, str) or not isinstance(password, str) or len(password) > 64:
            return None
        account.update(
            Group=group, Password=password, Reserved=False, Sharable=value.get("Sharable") is True
        )
    # Text JSON cannot carry (a lone surrogate) could never be stored, nor read back.
    return account if carriable(account) else None


def _add_user(context: RequestContext, request: Request, body: Body) -> Reply:
    state = context.state
    user = _account(body.get("User"), with_password=True)
    if user is None:
        return _fail(Ret.ILLEGAL_REQUEST)
    if state.user(user["Name"]) is not None:
        return _fail(Ret.USER_EXISTS)
    if state.group(user["Group"]) is None:
        return _fail(Ret.GROUP_NOT_FOUND)
    if len(state.users) >= _MAX_ACCOUNTS:
        return _fail(Ret.ILLEGAL_REQUEST)
    with state.changes():
        state.users.append(user)
    return _ok()


def _modify_user(context: RequestContext, request: Request, body: Body) -> Reply:
    state = context.state
    old = state.user(str(body.get("UserName", "")))
    new = _account(body.get("User"), with_password=True)
    if old is None:
        return _fail(Ret.USER_NOT_FOUND)
    if new is None or state.group(new["Group"]) is None:
        return _fail(Ret.ILLEGAL_REQUEST)
    if new["Name"] != old["Name"] and state.user(new["Name"]) is not None:
        return _fail(Ret.USER_EXISTS)
    new["Password"] = new["Password"] or old.get("Password", "")
    new["Reserved"] = old.get("Reserved", False)
    with state.changes():
        state.users[state.users.index(old)] = new
    return _ok()


def _delete_user(context: RequestContext, request: Request, body: Body) -> Reply:
    state = context.state
    user = state.user(body.name or "")
    if user is None:
        return _fail(Ret.USER_NOT_FOUND)
    if user.get("Reserved") is True:
        return _fail(Ret.RESERVED_ACCOUNT)
    with state.changes():
        state.users.remove(user)
    return _ok()


def _add_group(context: RequestContext, request: Request, body: Body) -> Reply:
    state = context.state
    group = _account(body.get("Group"), with_password=False)
    if group is None or len(state.groups) >= _MAX_ACCOUNTS:
        return _fail(Ret.ILLEGAL_REQUEST)
    if state.group(group["Name"]) is not None:
        return _fail(Ret.GROUP_EXISTS)
    with state.changes():
        state.groups.append(group)
    return _ok()


def _modify_group(context: RequestContext, request: Request, body: Body) -> Reply:
    state = context.state
    old = state.group(str(body.get("GroupName", "")))
    new = _account(body.get("Group"), with_password=False)
    if old is None:
        return _fail(Ret.GROUP_NOT_FOUND)
    if new is None:
        return _fail(Ret.ILLEGAL_REQUEST)
    if new["Name"] != old["Name"] and state.group(new["Name"]) is not None:
        return _fail(Ret.GROUP_EXISTS)
    with state.changes():
        state.groups[state.groups.index(old)] = new
        for user in state.users:
            if user.get("Group") == old["Name"]:
                user["Group"] = new["Name"]
    return _ok()


def _delete_group(context: RequestContext, request: Request, body: Body) -> Reply:
    state = context.state
    group = state.group(body.name or "")
    if group is None:
        return _fail(Ret.GROUP_NOT_FOUND)
    if any(user.get("Group") == group["Name"] for user in state.users):
        return _fail(Ret.ACCOUNT_IN_USE)
    with state.changes():
        state.groups.remove(group)
    return _ok()


def _change_password(context: RequestContext, request: Request, body: Body) -> Reply:
    name = str(body.get("UserName", ""))
    user = context.state.user(name)
    if user is None:
        return _fail(Ret.USER_NOT_FOUND)
    # Only the user itself or an account manager may change a password.
    if name != context.user and not _allowed(context, "Account"):
        return _fail(context.quirks.no_permission_ret)
    encrypt_type = str(body.get("EncryptType", "MD5"))
    old, new = body.get("PassWord", ""), body.get("NewPassWord")
    if not isinstance(old, str) or not password_matches(
        old, encrypt_type, str(user.get("Password", ""))
    ):
        return _fail(context.quirks.wrong_password_ret)
    if not isinstance(new, str) or len(new) > 64 or not carriable(new):
        return _fail(Ret.ILLEGAL_REQUEST)
    # Only the hash is ever stored: a NONE-type change sends the password itself.
    with context.state.changes():
        user["Password"] = new if encrypt_type.upper() != "NONE" else sofia_hash(new)
    return _ok()


_HANDLERS: Final[dict[int, Handler]] = {
    MessageId.KEEPALIVE_REQ: _keepalive,
    MessageId.LOGOUT_REQ: _logout,
    MessageId.SYSINFO_REQ: _system_info,
    MessageId.ABILITY_GET_REQ: _abilities,
    MessageId.CONFIG_GET_REQ: _config_get,
    MessageId.CONFIG_SET_REQ: _config_set,
    MessageId.DEFAULT_CONFIG_GET_REQ: _config_default,
    MessageId.CONFIG_CHANNELTITLE_GET_REQ: _titles_get,
    MessageId.CONFIG_CHANNELTITLE_SET_REQ: _titles_set,
    MessageId.TIMEQUERY_REQ: _time_query,
    MessageId.SYSMANAGER_REQ: _system_manager,
    MessageId.GUARD_REQ: _guard,
    MessageId.UNGUARD_REQ: _unguard,
    MessageId.NET_ALARM_REQ: _net_alarm,
    MessageId.PTZ_REQ: _ptz,
    MessageId.FULLAUTHORITYLIST_GET_REQ: _authorities,
    MessageId.USERS_GET_REQ: _users,
    MessageId.GROUPS_GET_REQ: _groups,
    MessageId.ADDGROUP_REQ: _add_group,
    MessageId.MODIFYGROUP_REQ: _modify_group,
    MessageId.DELETEGROUP_REQ: _delete_group,
    MessageId.ADDUSER_REQ: _add_user,
    MessageId.MODIFYUSER_REQ: _modify_user,
    MessageId.DELETEUSER_REQ: _delete_user,
    MessageId.MODIFYPASSWORD_REQ: _change_password,
}

# The authority a request needs ([DOC] 5.13.1 AuthorityList names).
# Config reads and writes (1042, 1044, 1040) need the authority of the config's area:
# _may_touch_config.
_PERMISSIONS: Final[dict[int, str]] = {
    MessageId.CONFIG_CHANNELTITLE_SET_REQ: "ChannelTitle",
    MessageId.SYSMANAGER_REQ: "ShutDown",
    MessageId.PTZ_REQ: "PTZControl",
    MessageId.USERS_GET_REQ: "Account",
    MessageId.GROUPS_GET_REQ: "Account",
    MessageId.ADDGROUP_REQ: "Account",
    MessageId.MODIFYGROUP_REQ: "Account",
    MessageId.DELETEGROUP_REQ: "Account",
    MessageId.ADDUSER_REQ: "Account",
    MessageId.MODIFYUSER_REQ: "Account",
    MessageId.DELETEUSER_REQ: "Account",
}
