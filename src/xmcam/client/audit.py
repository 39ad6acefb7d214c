"""The security and privacy audit (`audit()`), without I/O: what to read, what each reading
means, what `fix` writes, and which ports the shells knock on.

Theory of operation. XM firmware ships with its cloud on and phones home (the XMEye P2P
relay, a push server, an online upgrade check), opens router ports by UPnP, and is often run
with a blank admin password; the well-known attacks on these devices go through exactly
those (docs/protocol.md, F3 "Security"). The audit reads the settings behind each, one check
per concern, and says of each: pass, fail (with its severity) or unknown (the camera would
not say; with its Ret code). Nothing is guessed: a setting the camera does not have is
unknown, not passed.

    check            read from                                fix (with `fix=True`)
    cloud            NetWork.Nat NatEnable                    NatEnable false
    cloud-upgrade    NetWork.OnlineUpgrade Enable, AutoCheck  both false
    push             NetWork.PMS Enable                       Enable false
    upnp             NetWork.Upnp Enable                      Enable false
    ddns             NetWork.NetDDNS, any Enable              every Enable false
    ntp              NetWork.NetNTP Enable                    none (turning it on is egress too)
    clock            the skew (`measure_time_skew`)           a sync (`sync_time`)
    passwords        the users list's hashes (1472)           none (`xmcam users passwd`)
    default-account  a user named "default" (1472)            none (`xmcam users remove`)
    ports            TCP 23, 9527, 9530, 12323 on the host    none (firmware: block them)

A password is judged by its Sofia hash as the users list gives it, compared in memory with
the hashes of a blank password, the account's own name and the defaults the botnets tried.
The hash is password-equivalent: it never leaves `_accounts()`, and no finding holds it.
With `fix`, each failed fixable setting is the camera's value just read with its switches
off, written back whole (`set_config`), then read again: a finding is "fixed" only when the
camera's own value says so afterwards. The port knock is the shells' (a TCP connect, closed
at once); `ProbePorts` is the step that asks for it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

from xmcam.client import operations as ops
from xmcam.client.operations import Clock, Procedure, ask
from xmcam.client.plans import Plan, Run
from xmcam.errors import AuthenticationError, DeviceError, NotLoggedInError, PayloadError
from xmcam.protocol.auth import sofia_hash
from xmcam.protocol.codes import MessageId, describe_ret

__all__ = [
    "AUDIT_PORTS",
    "DEFAULT_MAX_SKEW",
    "RISKY_PORTS",
    "AuditReport",
    "Finding",
    "ProbePorts",
    "audit",
]

Status = Literal["pass", "fail", "unknown"]
Severity = Literal["high", "medium", "low"]

DEFAULT_MAX_SKEW: Final = 60.0
"""Seconds of clock skew the audit lets pass: beyond, recordings and logs are misdated."""

RISKY_PORTS: Final[tuple[tuple[int, str], ...]] = (
    (23, "telnet"),
    # CVE-2021-41506: a knock on 9530 (`OpenTelnet:OpenOnce`) starts a root telnet on 9527.
    (9527, "debug shell (CVE-2021-41506)"),
    (9530, "telnet enabler (CVE-2021-41506)"),
    # Pen Test Partners, 2017: a second telnet on 12323 (theregister.com/2017/06/15/).
    (12323, "telnet (12323)"),
)
"""Ports that should be closed on a camera, with what answers there when they are not."""

AUDIT_PORTS: Final = tuple(port for port, _ in RISKY_PORTS)
"""The ports `audit()` knocks on unless told otherwise."""

PROBE_TIMEOUT: Final = 1.0
"""Seconds a port knock waits for the connection."""

# Passwords tried against such devices: the blank one (SEC Consult, 2018), the hidden
# `default` account's `tluafed` (CVE-2018-17919), and the most common of Mirai's list
# (jgamblin/Mirai-Source-Code: mirai/bot/scanner.c).
_KNOWN_PASSWORDS: Final = (
    "admin", "password", "123456", "12345", "1234", "1111", "54321", "666666", "888888",
    "xmhdipc", "tluafed",
)  # fmt: skip
_KNOWN_HASHES: Final = frozenset(sofia_hash(password) for password in _KNOWN_PASSWORDS)
_BLANK_HASH: Final = sofia_hash("")


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict. `summary` is one line a person reads; `config` the setting it
    was read from (None for the users, the clock and the ports); `detail` what was read,
    never a password or its hash."""

    check: str
    status: Status
    severity: Severity
    summary: str
    config: str | None = None
    fixable: bool = False
    """`fix=True` can turn this failure into a pass."""
    fixed: bool = False
    """It failed, `fix=True` changed the camera, and the camera's value now passes."""
    detail: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Every check's finding, in the order of the table above."""

    findings: tuple[Finding, ...]

    @property
    def failed(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.status == "fail")

    @property
    def unknown(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.status == "unknown")

    @property
    def fixed(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.fixed)

    @property
    def passed(self) -> bool:
        """Nothing failed (unknown checks aside)."""
        return not self.failed


