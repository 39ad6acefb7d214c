"""`xmcam fleet FILE ACTION`: run one action over every camera of an inventory file.

Each camera gets its own connection, at most `--concurrency` at once (`xmcam.fleet.run_fleet`).
While it runs, a progress bar on stderr counts the cameras done and failed; then a table shows
each camera with the action's value, and `ok` or its error in one line (`--json`: one JSON
array of per-camera objects). Exit 0 when every camera succeeded, 1 when some failed. Ctrl-C
stops the run: the cameras not done are shown as "cancelled", and the exit code is 130.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from xmcam.aio import AsyncCamera
from xmcam.cli.audit import add_audit_options
from xmcam.cli.clock import skew_words
from xmcam.cli.config import export_text, write_atomically
from xmcam.cli.confirm import add_yes_option, require_confirmation
from xmcam.cli.output import (
    TIME_FORMAT,
    CommandError,
    ExitCode,
    Progress,
    dumps_safe,
    jsonable,
    print_json,
    print_table,
)
from xmcam.cli.session import positive_seconds, timeout_given
from xmcam.cli.upgrade import add_wait_options, fleet_action, fleet_cells, read_image
from xmcam.client.audit import AuditReport
from xmcam.client.models import SystemInfo
from xmcam.fleet import (
    DEFAULT_CONCURRENCY,
    CameraResult,
    Inventory,
    InventoryError,
    current_entry,
    load_inventory,
    run_fleet,
)
from xmcam.protocol import redact

__all__ = ["FleetCommand", "add_parser", "command_of"]

MAX_CONCURRENCY: Final = 1024
UPGRADE_CONCURRENCY: Final = 2
"""Cameras upgraded at once unless --concurrency says otherwise: a few, not the fleet."""
SUMMARY_LENGTH: Final = 60
BAR_WIDTH: Final = 20


@dataclass(frozen=True)
class FleetCommand:
    """What the fleet does on each camera, and how its value shows: `columns` are the table's
    value headers, `cells(value)` their texts, `record(value)` the value in --json."""

    action: Callable[[AsyncCamera], Awaitable[Any]]
    columns: tuple[str, ...]
    cells: Callable[[Any], tuple[object, ...]]
    record: Callable[[Any], Any] = jsonable


# ------------------------------------------------------------------------ the actions


async def _info(camera: AsyncCamera) -> SystemInfo:
    return await camera.system_info()


def _info_cells(info: SystemInfo) -> tuple[object, ...]:
    return (info.model, info.firmware, info.serial)


async def _time_get(camera: AsyncCamera) -> dict[str, Any]:
    return {"device_time": await camera.get_time(), "skew_seconds": await camera.time_skew()}


def _time_get_cells(value: dict[str, Any]) -> tuple[object, ...]:
    device_time: datetime.datetime = value["device_time"]
    return (device_time.strftime(TIME_FORMAT), _skew(value["skew_seconds"]))


async def _time_sync(camera: AsyncCamera) -> dict[str, float]:
    before = await camera.sync_time()
    return {"skew_before_seconds": before, "skew_seconds": await camera.time_skew()}


def _time_sync_cells(value: dict[str, float]) -> tuple[object, ...]:
    return (f"{_skew(value['skew_before_seconds'])} -> {_skew(value['skew_seconds'])}",)


def _skew(seconds: float) -> str:
    return skew_words(seconds)


def _rounded_skews(value: dict[str, Any]) -> Any:
    return jsonable(
        {key: round(v, 3) if key.endswith("_seconds") else v for key, v in value.items()}
    )


def _config_get(name: str) -> Callable[[AsyncCamera], Awaitable[Any]]:
    async def action(camera: AsyncCamera) -> Any:
        return await camera.get_config(name)

    return action


def _summarise(value: Any) -> str:
    """A config value on one line for the table: compact JSON, secrets redacted, cut short."""
    text = dumps_safe(redact(jsonable(value)))
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def _config_export(directory: Path) -> Callable[[AsyncCamera], Awaitable[dict[str, Any]]]:
    async def action(camera: AsyncCamera) -> dict[str, Any]:
        tree = await camera.export_config()
        path = directory / f"{current_entry().name}.json"
        # Written (and fsynced) off the event loop: the other cameras go on meanwhile.
        await asyncio.to_thread(write_atomically, str(path), export_text(tree))
        return {"file": str(path), "names": len(tree)}

    return action


def _reboot(wait: bool, wait_timeout: float) -> Callable[[AsyncCamera], Awaitable[Any]]:
    async def action(camera: AsyncCamera) -> dict[str, Any]:
        started = time.monotonic()
        await camera.reboot(wait=wait, wait_timeout=wait_timeout)
        return {"rebooted": True, "back": wait, "seconds": round(time.monotonic() - started, 1)}

    return action


def _reboot_cells(value: dict[str, Any]) -> tuple[object, ...]:
    return (f"back after {value['seconds']:.1f} s" if value["back"] else "rebooting",)


def _audit(args: argparse.Namespace) -> Callable[[AsyncCamera], Awaitable[AuditReport]]:
    async def action(camera: AsyncCamera) -> AuditReport:
        return await camera.audit(fix=args.fix, max_skew=args.max_skew, ports=args.ports)

    return action


def _audit_cells(report: AuditReport) -> tuple[object, ...]:
    failed = [finding.check for finding in report.failed]
    fixed = [finding.check for finding in report.fixed]
    return (", ".join(failed) or "-", ", ".join(fixed) or "-", len(report.unknown))


def _audit_record(report: AuditReport) -> Any:
    return jsonable({"passed": report.passed, "findings": report.findings})


def command_of(args: argparse.Namespace) -> FleetCommand:
    """The FleetCommand the parsed arguments ask for."""
    if args.action == "info":
        return FleetCommand(_info, ("model", "firmware", "serial"), _info_cells)
    if args.action == "time":
        if args.time_action == "sync":
            return FleetCommand(
                _time_sync, ("skew before -> after",), _time_sync_cells, _rounded_skews
            )
        return FleetCommand(_time_get, ("device time", "skew"), _time_get_cells, _rounded_skews)
    if args.action in ("config-get", "config-export"):
        return _config_command(args)
    if args.action in ("reboot", "audit"):
        return _care_command(args)
    return _upgrade_command(args)


def _care_command(args: argparse.Namespace) -> FleetCommand:
    if args.action == "reboot":
        return FleetCommand(_reboot(args.wait, args.wait_timeout), ("reboot",), _reboot_cells)
    columns = ("failed checks", "fixed", "unknown")
    return FleetCommand(_audit(args), columns, _audit_cells, _audit_record)


def _config_command(args: argparse.Namespace) -> FleetCommand:
    if args.action == "config-get":
        return FleetCommand(_config_get(args.name), ("value",), lambda value: (_summarise(value),))
    action = _config_export(_export_directory(args.directory))
    return FleetCommand(action, ("file",), lambda value: (value["file"],))


def _upgrade_command(args: argparse.Namespace) -> FleetCommand:
    data, description = args.image
    upgrade = fleet_action(
        data, description, wait_timeout=args.wait_timeout, reboot_timeout=args.reboot_timeout
    )
    return FleetCommand(upgrade, ("old version", "new version", "upgrade"), fleet_cells)


def _export_directory(text: str) -> Path:
    directory = Path(text)
    try:
        directory.mkdir(exist_ok=True)
    except OSError as error:
        raise CommandError(
            f"cannot use {text} for the exports: {error.strerror}", ExitCode.USAGE
        ) from None
    return directory


# ------------------------------------------------------------------------ running and showing


class _Tally:
    """The results so far, and the progress bar that counts them."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.results: list[CameraResult[Any]] = []
        self.progress = Progress()
        self.show()

    def add(self, result: CameraResult[Any]) -> None:
        self.results.append(result)
        self.show()

    def show(self) -> None:
        done = len(self.results)
        failed = sum(not result.ok for result in self.results)
        filled = BAR_WIDTH * done // self.total
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.progress.show(f"[{bar}] {done}/{self.total} done, {failed} failed")


