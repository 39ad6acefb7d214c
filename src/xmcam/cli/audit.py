"""`xmcam audit`: what on the camera phones home, opens ports or lets anyone in, and, with
`--fix`, the settings turned off and read back (`xmcam.client.audit`).

Exit 0 when no check failed, 1 when one did (after `--fix`: when one still does), so that
a script or a cron job can tell; a check the camera would not answer is "unknown" and does
not fail the run.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from xmcam.aio import AsyncCamera
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.output import ExitCode, print_json, print_table, safe_text
from xmcam.cli.session import camera_command, positive_seconds
from xmcam.client.audit import AUDIT_PORTS, DEFAULT_MAX_SKEW, AuditReport, Finding

__all__ = ["add_audit_options", "add_parser", "parse_ports", "run_audit"]

_HEADERS = ("status", "severity", "check", "finding")
_STATUS_WORDS = {"pass": "ok", "fail": "FAIL", "unknown": "?"}


def parse_ports(text: str) -> tuple[int, ...]:
    """`23,9527`: TCP ports to knock on; `none`: none. argparse's usage error otherwise."""
    if text.strip().lower() == "none":
        return ()
    try:
        ports = tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        ports = (-1,)
    if not ports or any(not 0 < port < 65536 for port in ports):
        raise argparse.ArgumentTypeError(
            f"expected ports 1-65535, comma-separated, or none, not {safe_text(text)!r}"
        )
    return ports


async def run_audit(camera: AsyncCamera, args: argparse.Namespace) -> int:
    report = await camera.audit(max_skew=args.max_skew, ports=args.ports)
    if args.fix and _fixable(report):
        before = report
        require_confirmation(
            f"Turn off or fix {_names(_fixable(before))} on the camera?",
            assume_yes=args.yes,
            warnings=_fix_warnings(before),
        )
        report = await camera.audit(fix=True, max_skew=args.max_skew, ports=args.ports)
    if args.json:
        print_json({"passed": report.passed, "findings": report.findings})
    else:
        _print_report(report, offer_fix=not args.fix)
    return ExitCode.SUCCESS if report.passed else ExitCode.FAILURE


def _fixable(report: AuditReport) -> list[Finding]:
    return [finding for finding in report.failed if finding.fixable]


def _names(findings: Sequence[Finding]) -> str:
    return ", ".join(finding.check for finding in findings)


def _fix_warnings(report: AuditReport) -> list[str]:
    checks = {finding.check for finding in _fixable(report)}
    warnings = []
    if checks & {"cloud", "push"}:
        warnings.append(
            "the vendor's phone app will no longer reach the camera from outside this network, "
            "nor get its alarm notifications"
        )
    if "clock" in checks:
        warnings.append("the camera's clock is set to this host's")
    return warnings


def _print_report(report: AuditReport, *, offer_fix: bool) -> None:
    rows = [
        (
            _STATUS_WORDS[finding.status],
            finding.severity,
            finding.check,
            safe_text(finding.summary) + (" (fixed)" if finding.fixed else ""),
        )
        for finding in report.findings
    ]
    print_table(_HEADERS, rows)
    print()
    failed, unknown, fixed = report.failed, report.unknown, report.fixed
    counts = [f"{len(failed)} of {len(report.findings)} checks failed"]
    if unknown:
        counts.append(f"{len(unknown)} unknown")
    if fixed:
        counts.append(f"fixed: {_names(fixed)}")
    print("; ".join(counts))
    fixable = _fixable(report)
    if offer_fix and fixable:
        print(f"`xmcam audit --fix` turns off or fixes: {_names(fixable)}")
    hints = {finding.check for finding in failed} & _HINTS.keys()
    for check in sorted(hints):
        print(_HINTS[check])


_HINTS = {
    "passwords": "set a password: xmcam users passwd NAME",
    "default-account": "remove the account: xmcam users remove default",
    "ports": "these ports come with the firmware: block them at the network (a VLAN, a "
    "firewall rule), and keep the camera away from the internet",
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "audit",
        help="check the camera's cloud, UPnP, NTP, clock, passwords and open ports",
        description=(
            "Read the settings that make a camera phone home or open ports (the XMEye cloud,\n"
            "its pushes and upgrade checks, UPnP, dynamic DNS), NTP and the clock, the users'\n"
            "passwords (judged by their hashes, in memory: blank, the user's own name, or a\n"
            "botnet default) and the 'default' account, and knock on the telnet and debug\n"
            f"ports ({', '.join(map(str, AUDIT_PORTS))}). --fix turns off what can be turned off, "
            "syncs the clock,\nand reads everything back. Exit 0: nothing failed; 1: something did."
        ),
        epilog=(
            "examples:\n  xmcam -H 192.168.1.10 audit\n  xmcam -H 192.168.1.10 audit --fix\n"
            "  xmcam -H 192.168.1.10 audit --json --ports none"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_audit_options(parser)
    parser.set_defaults(handler=camera_command(run_audit))


def add_audit_options(parser: argparse.ArgumentParser) -> None:
    """--fix, --yes, --max-skew and --ports: `xmcam audit`'s and `xmcam fleet F audit`'s."""
    parser.add_argument(
        "--fix", action="store_true", help="turn off what failed and can be, and check again"
    )
    add_yes_option(parser)
    parser.add_argument(
        "--max-skew",
        type=positive_seconds,
        default=DEFAULT_MAX_SKEW,
        metavar="SECONDS",
        help=f"clock skew that passes (default {DEFAULT_MAX_SKEW:g})",
    )
    parser.add_argument(
        "--ports",
        type=parse_ports,
        default=AUDIT_PORTS,
        metavar="LIST",
        help="TCP ports to knock on, comma-separated, or none "
        f"(default {','.join(map(str, AUDIT_PORTS))})",
    )