@dataclass(frozen=True, slots=True)
class ProbePorts:
    """Try a TCP connection to each of `ports` on the camera's host, `timeout` seconds each,
    and close it at once; the list of those that accepted comes back."""

    ports: tuple[int, ...]
    timeout: float = PROBE_TIMEOUT


# ------------------------------------------------------------------ the settings


@dataclass(frozen=True, slots=True)
class _SettingCheck:
    """A check of one config: `failing(value)` says whether it fails (None: the value is
    unreadable) and a summary; `fix(value)` is the whole value that passes."""

    check: str
    config: str
    severity: Severity
    failing: Callable[[Any], tuple[bool | None, str]]
    fix: Callable[[Any], Any] | None


def _enabled(value: Any, *keys: str) -> bool | None:
    """Whether any of `keys` of the object `value` is true; None when none is a boolean."""
    if not isinstance(value, dict):
        return None
    flags = [value.get(key) for key in keys if isinstance(value.get(key), bool)]
    return any(flags) if flags else None


def _server(value: Any, key: str) -> str:
    name = value.get(key) if isinstance(value, dict) else None
    return f" ({name})" if isinstance(name, str) and name else ""


def _switch(
    what: str, keys: tuple[str, ...], on: str, off: str, server: str | None = None
) -> Callable[[Any], tuple[bool | None, str]]:
    """The check of a setting that fails while any of its `keys` is on; `server`: the member
    naming where it reaches, quoted in the summary."""

    def failing(value: Any) -> tuple[bool | None, str]:
        enabled = _enabled(value, *keys)
        if enabled is None:
            return None, f"the {what} setting is unreadable"
        if enabled:
            return True, on + (_server(value, server) if server else "")
        return False, off

    return failing


_cloud: Final = _switch(
    "cloud", ("NatEnable",), "the XMEye cloud (P2P) is on", "the XMEye cloud (P2P) is off", "Addr"
)
_cloud_upgrade: Final = _switch(
    "online upgrade",
    ("Enable", "AutoCheck"),
    "online upgrades are checked",
    "online upgrade checks are off",
    "ServerAddr",
)
_push: Final = _switch(
    "push",
    ("Enable",),
    "alarm pushes go to the vendor's server",
    "pushes to the vendor's server are off",
    "ServName",
)
_upnp: Final = _switch(
    "UPnP", ("Enable",), "UPnP is on: the camera may open ports on the router", "UPnP is off"
)


def _ddns(value: Any) -> tuple[bool | None, str]:
    providers = value if isinstance(value, list) else [value]
    flags = [_enabled(provider, "Enable") for provider in providers]
    if all(flag is None for flag in flags):
        return None, "the DDNS setting is unreadable"
    names = [
        str(provider.get("DDNSKey") or "?")
        for provider, flag in zip(providers, flags, strict=True)
        if flag
    ]
    if names:
        return True, f"dynamic DNS is on ({', '.join(names)}): the camera announces its address"
    return False, "dynamic DNS is off"


def _ntp(value: Any) -> tuple[bool | None, str]:
    on = _enabled(value, "Enable")
    if on is None:
        return None, "the NTP setting is unreadable"
    if on:
        server = value.get("Server") if isinstance(value, dict) else None
        return False, f"NTP is on{_server(server, 'Name')}"
    return True, "NTP is off: the clock drifts unless something sets it"


def _switched_off(*keys: str) -> Callable[[Any], Any]:
    def fix(value: Any) -> Any:
        new = copy.deepcopy(value)
        for key in keys:
            if isinstance(new.get(key), bool):
                new[key] = False
        return new

    return fix