def _handler(args: argparse.Namespace) -> int:
    try:
        inventory = load_inventory(args.file)
    except InventoryError as error:
        raise CommandError(str(error), ExitCode.USAGE) from None
    if args.action == "reboot":
        require_confirmation(
            f"reboot all {len(inventory)} cameras of {args.file}?", assume_yes=args.yes
        )
    if args.action == "upgrade":
        args.image = read_image(args.image_file)  # a bad image: refused before any camera
        description = args.image[1]
        require_confirmation(
            f"upgrade the cameras of {args.file} made of {description.hardware} (of "
            f"{len(inventory)}) to version {description.version or 'not named'}?",
            assume_yes=args.yes,
        )
    if args.action == "audit" and args.fix:
        require_confirmation(
            f"turn off the cloud, pushes, UPnP and DDNS and sync the clocks of all "
            f"{len(inventory)} cameras of {args.file} where they fail the audit?",
            assume_yes=args.yes,
        )
    # The command line wins over the file, as it does for every other option.
    inventory = inventory.with_timeout(timeout_given(args))
    command = command_of(args)
    tally = _Tally(len(inventory))
    default = UPGRADE_CONCURRENCY if args.action == "upgrade" else DEFAULT_CONCURRENCY
    concurrency = getattr(args, "concurrency", default)
    try:
        asyncio.run(_run(inventory, command, concurrency, tally))
    finally:  # after Ctrl-C too: what was done, and what was not ("cancelled")
        tally.progress.done()
        _show(args, command, inventory, tally.results)
    failed = sum(not result.ok for result in tally.results)
    if failed:
        raise CommandError(f"{failed} of {len(inventory)} cameras failed")
    reports = [result.value for result in tally.results if isinstance(result.value, AuditReport)]
    if any(not report.passed for report in reports):
        return ExitCode.FAILURE  # as `xmcam audit`: a check failed on some camera
    return ExitCode.SUCCESS