def _every_provider_off(value: Any) -> Any:
    new = copy.deepcopy(value)
    for provider in new if isinstance(new, list) else [new]:
        if isinstance(provider, dict) and isinstance(provider.get("Enable"), bool):
            provider["Enable"] = False
    return new


_SETTINGS: Final = (
    _SettingCheck("cloud", "NetWork.Nat", "high", _cloud, _switched_off("NatEnable")),
    _SettingCheck(
        "cloud-upgrade",
        "NetWork.OnlineUpgrade",
        "medium",
        _cloud_upgrade,
        _switched_off("Enable", "AutoCheck"),
    ),
    _SettingCheck("push", "NetWork.PMS", "medium", _push, _switched_off("Enable")),
    _SettingCheck("upnp", "NetWork.Upnp", "medium", _upnp, _switched_off("Enable")),
    _SettingCheck("ddns", "NetWork.NetDDNS", "low", _ddns, _every_provider_off),
    _SettingCheck("ntp", "NetWork.NetNTP", "low", _ntp, None),
)


def _setting_finding(check: _SettingCheck, value: Any) -> Finding:
    failing, summary = check.failing(value)
    status: Status = "unknown" if failing is None else "fail" if failing else "pass"
    return Finding(
        check.check,
        status,
        check.severity,
        summary,
        config=check.config,
        fixable=check.fix is not None and status == "fail",
    )


def _refused(check: str, severity: Severity, config: str | None, error: DeviceError) -> Finding:
    return Finding(
        check,
        "unknown",
        severity,
        f"the camera would not say: {describe_ret(error.ret)}",
        config=config,
        detail={"ret": error.ret},
    )


def _read_setting(check: _SettingCheck) -> Plan[tuple[Finding, Any]]:
    """The finding of one setting, and the value read (None when refused)."""
    try:
        value = yield Run(ops.get_config(check.config))
    except (AuthenticationError, NotLoggedInError):
        raise
    except DeviceError as error:
        return _refused(check.check, check.severity, check.config, error), None
    return _setting_finding(check, value), value


def _fix_setting(check: _SettingCheck, value: Any) -> Plan[Finding]:
    """Write the passing value, read it back: the finding the camera's value now gives."""
    assert check.fix is not None
    try:
        # The whole block as just read, the switches off: written as it is (`set_config`).
        yield Run(ops.set_config(check.config, check.fix(value)))
        after = yield Run(ops.get_config(check.config))
    except (AuthenticationError, NotLoggedInError):
        raise
    except DeviceError as error:
        refused = _setting_finding(check, value)
        return replace(refused, summary=f"{refused.summary}; the fix was refused: "
                     f"{describe_ret(error.ret)}")  # fmt: skip
    finding = _setting_finding(check, after)
    if finding.status == "pass":
        return replace(finding, fixed=True)
    return replace(finding, summary=f"{finding.summary} (still, after the fix was written)")


# ------------------------------------------------------------------ accounts


def _accounts() -> Procedure[list[tuple[str, str]]]:
    """Every user's name and how its password stands: "blank", "own-name", "known",
    "other", or "unreadable" (no Sofia hash in the list). The hashes stay here."""
    reply = yield from ask(MessageId.USERS_GET_REQ, {"Name": ""})
    users = reply.body.get("Users")
    accounts: list[tuple[str, str]] = []
    for user in users if isinstance(users, list) else []:
        if not isinstance(user, dict) or not isinstance(user.get("Name"), str):
            continue
        name, stored = user["Name"], user.get("Password")
        if not isinstance(stored, str) or len(stored) != len(_BLANK_HASH) or not stored.isalnum():
            kind = "unreadable"
        elif stored == _BLANK_HASH:
            kind = "blank"
        elif stored == sofia_hash(name):
            kind = "own-name"
        elif stored in _KNOWN_HASHES:
            kind = "known"
        else:
            kind = "other"
        accounts.append((name, kind))
    return accounts


_PASSWORD_WORDS: Final = {
    "blank": "a blank password",
    "own-name": "its own name as password",
    "known": "a well-known default password",
}


def _account_findings(accounts: Sequence[tuple[str, str]]) -> list[Finding]:
    weak = [(name, kind) for name, kind in accounts if kind in _PASSWORD_WORDS]
    unreadable = [name for name, kind in accounts if kind == "unreadable"]
    if weak:
        parts = [f"{name!r} has {_PASSWORD_WORDS[kind]}" for name, kind in weak]
        passwords = Finding(
            "passwords",
            "fail",
            "high",
            "; ".join(parts),
            detail={"weak": [{"user": name, "weakness": kind} for name, kind in weak]},
        )
    elif unreadable:
        passwords = Finding(
            "passwords",
            "unknown",
            "high",
            f"the users list gives no password hash for {', '.join(map(repr, unreadable))}",
        )
    else:
        passwords = Finding(
            "passwords", "pass", "high", f"no weak password among {len(accounts)} account(s)"
        )
    names = [name for name, _ in accounts]
    if "default" in names:
        default = Finding(
            "default-account",
            "fail",
            "high",
            "the hidden vendor account 'default' is listed (CVE-2018-17919)",
        )
    else:
        default = Finding(
            "default-account",
            "pass",
            "high",
            "no 'default' account is listed (a hidden one would not be)",
        )
    return [passwords, default]


def _read_accounts() -> Plan[list[Finding]]:
    try:
        accounts = yield Run(_accounts())
    except (AuthenticationError, NotLoggedInError):
        raise
    except DeviceError as error:
        return [
            _refused("passwords", "high", None, error),
            _refused("default-account", "high", None, error),
        ]
    return _account_findings(accounts)


# ------------------------------------------------------------------ clock and ports


def _clock_finding(skew: float, max_skew: float) -> Finding:
    detail = {"skew_seconds": round(skew, 3), "max_skew_seconds": max_skew}
    if abs(skew) > max_skew:
        side = "ahead of" if skew > 0 else "behind"
        return Finding(
            "clock",
            "fail",
            "medium",
            f"the clock is {abs(skew):.0f} s {side} this host",
            fixable=True,
            detail=detail,
        )
    return Finding("clock", "pass", "medium", "the clock is within "
                   f"{max_skew:g} s of this host", detail=detail)  # fmt: skip


def _read_clock(clock: Clock, max_skew: float, *, fix: bool) -> Plan[Finding]:
    """The clock's finding; with `fix`, a failing clock synced and measured again."""
    try:
        finding = _clock_finding((yield from ops.measure_time_skew(clock)), max_skew)
        if fix and finding.status == "fail":
            yield from ops.sync_time(clock)
            after = _clock_finding((yield from ops.measure_time_skew(clock)), max_skew)
            finding = replace(after, fixed=after.status == "pass")
    except (AuthenticationError, NotLoggedInError):
        raise
    except DeviceError as error:
        return _refused("clock", "medium", None, error)
    except PayloadError as error:  # a time the device wrote that no clock reads
        return Finding("clock", "unknown", "medium", str(error))
    return finding


def _ports_finding(open_ports: Sequence[int], checked: Sequence[int]) -> Finding:
    names = dict(RISKY_PORTS)
    detail = {"checked": list(checked), "open": list(open_ports)}
    if open_ports:
        listed = ", ".join(f"{port} ({names[port]})" if port in names else str(port)
                           for port in open_ports)  # fmt: skip
        return Finding("ports", "fail", "high", f"open: {listed}", detail=detail)
    return Finding("ports", "pass", "high", f"closed: {', '.join(map(str, checked))}",
                   detail=detail)  # fmt: skip


# ------------------------------------------------------------------ the plan


def audit(
    clock: Clock,
    *,
    fix: bool = False,
    max_skew: float = DEFAULT_MAX_SKEW,
    ports: Sequence[int] | None = AUDIT_PORTS,
) -> Plan[AuditReport]:
    """Every check; with `fix`, each failed fixable one fixed and read again. `ports`: the
    ports to knock on (None or empty: none, and no ports finding)."""
    if max_skew < 0:
        raise ValueError(f"max_skew must not be negative, not {max_skew}")
    findings: list[Finding] = []
    values: dict[str, Any] = {}
    for check in _SETTINGS:
        finding, value = yield from _read_setting(check)
        if fix and finding.status == "fail" and finding.fixable:
            finding = yield from _fix_setting(check, value)
        findings.append(finding)
        values[check.check] = value
    findings.append((yield from _read_clock(clock, max_skew, fix=fix)))
    findings.extend((yield from _read_accounts()))
    if ports:
        checked = tuple(ports)
        open_ports = yield ProbePorts(checked)
        findings.append(_ports_finding(sorted(open_ports), checked))
    return AuditReport(tuple(findings))