async def _run(
    inventory: Inventory, command: FleetCommand, concurrency: int, tally: _Tally
) -> None:
    await run_fleet(inventory, command.action, concurrency=concurrency, progress=tally.add)


def _show(
    args: argparse.Namespace,
    command: FleetCommand,
    inventory: Inventory,
    results: Sequence[CameraResult[Any]],
) -> None:
    order = {entry.name: index for index, entry in enumerate(inventory)}
    ordered = sorted(results, key=lambda result: order[result.name])
    if args.json:
        print_json([_record(command, result) for result in ordered])
        return
    rows = [
        (
            result.name,
            *(command.cells(result.value) if result.ok else ("",) * len(command.columns)),
            "ok" if result.ok else result.error,
        )
        for result in ordered
    ]
    print_table(("camera", *command.columns, "result"), rows)


def _record(command: FleetCommand, result: CameraResult[Any]) -> dict[str, Any]:
    return {
        "camera": result.name,
        "ok": result.ok,
        "value": command.record(result.value) if result.ok else None,
        "error": result.error,
        "seconds": round(result.seconds, 3),
    }


# ------------------------------------------------------------------------ the parser


def concurrency(text: str) -> int:
    """An argparse type: how many cameras at once."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"expected 1 to {MAX_CONCURRENCY}: {text!r}")
    return int(text)


def _time_verb(text: str) -> str:
    """The verbs of `xmcam time`; "check", this command's old word for get, is still taken
    (scripts use it) but shown nowhere, not even in the invalid-choice message."""
    return "get" if text == "check" else text


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # --concurrency and --json are taken anywhere after `fleet` (`xmcam fleet F info --json`).
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument(
        "--concurrency",
        type=concurrency,
        default=argparse.SUPPRESS,
        metavar="N",
        help=f"cameras at once (default {DEFAULT_CONCURRENCY})",
    )
    with_json = argparse.ArgumentParser(add_help=False, parents=[options])
    with_json.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS,
        help="print one JSON document for scripts: an array of per-camera objects",
    )
    parser = commands.add_parser(
        "fleet",
        help="run a command over every camera of an inventory file",
        description=(
            "Run one command over every camera of an inventory file (TOML: [[camera]] tables "
            "with name, host, port, user, password or password_env; see docs/fleet.md), a few "
            "cameras at once. Prints a table: each camera, the command's value, and ok or the "
            "error. Exit 0 when all succeeded, 1 when some failed. The global --timeout, when "
            "given, replaces the file's timeouts."
        ),
        epilog=(
            "examples:\n"
            "  xmcam fleet cameras.toml info\n"
            "  xmcam fleet cameras.toml time sync --concurrency 4\n"
            "  xmcam fleet cameras.toml config get General.General --json\n"
            "  xmcam fleet cameras.toml config export backups/\n"
            "  xmcam fleet cameras.toml reboot --wait\n"
            "  xmcam fleet cameras.toml upgrade General_IPC_HI3516D.bin --yes"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[options],
    )
    parser.add_argument("file", metavar="FILE", help="the inventory file (TOML)")
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    actions.add_parser(
        "info",
        parents=[with_json],
        help="model, firmware and serial of each camera",
        epilog="example: xmcam fleet cameras.toml info --json",
    ).set_defaults(action="info")
    clock = actions.add_parser(
        "time",
        parents=[with_json],
        help="show each camera's clock and skew, or sync it to this host",
        epilog="example: xmcam fleet cameras.toml time sync",
    )
    clock.add_argument(
        "time_action",
        type=_time_verb,
        choices=("get", "sync"),
        metavar="get|sync",
        help="get: show the clock and its skew (as `xmcam time get`); sync: set the clock, "
        "show the skew before and after",
    )
    clock.set_defaults(action="time")
    _add_config_parser(actions, with_json)
    reboot = actions.add_parser(
        "reboot",
        parents=[with_json],
        help="restart every camera (asks first on a terminal; --yes skips the question)",
        epilog="example: xmcam fleet cameras.toml reboot --yes --wait --concurrency 2",
    )
    add_yes_option(reboot)
    reboot.add_argument("--wait", action="store_true", help="wait until each camera is back")
    reboot.add_argument(
        "--wait-timeout",
        type=positive_seconds,
        default=180.0,
        metavar="SECONDS",
        help="give up waiting for a camera after this long (default 180)",
    )
    reboot.set_defaults(action="reboot")
    audit = actions.add_parser(
        "audit",
        parents=[with_json],
        help="audit every camera (as `xmcam audit`); exit 1 when a check failed on one",
        epilog="example: xmcam fleet cameras.toml audit --fix --yes",
    )
    add_audit_options(audit)
    audit.set_defaults(action="audit")
    upgrade = actions.add_parser(
        "upgrade",
        parents=[with_json],
        help="install a firmware image on the cameras it is made for (others are skipped), "
        f"{UPGRADE_CONCURRENCY} at a time unless --concurrency (asks first on a terminal)",
        epilog="example: xmcam fleet cameras.toml upgrade General_IPC_HI3516D.bin --yes",
    )
    upgrade.add_argument("image_file", metavar="IMAGE", help="the firmware image (*.bin)")
    add_yes_option(upgrade)
    add_wait_options(upgrade)
    upgrade.set_defaults(action="upgrade")
    parser.set_defaults(handler=_handler)


def _add_config_parser(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    with_json: argparse.ArgumentParser,
) -> None:
    config = actions.add_parser(
        "config",
        parents=[with_json],
        help="read or export configs",
        epilog="example: xmcam fleet cameras.toml config export backups/",
    )
    config_actions = config.add_subparsers(title="config actions", metavar="ACTION", required=True)
    get = config_actions.add_parser(
        "get",
        parents=[with_json],
        help="one config of each camera, summarised in the table",
        epilog="example: xmcam fleet cameras.toml config get General.General --json",
    )
    get.add_argument("name", metavar="NAME", help="config name, e.g. General.General")
    get.set_defaults(action="config-get")
    export = config_actions.add_parser(
        "export",
        parents=[with_json],
        help="every config of each camera to DIR/<camera>.json (as `xmcam config export`)",
        epilog="example: xmcam fleet cameras.toml config export backups/",
    )
    export.add_argument("directory", metavar="DIR", help="the directory (made if missing)")
    export.set_defaults(action="config-export")
